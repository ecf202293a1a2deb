package cloud

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const (
	testAK = "AK-THAT-MUST-NOT-LEAK"
	testSK = "SK-THAT-MUST-NOT-LEAK"
)

func TestNewValidates(t *testing.T) {
	valid := Config{Endpoint: "http://127.0.0.1:1", ProjectID: "p", AK: testAK, SK: testSK}
	cases := []struct {
		name   string
		modify func(*Config)
		errHas string
	}{
		{"valid", func(*Config) {}, ""},
		{"region only", func(c *Config) { c.Endpoint, c.Region = "", "xx-test-1" }, ""},
		{"no region or endpoint", func(c *Config) { c.Endpoint = "" }, "region or an endpoint"},
		{"no project", func(c *Config) { c.ProjectID = "" }, "project ID"},
		{"no AK", func(c *Config) { c.AK = "" }, "AK"},
		{"no SK", func(c *Config) { c.SK = "" }, "SK"},
		{"bad scheme", func(c *Config) { c.Endpoint = "ftp://host" }, "invalid EVS endpoint"},
		{"no host", func(c *Config) { c.Endpoint = "http://" }, "invalid EVS endpoint"},
		{"user info", func(c *Config) { c.Endpoint = "https://u:p@host" }, "invalid EVS endpoint"},
		{"path prefix", func(c *Config) { c.Endpoint = "https://host/evs" }, "invalid EVS endpoint"},
		{"bad region", func(c *Config) { c.Endpoint, c.Region = "", "a/b" }, "not a region name"},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, "negative"},
		{"base above cap", func(c *Config) { c.RetryBaseDelay = time.Minute }, "exceeds"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid
			tc.modify(&cfg)
			c, err := New(cfg)
			switch {
			case tc.errHas == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tc.errHas == "" && c == nil:
				t.Fatal("New returned no client")
			case tc.errHas != "" && (err == nil || !strings.Contains(err.Error(), tc.errHas)):
				t.Fatalf("New error = %v, want one containing %q", err, tc.errHas)
			}
			if err != nil && (strings.Contains(err.Error(), testAK) || strings.Contains(err.Error(), testSK)) {
				t.Fatalf("error leaks a credential: %v", err)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c, err := New(Config{Endpoint: "http://127.0.0.1:1/", ProjectID: "p", AK: "a", SK: "s"})
	if err != nil {
		t.Fatal(err)
	}
	r := c.(*sdkClient).retry
	if r.maxRetries != DefaultMaxRetries || r.baseDelay != DefaultRetryBaseDelay ||
		r.maxDelay != DefaultRetryMaxDelay {
		t.Errorf("retry defaults = %+v", r)
	}
	c, err = New(Config{Endpoint: "http://127.0.0.1:1/", ProjectID: "p", AK: "a", SK: "s", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.(*sdkClient).retry.maxRetries; got != 0 {
		t.Errorf("MaxRetries -1 gives %d retries, want 0", got)
	}
}

func TestResolveEndpoint(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{Endpoint: "http://127.0.0.1:8090/"}, "http://127.0.0.1:8090"},
		{Config{Region: "xx-test-1", Endpoint: "https://evs.example.test"}, "https://evs.example.test"},
		// A region the SDK does not know gets the public pattern.
		{Config{Region: "xx-test-1"}, "https://evs.xx-test-1.myhuaweicloud.com"},
	}
	for _, tc := range cases {
		got, err := resolveEndpoint(tc.cfg)
		if err != nil || got != tc.want {
			t.Errorf("resolveEndpoint(%v) = %q, %v; want %q", tc.cfg, got, err, tc.want)
		}
	}
}

func TestConfigNeverPrintsCredentials(t *testing.T) {
	cfg := Config{Region: "r", ProjectID: "p", AK: testAK, SK: testSK}
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg),
		fmt.Sprintf("%v", &cfg)} {
		if strings.Contains(s, testAK) || strings.Contains(s, testSK) {
			t.Errorf("printed config leaks a credential: %s", s)
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	t.Setenv(EnvAK, "env-ak")
	t.Setenv(EnvSK, "env-sk")
	cfg, err := ConfigFromEnv(Config{Region: "r", AK: "explicit"})
	if err != nil || cfg.AK != "explicit" || cfg.SK != "env-sk" || cfg.Region != "r" {
		t.Errorf("ConfigFromEnv = %v, %v", cfg, err)
	}
	t.Setenv(EnvSK, "")
	_, err = ConfigFromEnv(Config{})
	if err == nil || !strings.Contains(err.Error(), EnvSK) || strings.Contains(err.Error(), "env-ak") {
		t.Errorf("ConfigFromEnv without SK: %v", err)
	}
}
