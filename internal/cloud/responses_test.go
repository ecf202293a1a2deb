package cloud_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/evs-operator/evs-operator/internal/cloud"
)

// TestErrorBodyShapes checks that every error body shape EVS and its gateway use reaches the
// classification through the SDK's own parsing. The simulator answers with one EVS shape, so this
// test serves the others from a plain HTTP server.
func TestErrorBodyShapes(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		code   string
		class  cloud.Class
	}{
		{"error key", 400, `{"error": {"code": "EVS.1047", "message": "not deletable"}}`, "EVS.1047",
			cloud.ClassConflict},
		{"badRequest key", 400, `{"badRequest": {"code": "EVS.2043", "message": "not available"}}`, "EVS.2043",
			cloud.ClassConflict},
		{"itemNotFound key", 404, `{"itemNotFound": {"code": "EVS.5404", "message": "gone"}}`, "EVS.5404",
			cloud.ClassNotFound},
		{"gateway", 429, `{"error_code": "APIG.0308", "error_msg": "over ratelimit", "request_id": "r"}`,
			"APIG.0308", cloud.ClassThrottled},
		{"EVS.2019 on a 500", 500, `{"error": {"code": "EVS.2019", "message": "error_deleting"}}`, "EVS.2019",
			cloud.ClassConflict},
		{"html from a proxy", 502, `<html>bad gateway</html>`, "", cloud.ClassTransient},
		{"empty 403", 403, ``, "", cloud.ClassUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("X-Request-Id", "req-42")
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c := newClient(t, srv.URL, func(cfg *cloud.Config) { cfg.MaxRetries = -1 })
			err := c.DeleteSnapshot(ctx, "s1")
			e := wantClass(t, err, tc.class)
			if e.Code != tc.code || e.HTTPStatus != tc.status || e.RequestID != "req-42" {
				t.Errorf("error = %+v, want code %q status %d", e, tc.code, tc.status)
			}
		})
	}
}
