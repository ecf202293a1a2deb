// Command webhookconfig rewrites the webhook configurations that controller-gen writes (which call
// a Service in the cluster) so that they call a webhook server at a URL instead, such as the
// operator of the local stack on 127.0.0.1, trusting the given CA bundle. It prints a JSON List
// for `kubectl apply -f -`.
//
// Usage: go run ./hack/local/webhookconfig --url URL --ca-bundle BASE64 [--name-prefix P] FILE
package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "webhookconfig:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("webhookconfig", flag.ContinueOnError)
	base := fs.String("url", "", "base URL of the webhook server, such as https://127.0.0.1:9443 (required)")
	caBundle := fs.String("ca-bundle", "",
		"base64-encoded PEM CA bundle that signed the server's certificate (required)")
	prefix := fs.String("name-prefix", "", "prefix for the configurations' names")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *base == "" || *caBundle == "" || fs.NArg() != 1 {
		return errors.New("usage: webhookconfig --url URL --ca-bundle BASE64 [--name-prefix P] manifests.yaml")
	}
	if u, err := url.Parse(*base); err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("--url %q is not an https URL", *base)
	}
	if _, err := base64.StdEncoding.DecodeString(*caBundle); err != nil {
		return fmt.Errorf("--ca-bundle is not base64: %w", err)
	}

	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	objs, err := rewrite(f, strings.TrimSuffix(*base, "/"), *caBundle, *prefix)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	list := map[string]any{"apiVersion": "v1", "kind": "List", "items": objs}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(list)
}

// rewrite reads the webhook configurations from r and points every webhook at base plus the path
// its Service reference named.
func rewrite(r io.Reader, base, caBundle, prefix string) ([]map[string]any, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(r, 4096)
	var objs []map[string]any
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, err
		}
		if obj == nil {
			continue // an empty document
		}
		kind, _ := obj["kind"].(string)
		if kind != "MutatingWebhookConfiguration" && kind != "ValidatingWebhookConfiguration" {
			return nil, fmt.Errorf("unexpected kind %q", kind)
		}
		meta, _ := obj["metadata"].(map[string]any)
		name, _ := meta["name"].(string)
		if name == "" {
			return nil, fmt.Errorf("a %s has no name", kind)
		}
		meta["name"] = prefix + name
		webhooks, _ := obj["webhooks"].([]any)
		for _, w := range webhooks {
			hook, _ := w.(map[string]any)
			cc, _ := hook["clientConfig"].(map[string]any)
			svc, _ := cc["service"].(map[string]any)
			path, _ := svc["path"].(string)
			if path == "" {
				return nil, fmt.Errorf("webhook %v of %s calls no service path", hook["name"], name)
			}
			hook["clientConfig"] = map[string]any{"url": base + path, "caBundle": caBundle}
		}
		objs = append(objs, obj)
	}
	if len(objs) == 0 {
		return nil, errors.New("holds no webhook configuration")
	}
	return objs, nil
}
