package simulator

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"
)

// The operations of the signed API, as faults and stats name them (the SDK's method names).
const (
	// OperationCreateSnapshot is POST /v2/{project_id}/cloudsnapshots.
	OperationCreateSnapshot = "CreateSnapshot"
	// OperationShowSnapshot is GET /v2/{project_id}/cloudsnapshots/{snapshot_id}.
	OperationShowSnapshot = "ShowSnapshot"
	// OperationListSnapshots is GET /v2/{project_id}/cloudsnapshots/detail.
	OperationListSnapshots = "ListSnapshots"
	// OperationUpdateSnapshot is PUT /v2/{project_id}/cloudsnapshots/{snapshot_id}.
	OperationUpdateSnapshot = "UpdateSnapshot"
	// OperationDeleteSnapshot is DELETE /v2/{project_id}/cloudsnapshots/{snapshot_id}.
	OperationDeleteSnapshot = "DeleteSnapshot"
	// OperationRollbackSnapshot is POST /v2/{project_id}/cloudsnapshots/{snapshot_id}/rollback.
	OperationRollbackSnapshot = "RollbackSnapshot"
	// OperationCreateVolume is POST /v2.1/{project_id}/cloudvolumes.
	OperationCreateVolume = "CreateVolume"
	// OperationShowVolume is GET /v2/{project_id}/cloudvolumes/{volume_id}.
	OperationShowVolume = "ShowVolume"
	// OperationDeleteVolume is DELETE /v2/{project_id}/cloudvolumes/{volume_id}.
	OperationDeleteVolume = "DeleteVolume"
	// OperationShowJob is GET /v1/{project_id}/jobs/{job_id}.
	OperationShowJob = "ShowJob"
	// OperationAny makes a fault match every operation.
	OperationAny = "*"
)

var operations = []string{
	OperationCreateSnapshot, OperationShowSnapshot, OperationListSnapshots, OperationUpdateSnapshot,
	OperationDeleteSnapshot, OperationRollbackSnapshot, OperationCreateVolume, OperationShowVolume,
	OperationDeleteVolume, OperationShowJob,
}

// normalize validates f and fills its defaults: status 500, a code that fits the status, and
// probability 1.
func (f *Fault) normalize() error {
	if f.Operation != OperationAny && !slices.Contains(operations, f.Operation) {
		return fmt.Errorf("unknown operation %q; one of %v or %q", f.Operation, operations, OperationAny)
	}
	if f.HTTPStatus == 0 {
		f.HTTPStatus = http.StatusInternalServerError
	}
	if f.HTTPStatus < 400 || f.HTTPStatus > 599 {
		return fmt.Errorf("httpStatus %d is not an error status (400-599)", f.HTTPStatus)
	}
	if f.Code == "" {
		f.Code = defaultFaultCode(f.HTTPStatus)
	}
	if f.Count < 0 {
		return fmt.Errorf("count %d is negative", f.Count)
	}
	if f.Probability == 0 {
		f.Probability = 1
	}
	if f.Probability < 0 || f.Probability > 1 {
		return fmt.Errorf("probability %g is not in (0, 1]", f.Probability)
	}
	return nil
}

// defaultFaultCode picks the code the cloud would send with status: the gateway's for 429, the
// generic EVS.5xxx family otherwise (EVS.5500, EVS.5503, EVS.5400 ...).
func defaultFaultCode(status int) string {
	if status == http.StatusTooManyRequests {
		return codeGatewayThrottle
	}
	return fmt.Sprintf("EVS.5%d", status)
}

// takeFault returns the first fault that fires for op, spending one of its count. Callers hold s.mu.
func (s *Simulator) takeFault(op string) *Fault {
	for i, f := range s.faults {
		if f.Operation != OperationAny && f.Operation != op {
			continue
		}
		//nolint:gosec // G404: whether a simulated fault fires needs no cryptographic randomness.
		if f.Probability < 1 && rand.Float64() >= f.Probability {
			continue
		}
		fired := *f
		if f.Count > 0 {
			f.Count--
			if f.Count == 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
		}
		return &fired
	}
	return nil
}

// apiError renders the fault the way the cloud renders that code: gateway codes in the gateway's
// body, anything else in the EVS body.
func (f *Fault) apiError(op string) *apiError {
	msg := fmt.Sprintf("simulated fault in %s", op)
	if f.Code == codeGatewayThrottle {
		msg = "The throttling threshold has been reached: policy user over ratelimit, " +
			"limit:1, time:1 minute"
	}
	return &apiError{
		status:  f.HTTPStatus,
		code:    f.Code,
		message: msg,
		gateway: strings.HasPrefix(f.Code, "APIG."),
	}
}

// tokenBucket throttles the signed API like the gateway: rate tokens a second, bursts of up to
// max(rate, 1). A zero rate means no limit.
type tokenBucket struct {
	rate   float64
	tokens float64
	last   time.Time
}

func (b *tokenBucket) set(rate float64, now time.Time) {
	b.rate = rate
	b.tokens = b.burst()
	b.last = now
}

func (b *tokenBucket) burst() float64 {
	return math.Max(b.rate, 1)
}

// allow spends a token if one is left at now.
func (b *tokenBucket) allow(now time.Time) bool {
	if b.rate <= 0 {
		return true
	}
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = math.Min(b.burst(), b.tokens+elapsed*b.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// throttled is the gateway's answer past the rate; the limit it names is per minute, as the
// gateway's message does.
func (b *tokenBucket) throttled() *apiError {
	return gatewayError(http.StatusTooManyRequests, codeGatewayThrottle, fmt.Sprintf(
		"The throttling threshold has been reached: policy user over ratelimit, limit:%d, time:1 minute",
		int(math.Round(b.rate*60))))
}
