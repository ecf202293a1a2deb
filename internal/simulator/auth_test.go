package simulator

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/evs/v2/model"
)

// signRequest signs a request with the SDK's own signer and converts it into an *http.Request
// the way the SDK does, so a test can alter it before sending.
func signRequest(t *testing.T, baseURL, method, path, body string, query map[string]any,
	ak, sk string) *http.Request {
	t.Helper()
	b := request.NewHttpRequestBuilder().WithEndpoint(baseURL).WithMethod(method).WithPath(path).
		AddHeaderParam("Content-Type", "application/json;charset=UTF-8").
		AddHeaderParam("X-Project-Id", DefaultProjectID)
	for k, v := range query {
		b.AddQueryParam(k, reflect.ValueOf(v))
	}
	if body != "" {
		b.WithBody("", body)
	}
	sdkReq := b.Build()
	headers, err := signer.Sign(sdkReq, ak, sk)
	if err != nil {
		t.Fatalf("signing: %v", err)
	}
	req, err := sdkReq.ConvertRequest()
	if err != nil {
		t.Fatalf("converting the signed request: %v", err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return req
}

// signedRequest sends a correctly signed request and returns the response.
func signedRequest(t *testing.T, baseURL, method, path, body string, query map[string]any) *http.Response {
	t.Helper()
	return send(t, signRequest(t, baseURL, method, path, body, query, DefaultAK, DefaultSK))
}

func send(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("sending %s %s: %v", req.Method, req.URL, err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

// expectRawError checks a raw response's status and its code, in the EVS or the gateway body.
func expectRawError(t *testing.T, resp *http.Response, status int, code string) {
	t.Helper()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		ErrorCode string `json:"error_code"`
	}
	if err := json.Unmarshal(data, &body); err != nil {
		t.Fatalf("the error body %q is not JSON: %v", data, err)
	}
	got := body.Error.Code + body.ErrorCode
	if resp.StatusCode != status || got != code {
		t.Fatalf("want HTTP %d %s, got HTTP %d: %s", status, code, resp.StatusCode, data)
	}
}

func TestSignatureIsVerified(t *testing.T) {
	e := newEnv(t)
	showPath := "/v2/" + DefaultProjectID + "/cloudvolumes/" + SeedVolumeAvailable

	t.Run("the real SDK with the right keys is accepted", func(t *testing.T) {
		if s := e.volumeStatus(SeedVolumeAvailable); s != "available" {
			t.Fatalf("seed disk is %s", s)
		}
	})
	t.Run("a wrong SK is 401", func(t *testing.T) {
		c := newSDKClient(t, e.srv.URL(), DefaultAK, "WRONG-SK", DefaultProjectID)
		_, err := c.ShowVolume(&model.ShowVolumeRequest{VolumeId: SeedVolumeAvailable})
		expectError(t, err, http.StatusUnauthorized, "APIG.0301")
	})
	t.Run("a wrong AK is 401", func(t *testing.T) {
		c := newSDKClient(t, e.srv.URL(), "WRONG-AK", DefaultSK, DefaultProjectID)
		_, err := c.ListSnapshots(&model.ListSnapshotsRequest{})
		expectError(t, err, http.StatusUnauthorized, "APIG.0301")
	})
	t.Run("custom keys are honoured", func(t *testing.T) {
		custom := newEnvWith(t, Options{AK: "MY-AK", SK: "MY-SK", ProjectID: "p1"}, false)
		c := newSDKClient(t, custom.srv.URL(), "MY-AK", "MY-SK", "p1")
		if _, err := c.ShowVolume(&model.ShowVolumeRequest{VolumeId: SeedVolumeSAS}); err != nil {
			t.Fatalf("show with custom keys: %v", err)
		}
		_, err := custom.evs.ShowVolume(&model.ShowVolumeRequest{VolumeId: SeedVolumeSAS})
		expectError(t, err, http.StatusUnauthorized, "APIG.0301")
	})
	t.Run("a tampered body is 401", func(t *testing.T) {
		createPath := "/v2/" + DefaultProjectID + "/cloudsnapshots"
		intact := `{"snapshot":{"volume_id":"` + SeedVolumeSAS + `","name":"a"}}`
		resp := signedRequest(t, e.srv.URL(), http.MethodPost, createPath, intact, nil)
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("the intact signed create answered %d", resp.StatusCode)
		}
		body := `{"snapshot":{"volume_id":"` + SeedVolumeAvailable + `","name":"a"}}`
		req := signRequest(t, e.srv.URL(), http.MethodPost, createPath, body, nil, DefaultAK, DefaultSK)
		tampered := strings.Replace(body, `"a"`, `"b"`, 1)
		req.Body = io.NopCloser(strings.NewReader(tampered))
		req.ContentLength = int64(len(tampered))
		expectRawError(t, send(t, req), http.StatusUnauthorized, "APIG.0301")
	})
	t.Run("a tampered query is 401", func(t *testing.T) {
		req := signRequest(t, e.srv.URL(), http.MethodGet, "/v2/"+DefaultProjectID+"/cloudsnapshots/detail",
			"", map[string]any{"limit": 10}, DefaultAK, DefaultSK)
		req.URL.RawQuery = "limit=11"
		expectRawError(t, send(t, req), http.StatusUnauthorized, "APIG.0301")
	})
	t.Run("query values with spaces, slashes and non-ASCII bytes verify", func(t *testing.T) {
		name := "db nightly/é+x&y=z"
		e.addAvailableSnapshot(SeedVolumeSAS, name)
		resp, err := e.evs.ListSnapshots(&model.ListSnapshotsRequest{Name: new(name)})
		if err != nil {
			t.Fatalf("list by an awkward name: %v", err)
		}
		if *resp.Count != 1 {
			t.Fatalf("list by an awkward name found %d", *resp.Count)
		}
	})
	t.Run("the signed raw request itself is accepted", func(t *testing.T) {
		resp := signedRequest(t, e.srv.URL(), http.MethodGet, showPath, "", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("an unsigned request is 401", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL()+showPath, nil)
		expectRawError(t, send(t, req), http.StatusUnauthorized, "APIG.0301")
	})
	t.Run("another project is 403", func(t *testing.T) {
		c := newSDKClient(t, e.srv.URL(), DefaultAK, DefaultSK, "ffffffffffffffffffffffffffffffff")
		_, err := c.ShowVolume(&model.ShowVolumeRequest{VolumeId: SeedVolumeAvailable})
		expectError(t, err, http.StatusForbidden, "EVS.5403")
	})
	t.Run("an unknown path is the gateway's 404", func(t *testing.T) {
		resp := signedRequest(t, e.srv.URL(), http.MethodGet, "/v2/"+DefaultProjectID+"/nothing", "", nil)
		expectRawError(t, resp, http.StatusNotFound, "APIG.0101")
	})
}
