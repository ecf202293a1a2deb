package simulator

import (
	"fmt"
	"net/http"
)

// Error codes from the EVS reference (see EVS-API.md).
const (
	codeBadRequest           = "EVS.5400"
	codeForbidden            = "EVS.5403"
	codeNotFound             = "EVS.5404"
	codeInternal             = "EVS.5500"
	codeSnapshotNotDeletable = "EVS.1047"
	codeSnapshotNotAvailable = "EVS.2043"
	codeInvalidSnapshotID    = "EVS.2045"
	codeSnapshotBusy         = "EVS.2409"
	codeLimitTooLarge        = "EVS.2142"
	codeZoneMismatch         = "EVS.2054"
	codeTypeMismatch         = "EVS.2096"
	codeMultipleSources      = "EVS.1016"
	codeInvalidSize          = "EVS.1010"
	codeInvalidBackupID      = "EVS.1006"
)

// Error codes the simulator chose where the reference names none. Clients should treat them as
// "invalid state" by their HTTP status (400), never by the exact code.
const (
	codeVolumeStatus     = "EVS.2020" // the disk's status does not allow the operation
	codeRollbackTarget   = "EVS.2046" // a rollback onto a disk other than the snapshot's source
	codeBackupOwned      = "EVS.2050" // the snapshot belongs to the backup service
	codeUnsupportedParam = "EVS.2099" // a request the simulator does not model
)

// API gateway codes: the gateway, not EVS, answers unsigned, mis-signed and throttled requests and
// unknown paths, with its own body shape {"error_code", "error_msg", "request_id"}.
const (
	codeGatewayAuth     = "APIG.0301"
	codeGatewayThrottle = "APIG.0308"
	codeGatewayNoAPI    = "APIG.0101"
)

// apiError is a refused request: an EVS error body, or a gateway one when gateway is set.
type apiError struct {
	status  int
	code    string
	message string
	gateway bool
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.status, e.code, e.message)
}

// evsErrorBody is the EVS error body {"error": {"code", "message"}}.
type evsErrorBody struct {
	Error evsError `json:"error"`
}

type evsError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// gatewayErrorBody is the API gateway's error body.
type gatewayErrorBody struct {
	ErrorCode string `json:"error_code"`
	ErrorMsg  string `json:"error_msg"`
	RequestID string `json:"request_id,omitempty"`
}

// body renders the error as the cloud would; requestID goes into gateway bodies.
func (e *apiError) body(requestID string) any {
	if e.gateway {
		return gatewayErrorBody{ErrorCode: e.code, ErrorMsg: e.message, RequestID: requestID}
	}
	return evsErrorBody{Error: evsError{Code: e.code, Message: e.message}}
}

// reply is an API answer: a status and a JSON body (none when body is nil), or an error.
type reply struct {
	status int
	body   any
	err    *apiError
}

func errorReply(status int, code, format string, args ...any) reply {
	return reply{err: &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}}
}

func badRequest(format string, args ...any) reply {
	return errorReply(http.StatusBadRequest, codeBadRequest, format, args...)
}

func notFound(kind, id string) reply {
	return errorReply(http.StatusNotFound, codeNotFound, "%s %s could not be found", kind, id)
}

func gatewayError(status int, code, message string) *apiError {
	return &apiError{status: status, code: code, message: message, gateway: true}
}
