package manifests

import (
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// webhookCertDir is where the manager reads its serving certificate (--webhook-cert-dir).
const webhookCertDir = "/tmp/k8s-webhook-server/serving-certs"

func TestDeploymentMeetsTheRestrictedProfile(t *testing.T) {
	g := NewWithT(t)
	spec := deployment(t).Spec.Template.Spec

	g.Expect(spec.SecurityContext).NotTo(BeNil())
	g.Expect(spec.SecurityContext.RunAsNonRoot).To(HaveValue(BeTrue()))
	runtimeDefault := HaveValue(HaveField("Type", corev1.SeccompProfileTypeRuntimeDefault))
	g.Expect(spec.SecurityContext.SeccompProfile).To(runtimeDefault)
	g.Expect(spec.HostNetwork || spec.HostPID || spec.HostIPC).To(BeFalse())
	g.Expect(spec.Containers).To(HaveLen(1))
	g.Expect(spec.InitContainers).To(BeEmpty())

	c := spec.Containers[0]
	sc := c.SecurityContext
	g.Expect(sc).NotTo(BeNil())
	g.Expect(sc.RunAsNonRoot).To(HaveValue(BeTrue()))
	g.Expect(sc.ReadOnlyRootFilesystem).To(HaveValue(BeTrue()))
	g.Expect(sc.AllowPrivilegeEscalation).To(HaveValue(BeFalse()))
	g.Expect(sc.Privileged).To(Or(BeNil(), HaveValue(BeFalse())))
	g.Expect(sc.Capabilities).NotTo(BeNil())
	g.Expect(sc.Capabilities.Drop).To(ConsistOf(corev1.Capability("ALL")))
	g.Expect(sc.Capabilities.Add).To(BeEmpty())
	g.Expect(sc.SeccompProfile).To(runtimeDefault)

	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		g.Expect(c.Resources.Requests).To(HaveKey(r), "requests")
		g.Expect(c.Resources.Limits).To(HaveKey(r), "limits")
		request, limit := c.Resources.Requests[r], c.Resources.Limits[r]
		g.Expect(request.Cmp(limit)).To(BeNumerically("<=", 0), "%s request above its limit", r)
	}
}

func TestDeploymentRunsTheOperatorAsConfigured(t *testing.T) {
	g := NewWithT(t)
	dep := deployment(t)
	spec := dep.Spec.Template.Spec
	c := spec.Containers[0]

	g.Expect(c.Args).To(ContainElements(
		"--leader-elect", "--metrics-bind-address=:8080", "--health-probe-bind-address=:8081",
		"--webhook-cert-dir="+webhookCertDir))
	g.Expect(hasPrefix(c.Args, "--region=")).To(BeTrue(), "a --region placeholder")
	g.Expect(hasPrefix(c.Args, "--project-id=")).To(BeTrue(), "a --project-id placeholder")
	g.Expect(c.Args).NotTo(ContainElement(HavePrefix("--simulator")))

	port := func(p intstr.IntOrString) int32 {
		if p.Type == intstr.Int {
			return p.IntVal
		}
		for _, cp := range c.Ports {
			if cp.Name == p.StrVal {
				return cp.ContainerPort
			}
		}
		t.Fatalf("the container has no port named %q", p.StrVal)
		return 0
	}
	g.Expect(c.LivenessProbe).NotTo(BeNil())
	g.Expect(c.LivenessProbe.HTTPGet).NotTo(BeNil())
	g.Expect(c.LivenessProbe.HTTPGet.Path).To(Equal("/healthz"))
	g.Expect(port(c.LivenessProbe.HTTPGet.Port)).To(BeEquivalentTo(8081))
	g.Expect(c.ReadinessProbe).NotTo(BeNil())
	g.Expect(c.ReadinessProbe.HTTPGet).NotTo(BeNil())
	g.Expect(c.ReadinessProbe.HTTPGet.Path).To(Equal("/readyz"))
	g.Expect(port(c.ReadinessProbe.HTTPGet.Port)).To(BeEquivalentTo(8081))

	// Credentials come from a Secret, never from a literal in the manifest.
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	for _, name := range []string{"HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK"} {
		g.Expect(env).To(HaveKey(name))
		g.Expect(env[name].Value).To(BeEmpty(), "%s must not be a literal", name)
		g.Expect(env[name].ValueFrom).NotTo(BeNil())
		g.Expect(env[name].ValueFrom.SecretKeyRef).NotTo(BeNil())
		g.Expect(env[name].ValueFrom.SecretKeyRef.Name).To(Equal("evs-credentials"))
		g.Expect(env[name].ValueFrom.SecretKeyRef.Key).NotTo(BeEmpty())
	}

	// The webhook certificate: cert-manager's Secret, mounted where --webhook-cert-dir points.
	cert := one(t, rendered, "Certificate")
	secretName, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")
	var certVolume string
	for _, v := range spec.Volumes {
		if v.Secret != nil && v.Secret.SecretName == secretName {
			certVolume = v.Name
		}
	}
	g.Expect(certVolume).NotTo(BeEmpty(), "no volume holds the Certificate's Secret %q", secretName)
	g.Expect(c.VolumeMounts).To(ContainElement(And(
		HaveField("Name", certVolume), HaveField("MountPath", webhookCertDir), HaveField("ReadOnly", true))))

	sa := one(t, rendered, "ServiceAccount")
	g.Expect(spec.ServiceAccountName).To(Equal(sa.GetName()))
	g.Expect(sa.GetNamespace()).To(Equal(dep.Namespace))

	podLabels := labels.Set(dep.Spec.Template.Labels)
	g.Expect(labels.SelectorFromSet(dep.Spec.Selector.MatchLabels).Matches(podLabels)).
		To(BeTrue(), "the Deployment's selector does not match its own pods")
}

func TestRBACIsLeastPrivilege(t *testing.T) {
	g := NewWithT(t)
	roles := append(ofKind(rendered, "ClusterRole"), ofKind(rendered, "Role")...)
	g.Expect(roles).NotTo(BeEmpty())
	for _, obj := range roles {
		role := &rbacv1.ClusterRole{}
		g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, role)).To(Succeed())
		g.Expect(role.AggregationRule).To(BeNil(), "%s aggregates other roles", describe(obj))
		for i, rule := range role.Rules {
			where := describe(obj) + " rule " + strings.Join(rule.Resources, ",")
			g.Expect(rule.Verbs).NotTo(ContainElement("*"), where)
			g.Expect(rule.Resources).NotTo(ContainElement(ContainSubstring("*")), where)
			g.Expect(rule.APIGroups).NotTo(ContainElement("*"), where)
			g.Expect(rule.NonResourceURLs).To(BeEmpty(), where)
			g.Expect(rule.Resources).NotTo(BeEmpty(), "%s rule %d", describe(obj), i)
			// The operator reads its credentials from its environment, so no Secret access at all.
			if slices.Contains(rule.APIGroups, "") {
				g.Expect(rule.Resources).NotTo(ContainElement("secrets"), where)
			}
			g.Expect(rule.Verbs).NotTo(ContainElements("escalate", "bind", "impersonate"), where)
		}
	}

	// Bindings grant rendered roles to the rendered service account only.
	sa := one(t, rendered, "ServiceAccount")
	bindings := append(ofKind(rendered, "ClusterRoleBinding"), ofKind(rendered, "RoleBinding")...)
	g.Expect(bindings).To(HaveLen(2))
	for _, obj := range bindings {
		b := &rbacv1.RoleBinding{}
		g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, b)).To(Succeed())
		ref := find(rendered, b.RoleRef.Kind, obj.GetNamespace(), b.RoleRef.Name)
		if b.RoleRef.Kind == "ClusterRole" {
			ref = find(rendered, "ClusterRole", "", b.RoleRef.Name)
		}
		g.Expect(ref).NotTo(BeNil(), "%s refers to %s %s, which is not rendered",
			describe(obj), b.RoleRef.Kind, b.RoleRef.Name)
		g.Expect(b.Subjects).To(ConsistOf(rbacv1.Subject{
			Kind: rbacv1.ServiceAccountKind, Name: sa.GetName(), Namespace: sa.GetNamespace(),
		}), describe(obj))
	}
	// Leader election stays in the operator's namespace.
	g.Expect(one(t, rendered, "Role").GetNamespace()).To(Equal(operatorNamespace))
}

func TestServicesReachTheOperatorPod(t *testing.T) {
	g := NewWithT(t)
	dep := deployment(t)
	container := dep.Spec.Template.Spec.Containers[0]
	ports := map[string]int32{}
	for _, p := range container.Ports {
		ports[p.Name] = p.ContainerPort
	}

	services := ofKind(rendered, "Service")
	g.Expect(services).To(HaveLen(2), "the webhook and metrics Services")
	for _, obj := range services {
		svc := &corev1.Service{}
		g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, svc)).To(Succeed())
		g.Expect(svc.Namespace).To(Equal(dep.Namespace))
		g.Expect(labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(dep.Spec.Template.Labels))).
			To(BeTrue(), "%s does not select the operator's pods", describe(obj))
		for _, p := range svc.Spec.Ports {
			target := p.TargetPort.IntVal
			if p.TargetPort.Type == intstr.String {
				g.Expect(ports).To(HaveKey(p.TargetPort.StrVal), describe(obj))
				target = ports[p.TargetPort.StrVal]
			}
			g.Expect(slices.ContainsFunc(container.Ports, func(cp corev1.ContainerPort) bool {
				return cp.ContainerPort == target
			})).To(BeTrue(), "%s targets port %d, which the container does not expose", describe(obj), target)
		}
	}
}

func TestWebhooksAreServedThroughCertManager(t *testing.T) {
	g := NewWithT(t)
	cert := one(t, rendered, "Certificate")
	issuer := one(t, rendered, "Issuer")

	// The Certificate: a Secret to write, names the apiserver calls, and an Issuer that is rendered.
	secretName, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")
	g.Expect(secretName).NotTo(BeEmpty(), "spec.secretName")
	dnsNames, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
	issuerKind, _, _ := unstructured.NestedString(cert.Object, "spec", "issuerRef", "kind")
	issuerName, _, _ := unstructured.NestedString(cert.Object, "spec", "issuerRef", "name")
	g.Expect(issuerKind).To(Equal("Issuer"))
	g.Expect(find(rendered, "Issuer", cert.GetNamespace(), issuerName)).NotTo(BeNil(),
		"the Certificate's issuerRef names %q, which is not rendered in %s", issuerName, cert.GetNamespace())
	g.Expect(cert.GetAPIVersion()).To(Equal("cert-manager.io/v1"))
	g.Expect(issuer.GetAPIVersion()).To(Equal("cert-manager.io/v1"))

	// The Issuer has exactly one issuing mechanism.
	issuerSpec, _, _ := unstructured.NestedMap(issuer.Object, "spec")
	var mechanisms []string
	for _, m := range []string{"selfSigned", "ca", "acme", "vault", "venafi"} {
		if _, ok := issuerSpec[m]; ok {
			mechanisms = append(mechanisms, m)
		}
	}
	g.Expect(mechanisms).To(HaveLen(1), "the Issuer's spec: %v", issuerSpec)

	// Every webhook calls a rendered Service by a name the Certificate covers, and every
	// configuration asks cert-manager to inject the Certificate's CA.
	configs := append(ofKind(rendered, "MutatingWebhookConfiguration"),
		ofKind(rendered, "ValidatingWebhookConfiguration")...)
	g.Expect(configs).To(HaveLen(2))
	for _, cfgObj := range configs {
		g.Expect(cfgObj.GetAnnotations()).To(HaveKeyWithValue("cert-manager.io/inject-ca-from",
			cert.GetNamespace()+"/"+cert.GetName()), describe(cfgObj))
		hooks, _, _ := unstructured.NestedSlice(cfgObj.Object, "webhooks")
		g.Expect(hooks).NotTo(BeEmpty(), describe(cfgObj))
		for _, h := range hooks {
			hook, _ := h.(map[string]any)
			svcName, _, _ := unstructured.NestedString(hook, "clientConfig", "service", "name")
			svcNamespace, _, _ := unstructured.NestedString(hook, "clientConfig", "service", "namespace")
			path, _, _ := unstructured.NestedString(hook, "clientConfig", "service", "path")
			g.Expect(find(rendered, "Service", svcNamespace, svcName)).NotTo(BeNil(),
				"webhook %v calls Service %s/%s, which is not rendered", hook["name"], svcNamespace, svcName)
			g.Expect(path).To(HavePrefix("/"))
			g.Expect(dnsNames).To(ContainElement(svcName + "." + svcNamespace + ".svc"))
			failurePolicy, _, _ := unstructured.NestedString(hook, "failurePolicy")
			g.Expect(failurePolicy).To(Equal("Fail"), "webhook %v", hook["name"])
		}
	}
}

func TestServiceMonitorScrapesTheMetricsService(t *testing.T) {
	g := NewWithT(t)
	g.Expect(ofKind(rendered, "ServiceMonitor")).To(BeEmpty(), "the ServiceMonitor is optional, off by default")

	// With the component enabled, it is the only addition.
	g.Expect(renderedWithPrometheus).To(HaveLen(len(rendered) + 1))
	monitor := one(t, renderedWithPrometheus, "ServiceMonitor")
	g.Expect(monitor.GetAPIVersion()).To(Equal("monitoring.coreos.com/v1"))
	g.Expect(monitor.GetNamespace()).To(Equal(operatorNamespace))
	g.Expect(monitor.GetName()).To(HavePrefix("evs-operator-"))

	matchLabels, _, _ := unstructured.NestedStringMap(monitor.Object, "spec", "selector", "matchLabels")
	g.Expect(matchLabels).NotTo(BeEmpty(), "spec.selector.matchLabels")
	endpoints, _, _ := unstructured.NestedSlice(monitor.Object, "spec", "endpoints")
	g.Expect(endpoints).NotTo(BeEmpty(), "spec.endpoints")

	var selected []*corev1.Service
	for _, obj := range ofKind(renderedWithPrometheus, "Service") {
		if obj.GetNamespace() == monitor.GetNamespace() &&
			labels.SelectorFromSet(matchLabels).Matches(labels.Set(obj.GetLabels())) {
			svc := &corev1.Service{}
			g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, svc)).To(Succeed())
			selected = append(selected, svc)
		}
	}
	g.Expect(selected).To(HaveLen(1), "the ServiceMonitor must select exactly the metrics Service")
	for _, e := range endpoints {
		endpoint, _ := e.(map[string]any)
		port, _, _ := unstructured.NestedString(endpoint, "port")
		named := func(p corev1.ServicePort) bool { return p.Name == port }
		g.Expect(slices.ContainsFunc(selected[0].Spec.Ports, named)).
			To(BeTrue(), "endpoint port %q is not a port of Service %s", port, selected[0].Name)
	}
}
