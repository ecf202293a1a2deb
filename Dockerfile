# Build the operator as a static binary, then ship it alone on a distroless nonroot base.
FROM golang:1.26 AS builder
ARG TARGETOS
ARG TARGETARCH
WORKDIR /workspace
COPY go.mod go.sum ./
RUN go mod download
COPY main.go main.go
COPY api/ api/
COPY controllers/ controllers/
COPY internal/ internal/
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -trimpath -ldflags=-s -o evs-operator .

FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=builder /workspace/evs-operator .
USER 65532:65532
ENTRYPOINT ["/evs-operator"]
