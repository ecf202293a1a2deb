package manifests

import (
	"context"
	"strings"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// warnings collects the warnings the apiserver sends back (Pod Security warns about workloads).
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

// HandleWarningHeader implements rest.WarningHandler.
func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	msgs := w.msgs
	w.msgs = nil
	return msgs
}

// ensureNamespace creates the rendered operator namespace for real, once: the namespaced objects
// are dry-run into it, and its Pod Security labels take part in the checks.
var ensureNamespace = sync.OnceValue(func() error {
	ns := find(rendered, "Namespace", "", operatorNamespace)
	if ns == nil {
		return apierrors.NewNotFound(corev1.Resource("namespaces"), operatorNamespace)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	_, err = dyn.Resource(corev1.SchemeGroupVersion.WithResource("namespaces")).
		Create(context.Background(), ns.DeepCopy(), metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
})

// TestServerDryRunAcceptsEveryKnownObject applies every rendered object whose kind the control
// plane serves with a server-side dry run: schema, defaulting and admission (Pod Security included)
// all run, nothing is stored. Other kinds (cert-manager's, the Prometheus Operator's) are checked
// by reading them in structure_test.go.
func TestServerDryRunAcceptsEveryKnownObject(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	g.Expect(ensureNamespace()).To(Succeed())

	warned := &warnings{}
	c := rest.CopyConfig(cfg)
	c.WarningHandler = warned
	httpClient, err := rest.HTTPClientFor(c)
	g.Expect(err).NotTo(HaveOccurred())
	mapper, err := apiutil.NewDynamicRESTMapper(c, httpClient)
	g.Expect(err).NotTo(HaveOccurred())
	dyn, err := dynamic.NewForConfigAndClient(c, httpClient)
	g.Expect(err).NotTo(HaveOccurred())

	known, unknown := 0, map[string]bool{}
	for _, obj := range renderedWithPrometheus {
		gvk := obj.GroupVersionKind()
		mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if meta.IsNoMatchError(err) {
			unknown[gvk.Kind] = true
			continue
		}
		g.Expect(err).NotTo(HaveOccurred(), "mapping %s", gvk)
		known++

		var res dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			g.Expect(obj.GetNamespace()).NotTo(BeEmpty(), "%s is namespaced but has no namespace", describe(obj))
			res = dyn.Resource(mapping.Resource).Namespace(obj.GetNamespace())
		} else {
			g.Expect(obj.GetNamespace()).To(BeEmpty(), "%s is cluster-scoped but has a namespace", describe(obj))
		}
		// Server-side apply works whether the object exists (the namespace, the CRDs) or not.
		_, err = res.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{
			FieldManager: "manifests-test", Force: true, DryRun: []string{metav1.DryRunAll},
		})
		g.Expect(err).NotTo(HaveOccurred(), "server-side dry run of %s", describe(obj))
		g.Expect(warned.take()).To(BeEmpty(), "the apiserver warned about %s", describe(obj))
	}
	g.Expect(known).To(BeNumerically(">=", 10), "too few objects were dry-run")
	g.Expect(unknown).To(Equal(map[string]bool{"Certificate": true, "Issuer": true, "ServiceMonitor": true}),
		"the kinds the control plane does not know, checked by structure instead")
}

// TestPodSecurityAdmitsTheOperatorPod dry-runs a Pod made from the Deployment's template into the
// operator namespace, whose labels enforce the restricted profile: the PodSecurity admission
// plugin refuses the Pod if any field breaks the profile.
func TestPodSecurityAdmitsTheOperatorPod(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	g.Expect(ensureNamespace()).To(Succeed())

	ns := find(rendered, "Namespace", "", operatorNamespace)
	g.Expect(ns.GetLabels()).To(HaveKeyWithValue("pod-security.kubernetes.io/enforce", "restricted"))

	dep := deployment(t)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: dep.Name + "-dry-run", Namespace: dep.Namespace, Labels: dep.Spec.Template.Labels,
		},
		Spec: dep.Spec.Template.Spec,
	}
	cs, err := kubernetes.NewForConfig(cfg)
	g.Expect(err).NotTo(HaveOccurred())
	dryRun := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	_, err = cs.CoreV1().Pods(pod.Namespace).Create(ctx, pod, dryRun)
	g.Expect(err).NotTo(HaveOccurred(), "the restricted profile refused the operator's pod")

	// The check has teeth: the same pod running as root is refused.
	root := pod.DeepCopy()
	root.Spec.SecurityContext.RunAsNonRoot = nil
	for i := range root.Spec.Containers {
		root.Spec.Containers[i].SecurityContext.RunAsNonRoot = nil
	}
	_, err = cs.CoreV1().Pods(pod.Namespace).Create(ctx, root, dryRun)
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "got %v", err)
	g.Expect(err.Error()).To(ContainSubstring("violates PodSecurity \"restricted"))
}

// deployment returns the rendered operator Deployment, typed.
func deployment(t *testing.T) *appsv1.Deployment {
	t.Helper()
	obj := one(t, rendered, "Deployment")
	dep := &appsv1.Deployment{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, dep); err != nil {
		t.Fatalf("decoding %s: %v", describe(obj), err)
	}
	if !strings.HasPrefix(dep.Name, "evs-operator-") || dep.Namespace != operatorNamespace {
		t.Fatalf("the Deployment is %s/%s; want it prefixed evs-operator- in %s",
			dep.Namespace, dep.Name, operatorNamespace)
	}
	return dep
}
