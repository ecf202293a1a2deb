package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

const configs = `---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: mutating-webhook-configuration
webhooks:
- name: m.example.dev
  clientConfig:
    service: {name: webhook-service, namespace: system, path: /mutate-x}
  sideEffects: None
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: validating-webhook-configuration
webhooks:
- name: v1.example.dev
  clientConfig:
    service: {name: webhook-service, namespace: system, path: /validate-x}
- name: v2.example.dev
  clientConfig:
    service: {name: webhook-service, namespace: system, path: /validate-y}
`

func TestRewritePointsEveryWebhookAtTheURL(t *testing.T) {
	g := NewWithT(t)
	path := filepath.Join(t.TempDir(), "manifests.yaml")
	g.Expect(os.WriteFile(path, []byte(configs), 0o600)).To(Succeed())

	var out bytes.Buffer
	g.Expect(run([]string{"--url", "https://127.0.0.1:9443/", "--ca-bundle", "Q0E=", "--name-prefix", "local-", path},
		&out)).To(Succeed())
	var list struct {
		Kind  string
		Items []struct {
			Kind     string
			Metadata struct{ Name string }
			Webhooks []struct {
				Name         string
				SideEffects  string
				ClientConfig map[string]any
			}
		}
	}
	g.Expect(json.Unmarshal(out.Bytes(), &list)).To(Succeed())
	g.Expect(list.Kind).To(Equal("List"))
	g.Expect(list.Items).To(HaveLen(2))
	g.Expect(list.Items[0].Metadata.Name).To(Equal("local-mutating-webhook-configuration"))
	g.Expect(list.Items[1].Metadata.Name).To(Equal("local-validating-webhook-configuration"))
	g.Expect(list.Items[0].Webhooks[0].SideEffects).To(Equal("None"), "other fields are kept")

	var urls []string
	for _, item := range list.Items {
		for _, w := range item.Webhooks {
			g.Expect(w.ClientConfig).To(HaveLen(2), "only url and caBundle, no service")
			g.Expect(w.ClientConfig).To(HaveKeyWithValue("caBundle", "Q0E="))
			urls = append(urls, w.ClientConfig["url"].(string))
		}
	}
	g.Expect(urls).To(Equal([]string{
		"https://127.0.0.1:9443/mutate-x", "https://127.0.0.1:9443/validate-x", "https://127.0.0.1:9443/validate-y",
	}))
}

func TestRewriteRefuses(t *testing.T) {
	cases := map[string]struct {
		input, want string
	}{
		"another kind": {"apiVersion: v1\nkind: Service\nmetadata: {name: s}\n", `unexpected kind "Service"`},
		"no path":      {strings.Replace(configs, "path: /mutate-x", "port: 443", 1), "calls no service path"},
		"no webhooks":  {"---\n", "holds no webhook configuration"},
		"no name":      {"kind: ValidatingWebhookConfiguration\nmetadata: {}\n", "has no name"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			_, err := rewrite(strings.NewReader(tc.input), "https://127.0.0.1:1", "Q0E=", "")
			g.Expect(err).To(MatchError(ContainSubstring(tc.want)))
		})
	}
}

func TestRunChecksItsFlags(t *testing.T) {
	g := NewWithT(t)
	var out bytes.Buffer
	g.Expect(run([]string{"--url", "http://127.0.0.1:1", "--ca-bundle", "Q0E=", "x.yaml"}, &out)).
		To(MatchError(ContainSubstring("is not an https URL")))
	g.Expect(run([]string{"--url", "https://127.0.0.1:1", "--ca-bundle", "not base64!", "x.yaml"}, &out)).
		To(MatchError(ContainSubstring("is not base64")))
	g.Expect(run([]string{"--url", "https://127.0.0.1:1", "x.yaml"}, &out)).To(MatchError(ContainSubstring("usage")))
}
