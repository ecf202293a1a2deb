package cloud

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
)

// Class is what a failed cloud call means for the caller.
type Class string

// The error classes. Callers branch on these, never on codes or messages.
const (
	// ClassNotFound means the resource does not exist (HTTP 404, EVS.5404).
	ClassNotFound Class = "NotFound"
	// ClassThrottled means the API gateway refused the call for its rate limit (HTTP 429, APIG.0308).
	ClassThrottled Class = "Throttled"
	// ClassConflict means the resource is in a state that does not allow the call now (HTTP 409,
	// EVS.1047, EVS.2409, EVS.2043, EVS.2019); it may be allowed later.
	ClassConflict Class = "Conflict"
	// ClassBadRequest means the cloud refused the request itself (other HTTP 400); repeating it is futile.
	ClassBadRequest Class = "BadRequest"
	// ClassUnauthorized means the credentials are wrong or lack permission (HTTP 401, 403).
	ClassUnauthorized Class = "Unauthorized"
	// ClassTransient means a server error (5xx, 408), a timeout, a connection error or the caller's
	// context ending; the call may succeed later.
	ClassTransient Class = "Transient"
	// ClassTerminal means anything else; repeating the call will not help.
	ClassTerminal Class = "Terminal"
)

// Error is a failed cloud call. Its message carries the operation, the class and the cloud's code,
// message and request ID, never credentials, signatures or request bodies.
type Error struct {
	// Op is the EVS operation, such as "CreateSnapshot".
	Op    string
	Class Class
	// HTTPStatus is the cloud's HTTP status, 0 when no response arrived.
	HTTPStatus int
	// Code is the cloud's error code, such as "EVS.1047" or "APIG.0308".
	Code      string
	Message   string
	RequestID string
	// Attempts is how many requests the call made (0 when it was refused before the first).
	Attempts int
	// Err is the underlying error: an *sdkerr.ServiceResponseError, a network error or a context
	// error.
	Err error
}

// Error describes the failure in one line.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "EVS %s: %s", e.Op, e.Class)
	switch {
	case e.HTTPStatus != 0:
		fmt.Fprintf(&b, ": HTTP %d", e.HTTPStatus)
		if e.Code != "" {
			fmt.Fprintf(&b, " %s", e.Code)
		}
		if e.Message != "" {
			fmt.Fprintf(&b, ": %s", e.Message)
		}
		if e.RequestID != "" {
			fmt.Fprintf(&b, " (request ID %s)", e.RequestID)
		}
	case e.Message != "":
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// ClassOf returns the class of a cloud error: the Class of an *Error in err's chain, or the
// classification of err itself; "" for nil.
func ClassOf(err error) Class {
	if err == nil {
		return ""
	}
	if ce, ok := errors.AsType[*Error](err); ok {
		return ce.Class
	}
	return classify("", err).Class
}

// IsNotFound reports whether err says the resource does not exist.
func IsNotFound(err error) bool { return ClassOf(err) == ClassNotFound }

// IsThrottled reports whether err is the API gateway's rate limit.
func IsThrottled(err error) bool { return ClassOf(err) == ClassThrottled }

// IsConflict reports whether err says the resource's state does not allow the call now.
func IsConflict(err error) bool { return ClassOf(err) == ClassConflict }

// IsBadRequest reports whether the cloud refused the request itself.
func IsBadRequest(err error) bool { return ClassOf(err) == ClassBadRequest }

// IsUnauthorized reports whether err is an authentication or permission failure.
func IsUnauthorized(err error) bool { return ClassOf(err) == ClassUnauthorized }

// IsTransient reports whether err is a server, timeout or connection failure.
func IsTransient(err error) bool { return ClassOf(err) == ClassTransient }

// IsRetryable reports whether the same call may succeed later without any change: throttled,
// transient and conflict (the resource may leave its current state) errors.
func IsRetryable(err error) bool {
	switch ClassOf(err) {
	case ClassThrottled, ClassTransient, ClassConflict:
		return true
	}
	return false
}

// conflictCodes are the EVS codes for "not in this state"; some come with HTTP 400 or 500.
var conflictCodes = map[string]bool{
	"EVS.1047": true, // a snapshot can only be deleted when available or error
	"EVS.2019": true, // the snapshot is error_deleting (HTTP 500)
	"EVS.2020": true, // the disk's status does not allow the call (the simulator's code for it)
	"EVS.2043": true, // the snapshot must be available
	"EVS.2409": true, // another snapshot of the disk is being created
}

// maxMessageLen bounds the cloud's message in an Error: the SDK falls back to the whole response
// body when it finds no code, and a body has no business in a log line.
const maxMessageLen = 300

// classify turns any error from the SDK into an *Error. It is the one place that knows which
// status, code or Go error means which class.
func classify(op string, err error) *Error {
	if ce, ok := errors.AsType[*Error](err); ok {
		return ce
	}
	e := &Error{Op: op, Err: err, Class: ClassTerminal}
	if sre := serviceError(err); sre != nil {
		e.HTTPStatus, e.Code, e.RequestID = sre.StatusCode, sre.ErrorCode, sre.RequestId
		e.Message = truncate(sre.ErrorMessage)
		e.Class = classifyResponse(sre.StatusCode, sre.ErrorCode)
		return e
	}
	e.Message = truncate(err.Error())
	if isTransportError(err) {
		e.Class = ClassTransient
	}
	return e
}

// serviceError finds the SDK's error answer in err's chain. The SDK returns a pointer; the value
// type is an error too, so accept both.
func serviceError(err error) *sdkerr.ServiceResponseError {
	if sre, ok := errors.AsType[*sdkerr.ServiceResponseError](err); ok {
		return sre
	}
	if val, ok := errors.AsType[sdkerr.ServiceResponseError](err); ok {
		return &val
	}
	return nil
}

// classifyResponse classifies an HTTP error answer. Codes win over statuses because the cloud
// reports some state conflicts with 400 or 500.
func classifyResponse(status int, code string) Class {
	switch {
	case status == 404 || code == "EVS.5404":
		return ClassNotFound
	case status == 429 || code == "APIG.0308":
		return ClassThrottled
	case status == 409 || conflictCodes[code]:
		return ClassConflict
	case status == 401 || status == 403:
		return ClassUnauthorized
	case status == 400:
		return ClassBadRequest
	case status == 408 || status >= 500:
		return ClassTransient
	}
	return ClassTerminal
}

// isTransportError reports whether err is a failure to exchange the request and response rather
// than an answer: timeouts, connection errors, a connection closed mid-response, or the caller's
// context ending. Certificate errors are not: they need a configuration change.
func isTransportError(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) {
		return true
	}
	if isCertificateError(err) {
		return false
	}
	if dnsErr, ok := errors.AsType[*net.DNSError](err); ok {
		// A name that does not exist will not appear by retrying; a failing resolver might.
		return !dnsErr.IsNotFound
	}
	var (
		netErr  net.Error
		urlErr  *url.Error
		timeout *sdkerr.RequestTimeoutError
		connErr *sdkerr.ConnectionError
	)
	// http.Client.Do reports every failure to get a response as a *url.Error.
	return errors.As(err, &netErr) || errors.As(err, &urlErr) ||
		errors.As(err, &timeout) || errors.As(err, &connErr)
}

func isCertificateError(err error) bool {
	var (
		unknownAuthority x509.UnknownAuthorityError
		invalid          x509.CertificateInvalidError
		hostname         x509.HostnameError
		verification     *tls.CertificateVerificationError
	)
	return errors.As(err, &unknownAuthority) || errors.As(err, &invalid) ||
		errors.As(err, &hostname) || errors.As(err, &verification)
}

// neverSent reports whether a failed attempt certainly did not reach the service: the connection
// was never established, so the server saw nothing and even a non-idempotent call may be repeated.
func neverSent(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr)
}

func truncate(s string) string {
	s = strings.TrimSpace(s)
	if len(s) <= maxMessageLen {
		return s
	}
	return s[:maxMessageLen] + "..."
}
