package cloud

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
)

func responseError(status int, code string) error {
	return &sdkerr.ServiceResponseError{StatusCode: status, ErrorCode: code, ErrorMessage: "msg",
		RequestId: "req-1"}
}

func urlError(err error) error {
	return &url.Error{Op: "Post", URL: "http://127.0.0.1:1/v2/p/cloudsnapshots", Err: err}
}

func dialError(err error) error {
	return urlError(&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)})
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "Client.Timeout exceeded while awaiting headers" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func TestClassify(t *testing.T) {
	cases := []struct {
		name      string
		err       error
		want      Class
		neverSent bool
	}{
		{"404", responseError(404, "EVS.5404"), ClassNotFound, false},
		{"404 without code", responseError(404, ""), ClassNotFound, false},
		{"EVS.5404 with odd status", responseError(400, "EVS.5404"), ClassNotFound, false},
		{"429 gateway", responseError(429, "APIG.0308"), ClassThrottled, false},
		{"429 without code", responseError(429, ""), ClassThrottled, false},
		{"409", responseError(409, "EVS.2409"), ClassConflict, false},
		{"EVS.1047", responseError(400, "EVS.1047"), ClassConflict, false},
		{"EVS.2043", responseError(400, "EVS.2043"), ClassConflict, false},
		{"EVS.2019 is a state, not a server error", responseError(500, "EVS.2019"), ClassConflict, false},
		{"400", responseError(400, "EVS.5400"), ClassBadRequest, false},
		{"400 EVS.2142", responseError(400, "EVS.2142"), ClassBadRequest, false},
		{"401", responseError(401, "APIG.0301"), ClassUnauthorized, false},
		{"403", responseError(403, "EVS.5403"), ClassUnauthorized, false},
		{"500", responseError(500, "EVS.5500"), ClassTransient, false},
		{"503", responseError(503, "EVS.5503"), ClassTransient, false},
		{"502 without body", responseError(502, ""), ClassTransient, false},
		{"408", responseError(408, ""), ClassTransient, false},
		{"405", responseError(405, ""), ClassTerminal, false},
		{"value ServiceResponseError", sdkerr.ServiceResponseError{StatusCode: 404}, ClassNotFound, false},
		{"wrapped", fmt.Errorf("reading: %w", responseError(429, "APIG.0308")), ClassThrottled, false},
		{"connection refused", dialError(syscall.ECONNREFUSED), ClassTransient, true},
		{"dial timeout", urlError(&net.OpError{Op: "dial", Net: "tcp", Err: timeoutError{}}),
			ClassTransient, true},
		{"connection reset", urlError(&net.OpError{Op: "read", Net: "tcp",
			Err: os.NewSyscallError("read", syscall.ECONNRESET)}), ClassTransient, false},
		{"EOF after send", urlError(io.EOF), ClassTransient, false},
		{"client timeout", urlError(timeoutError{}), ClassTransient, false},
		{"DNS failure", urlError(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "server misbehaving",
			IsTemporary: true}}), ClassTransient, true},
		{"unknown host", urlError(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host",
			IsNotFound: true}}), ClassTerminal, true},
		{"certificate", urlError(x509.UnknownAuthorityError{}), ClassTerminal, false},
		{"SDK timeout", sdkerr.NewRequestTimeoutError("timeout"), ClassTransient, false},
		{"SDK connection", sdkerr.NewConnectionError("refused"), ClassTransient, false},
		{"context canceled", context.Canceled, ClassTransient, false},
		{"context deadline", context.DeadlineExceeded, ClassTransient, false},
		{"anything else", errors.New("unexpected response type"), ClassTerminal, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := classify("ShowSnapshot", tc.err)
			if e.Class != tc.want {
				t.Errorf("class = %s, want %s", e.Class, tc.want)
			}
			if got := ClassOf(tc.err); got != tc.want {
				t.Errorf("ClassOf = %s, want %s", got, tc.want)
			}
			if got := neverSent(tc.err); got != tc.neverSent {
				t.Errorf("neverSent = %v, want %v", got, tc.neverSent)
			}
			// The value type holds a slice, so errors.Is cannot compare it.
			if _, isValue := tc.err.(sdkerr.ServiceResponseError); !isValue && !errors.Is(e, tc.err) {
				t.Errorf("classified error does not unwrap to the original")
			}
		})
	}
}

func TestClassOfNilAndPredicates(t *testing.T) {
	if got := ClassOf(nil); got != "" {
		t.Errorf("ClassOf(nil) = %q", got)
	}
	err := fmt.Errorf("deleting snapshot s1: %w", classify("DeleteSnapshot", responseError(400, "EVS.1047")))
	checks := map[string]bool{
		"IsConflict":     IsConflict(err),
		"IsRetryable":    IsRetryable(err),
		"!IsNotFound":    !IsNotFound(err),
		"!IsThrottled":   !IsThrottled(err),
		"!IsBadRequest":  !IsBadRequest(err),
		"!Unauthorized":  !IsUnauthorized(err),
		"!IsTransient":   !IsTransient(err),
		"nil not found":  !IsNotFound(nil),
		"bad request":    IsBadRequest(responseError(400, "EVS.5400")),
		"not retryable":  !IsRetryable(responseError(400, "EVS.5400")),
		"unauthorized":   IsUnauthorized(responseError(401, "")),
		"throttled":      IsThrottled(responseError(429, "")) && IsRetryable(responseError(429, "")),
		"transient":      IsTransient(responseError(503, "")),
		"not found":      IsNotFound(responseError(404, "")),
		"terminal class": ClassOf(errors.New("x")) == ClassTerminal,
	}
	for name, ok := range checks {
		if !ok {
			t.Errorf("%s failed", name)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	e := classify("DeleteSnapshot", responseError(400, "EVS.1047"))
	e.Attempts = 1
	want := "EVS DeleteSnapshot: Conflict: HTTP 400 EVS.1047: msg (request ID req-1)"
	if e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
	e = classify("ShowSnapshot", dialError(syscall.ECONNREFUSED))
	e.Attempts = 4
	if got := e.Error(); !strings.HasPrefix(got, "EVS ShowSnapshot: Transient: Post ") ||
		!strings.HasSuffix(got, "(after 4 attempts)") {
		t.Errorf("Error() = %q", got)
	}
	long := &sdkerr.ServiceResponseError{StatusCode: 502, ErrorMessage: strings.Repeat("<html>", 200)}
	if got := classify("ShowSnapshot", long).Error(); len(got) > maxMessageLen+100 {
		t.Errorf("a response body is not cut short: %d bytes", len(got))
	}
}
