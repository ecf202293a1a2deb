package simulator

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"
)

// maxBodyBytes bounds request bodies; EVS bodies are a few hundred bytes.
const maxBodyBytes = 1 << 20

// apiRequest is a signed API request that passed the gateway checks; handlers run under s.mu.
type apiRequest struct {
	r    *http.Request
	body []byte
	now  time.Time
}

// decode reads the JSON body into v; malformed JSON is the cloud's EVS.5400.
func (req *apiRequest) decode(v any) *reply {
	if err := json.Unmarshal(req.body, v); err != nil {
		rep := badRequest("the request body is not valid JSON: %v", err)
		return &rep
	}
	return nil
}

type apiHandler func(*apiRequest) reply

// routes wires the signed EVS API and the control API into one handler.
func (s *Simulator) routes() http.Handler {
	mux := http.NewServeMux()
	for _, r := range []struct {
		pattern, op string
		h           apiHandler
	}{
		{"POST /v2/{project}/cloudsnapshots", OperationCreateSnapshot, s.createSnapshot},
		{"GET /v2/{project}/cloudsnapshots/detail", OperationListSnapshots, s.listSnapshots},
		{"GET /v2/{project}/cloudsnapshots/{id}", OperationShowSnapshot, s.showSnapshot},
		{"PUT /v2/{project}/cloudsnapshots/{id}", OperationUpdateSnapshot, s.updateSnapshot},
		{"DELETE /v2/{project}/cloudsnapshots/{id}", OperationDeleteSnapshot, s.deleteSnapshot},
		{"POST /v2/{project}/cloudsnapshots/{id}/rollback", OperationRollbackSnapshot, s.rollbackSnapshot},
		{"POST /v2.1/{project}/cloudvolumes", OperationCreateVolume, s.createVolume},
		{"GET /v2/{project}/cloudvolumes/{id}", OperationShowVolume, s.showVolume},
		{"DELETE /v2/{project}/cloudvolumes/{id}", OperationDeleteVolume, s.deleteVolume},
		{"GET /v1/{project}/jobs/{id}", OperationShowJob, s.showJob},
	} {
		mux.HandleFunc(r.pattern, func(w http.ResponseWriter, req *http.Request) {
			s.serveAPI(w, req, r.op, r.h)
		})
	}
	s.controlRoutes(mux)
	// TODO: a known path with an unsupported method gets ServeMux's plain-text 405, is not counted in
	// the stats and needs no signature; the gateway would answer 404 APIG.0101 after checking it.
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		e := gatewayError(http.StatusNotFound, codeGatewayNoAPI,
			"The API does not exist or has not been published in the environment")
		writeAPIError(w, e)
	})
	return mux
}

// serveAPI runs a signed request through what the gateway and EVS do, in order: count it, check
// the signature and project, throttle, then inject a fault or run the operation.
func (s *Simulator) serveAPI(w http.ResponseWriter, r *http.Request, op string, h apiHandler) {
	w.Header().Set("X-Request-Id", newHexID())
	body, readErr := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	var authErr error
	if readErr == nil {
		// Verified outside the lock: it reads only the immutable key pair.
		authErr = s.verifySignature(r, body, time.Now())
	}

	s.mu.Lock()
	s.stats[op]++
	now := s.now()
	s.advance(now)
	rep := s.gatewayChecks(r, op, now, readErr, authErr)
	var fault *Fault
	if rep.err == nil {
		fault = s.takeFault(op)
		if fault == nil || fault.AfterCommit {
			rep = h(&apiRequest{r: r, body: body, now: now})
		}
		if fault != nil {
			rep = reply{err: fault.apiError(op)}
		}
	}
	s.mu.Unlock()

	writeReply(w, rep)
}

// gatewayChecks refuses what never reaches EVS: unreadable, unsigned or mis-signed requests,
// another project, throttled requests. Callers hold s.mu.
func (s *Simulator) gatewayChecks(r *http.Request, op string, now time.Time, readErr, authErr error) reply {
	switch {
	case readErr != nil:
		if _, ok := errors.AsType[*http.MaxBytesError](readErr); ok {
			return badRequest("the request body is larger than %d bytes", maxBodyBytes)
		}
		return badRequest("reading the request body: %v", readErr)
	case authErr != nil:
		return reply{err: gatewayError(http.StatusUnauthorized, codeGatewayAuth,
			"Incorrect IAM authentication information: "+authErr.Error())}
	case r.PathValue("project") != s.projectID:
		// The key pair belongs to one project; IAM refuses any other.
		return errorReply(http.StatusForbidden, codeForbidden,
			"the credentials are not allowed to access project %s in %s", r.PathValue("project"), op)
	case !s.limiter.allow(now):
		return reply{err: s.limiter.throttled()}
	}
	return reply{}
}

func writeReply(w http.ResponseWriter, rep reply) {
	if rep.err != nil {
		writeAPIError(w, rep.err)
		return
	}
	if rep.body == nil {
		w.WriteHeader(rep.status)
		return
	}
	writeJSON(w, rep.status, rep.body)
}

func writeAPIError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, e.body(w.Header().Get("X-Request-Id")))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}
