package crd

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// kubectl runs the project's kubectl (built next to kube-apiserver) against the test control plane.
func kubectl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	g := NewWithT(t)
	user, err := testEnv.AddUser(envtest.User{Name: "tester", Groups: []string{"system:masters"}}, nil)
	g.Expect(err).NotTo(HaveOccurred())
	kubeconfig, err := user.KubeConfig()
	g.Expect(err).NotTo(HaveOccurred())
	path := filepath.Join(t.TempDir(), "kubeconfig")
	g.Expect(os.WriteFile(path, kubeconfig, 0o600)).To(Succeed())

	bin := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
	out, err := exec.Command(bin, append([]string{"--kubeconfig", path}, args...)...).CombinedOutput()
	return string(out), err
}

func TestKubectlServerDryRunAcceptsTheSamples(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	out, err := kubectl(t, "apply", "--dry-run=server", "-n", ns, "-k", filepath.Join("..", "..", "config", "samples"))
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(ContainSubstring("evssnapshot.evs.storage.dev/db-nightly created (server dry run)"))
}

func TestKubectlServerDryRunRefusesAnInvalidSample(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	out, err := kubectl(t, "apply", "--dry-run=server", "-n", ns, "-f", filepath.Join("testdata", "invalid-both-sources.yaml"))
	g.Expect(err).To(HaveOccurred(), out)
	g.Expect(out).To(ContainSubstring("exactly one of volumeID and snapshotID must be set"))
}
