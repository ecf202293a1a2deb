// Package manifests renders config/default with the project's kubectl, as `make deploy` does, and
// proves the result against a real kube-apiserver (server-side dry runs) and by reading it: the
// restricted Pod Security profile, least-privilege RBAC, and references that resolve.
package manifests

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// operatorNamespace is where config/default installs the operator.
const operatorNamespace = "evs-operator-system"

var (
	// rendered is config/default as kubectl kustomize renders it.
	rendered []*unstructured.Unstructured
	// renderedWithPrometheus is the same with the optional config/prometheus component enabled.
	renderedWithPrometheus []*unstructured.Unstructured

	cfg     *rest.Config
	testEnv *envtest.Environment
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		fmt.Fprintln(os.Stderr, "KUBEBUILDER_ASSETS is not set: run 'make test', "+
			"or set it to the directory holding kubectl and kube-apiserver")
		return 1
	}
	kubectl := filepath.Join(assets, "kubectl")
	configDir := filepath.Join("..", "..", "config")

	var err error
	if rendered, err = render(kubectl, configDir); err != nil {
		fmt.Fprintf(os.Stderr, "rendering config/default: %v\n", err)
		return 1
	}
	if renderedWithPrometheus, err = renderWithPrometheus(kubectl, configDir); err != nil {
		fmt.Fprintf(os.Stderr, "rendering config/default with config/prometheus: %v\n", err)
		return 1
	}

	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(configDir, "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	if cfg, err = testEnv.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "starting envtest: %v\n", err)
		return 1
	}
	defer func() {
		if err := testEnv.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stopping envtest: %v\n", err)
		}
	}()
	return m.Run()
}

// render runs kubectl kustomize on config/default under configDir and decodes the objects.
func render(kubectl, configDir string) ([]*unstructured.Unstructured, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(kubectl, "kustomize", filepath.Join(configDir, "default"))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s kustomize: %w: %s", kubectl, err, stderr.String())
	}
	return decode(&stdout)
}

// renderWithPrometheus renders a copy of the config tree in which config/default enables the
// optional prometheus component, the way its comment tells a user to.
func renderWithPrometheus(kubectl, configDir string) ([]*unstructured.Unstructured, error) {
	tmp, err := os.MkdirTemp("", "manifests-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	dst := filepath.Join(tmp, "config")
	if err := os.CopyFS(dst, os.DirFS(configDir)); err != nil {
		return nil, err
	}
	path := filepath.Join(dst, "default", "kustomization.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	const disabled = "# - ../prometheus"
	if !bytes.Contains(data, []byte(disabled)) {
		return nil, fmt.Errorf("config/default/kustomization.yaml no longer holds %q", disabled)
	}
	data = bytes.Replace(data, []byte(disabled), []byte("- ../prometheus"), 1)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return nil, err
	}
	return render(kubectl, dst)
}

func decode(r io.Reader) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(r, 4096)
	var objs []*unstructured.Unstructured
	for {
		obj := &unstructured.Unstructured{}
		err := dec.Decode(&obj.Object)
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(obj.Object) > 0 {
			objs = append(objs, obj)
		}
	}
}

// ofKind returns the rendered objects of a kind.
func ofKind(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// one returns the single rendered object of a kind, failing the test when there is not exactly one.
func one(t *testing.T, objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	t.Helper()
	found := ofKind(objs, kind)
	if len(found) != 1 {
		t.Fatalf("want exactly one %s in the rendered config/default, found %d", kind, len(found))
	}
	return found[0]
}

// find returns the rendered object of a kind, namespace and name, or nil.
func find(objs []*unstructured.Unstructured, kind, namespace, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetNamespace() == namespace && o.GetName() == name {
			return o
		}
	}
	return nil
}

func describe(o *unstructured.Unstructured) string {
	if o.GetNamespace() == "" {
		return o.GetKind() + " " + o.GetName()
	}
	return o.GetKind() + " " + o.GetNamespace() + "/" + o.GetName()
}

// hasPrefix reports whether any of the strings starts with prefix.
func hasPrefix(ss []string, prefix string) bool {
	for _, s := range ss {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}
