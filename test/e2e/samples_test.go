package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/evs-operator/evs-operator/controllers"
	"github.com/evs-operator/evs-operator/internal/simulator"
)

const (
	sourceDisk = "11111111-1111-4111-8111-111111111111"
	otherDisk  = "33333333-3333-4333-8333-333333333333"
	// simTiming is the simulator's transition time the local stack starts with.
	simTiming = 2 * time.Second
)

// TestSamples walks through what a user does with the samples, step by step; a failed step ends
// the walk, since the later ones build on it.
func TestSamples(t *testing.T) {
	steps := []struct {
		name string
		run  func(*testing.T)
	}{
		{"apply the samples: the disk waits for its snapshot", applySamples},
		{"the snapshot becomes Ready", waitForSnapshot},
		{"apply again: every sample is admitted and Ready", applySamplesAgain},
		{"roll the disk back to the snapshot", rollBack},
		{"a rollback onto another disk is refused", refuseRollbackOntoAnotherDisk},
		{"deleting a Creating snapshot is refused", refuseDeletingCreatingSnapshot},
		{"delete everything", deleteEverything},
		{"the cloud holds nothing the operator made", cloudIsClean},
		{"the operator needed no permission beyond its role", operatorWasNotForbidden},
	}
	for _, step := range steps {
		if !t.Run(step.name, step.run) {
			return
		}
	}
}

func applySamples(t *testing.T) {
	g := NewWithT(t)
	out, err := kubectl("apply", "-k", "config/samples")
	g.Expect(out).To(ContainSubstring("evssnapshot.evs.storage.dev/db-nightly created"))
	if err != nil {
		// The sample disk names the sample snapshot, which has no phase yet: the webhook refuses the
		// disk, with a message that says what to do.
		g.Expect(out).To(ContainSubstring(
			`admission webhook "vevsvolume-v1alpha1.evs.storage.dev" denied the request`))
		g.Expect(out).To(ContainSubstring("CreateVolume is not allowed in this phase"))
		g.Expect(out).To(ContainSubstring("create the EVSVolume once the snapshot is Available"))
	}
}

func waitForSnapshot(t *testing.T) {
	g := NewWithT(t)
	out, err := kubectl("wait", "--for=condition=Ready", "--timeout=90s", "evssnapshot/db-nightly")
	g.Expect(err).NotTo(HaveOccurred(), out)
	out, err = kubectl("get", "evssnapshot", "db-nightly", "-o",
		"jsonpath={.status.phase} {.status.sourceVolumeID} {.status.allowedOperations}")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(HavePrefix("Available " + sourceDisk))
	g.Expect(out).To(ContainSubstring("Rollback"))
}

func applySamplesAgain(t *testing.T) {
	g := NewWithT(t)
	// The cache behind the webhook may lag the snapshot's phase for a moment.
	g.Eventually(func() (string, error) { return kubectl("apply", "-k", "config/samples") }).
		WithTimeout(30 * time.Second).WithPolling(time.Second).Should(Not(ContainSubstring("Error")))

	out, err := kubectl("get", "-k", "config/samples", "-o", "name")
	g.Expect(err).NotTo(HaveOccurred(), out)
	names := strings.Fields(out)
	g.Expect(names).To(ContainElement("evssnapshot.evs.storage.dev/db-nightly"))
	out, err = kubectl(append([]string{"wait", "--for=condition=Ready", "--timeout=90s"}, names...)...)
	g.Expect(err).NotTo(HaveOccurred(), out)
}

func rollBack(t *testing.T) {
	g := NewWithT(t)
	out, err := kubectl("patch", "evssnapshot", "db-nightly", "--type", "merge",
		"-p", `{"spec":{"rollback":{"requestID":"e2e-1"}}}`)
	g.Expect(err).NotTo(HaveOccurred(), out)
	out, err = kubectl("wait", "--for=jsonpath={.status.lastRollback.requestID}=e2e-1", "--timeout=60s",
		"evssnapshot/db-nightly")
	g.Expect(err).NotTo(HaveOccurred(), out)
	out, err = kubectl("wait", "--for=jsonpath={.status.lastRollback.state}=Succeeded", "--timeout=90s",
		"evssnapshot/db-nightly")
	g.Expect(err).NotTo(HaveOccurred(), out)
	out, err = kubectl("wait", "--for=condition=Ready", "--timeout=60s", "evssnapshot/db-nightly")
	g.Expect(err).NotTo(HaveOccurred(), out)
}

func refuseRollbackOntoAnotherDisk(t *testing.T) {
	g := NewWithT(t)
	out, err := kubectl("patch", "evssnapshot", "db-nightly", "--type", "merge",
		"-p", `{"spec":{"rollback":{"requestID":"e2e-2","volumeID":"`+otherDisk+`"}}}`)
	g.Expect(err).To(HaveOccurred(), out)
	g.Expect(out).To(ContainSubstring("EVSSnapshot default/db-nightly"))
	g.Expect(out).To(ContainSubstring("rolls back only onto its source disk " + sourceDisk))

	out, err = kubectl("get", "evssnapshot", "db-nightly", "-o", "jsonpath={.spec.rollback.requestID}")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(Equal("e2e-1"), "the refused change must not be stored")
}

func refuseDeletingCreatingSnapshot(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	control := simulator.NewControl(stack.simulatorURL)

	// Slow creation down, so the new snapshot stays Creating while the test tries to delete it.
	g.Expect(control.SetTimings(ctx, simulator.Timings{SnapshotCreate: 10 * time.Minute})).To(Succeed())
	t.Cleanup(func() { _ = control.SetTimings(ctx, simulator.Timings{SnapshotCreate: simTiming}) })

	const manifest = `apiVersion: evs.storage.dev/v1alpha1
kind: EVSSnapshot
metadata:
  name: e2e-slow
spec:
  source:
    volumeID: ` + otherDisk + "\n"
	path := filepath.Join(t.TempDir(), "e2e-slow.yaml")
	g.Expect(os.WriteFile(path, []byte(manifest), 0o600)).To(Succeed())
	out, err := kubectl("apply", "-f", path)
	g.Expect(err).NotTo(HaveOccurred(), out)
	out, err = kubectl("wait", "--for=jsonpath={.status.phase}=Creating", "--timeout=60s",
		"evssnapshot/e2e-slow")
	g.Expect(err).NotTo(HaveOccurred(), out)

	out, err = kubectl("delete", "evssnapshot", "e2e-slow", "--wait=false")
	g.Expect(err).To(HaveOccurred(), out)
	g.Expect(out).To(ContainSubstring(
		"EVSSnapshot default/e2e-slow is Creating: delete is not allowed in this phase (allowed: none)"))
	out, err = kubectl("get", "evssnapshot", "e2e-slow", "-o", "jsonpath={.metadata.deletionTimestamp}")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(BeEmpty(), "the refused delete must not start a deletion")

	// Let the cloud finish the snapshot, so that it can be deleted with the rest.
	id, err := kubectl("get", "evssnapshot", "e2e-slow", "-o", "jsonpath={.status.snapshotID}")
	g.Expect(err).NotTo(HaveOccurred(), id)
	g.Expect(id).NotTo(BeEmpty())
	_, err = control.SetSnapshotStatus(ctx, id, "available")
	g.Expect(err).NotTo(HaveOccurred())
	out, err = kubectl("wait", "--for=condition=Ready", "--timeout=60s", "evssnapshot/e2e-slow")
	g.Expect(err).NotTo(HaveOccurred(), out)
}

func deleteEverything(t *testing.T) {
	g := NewWithT(t)
	// Disks first: a snapshot with a disk still being made from it may not be deleted.
	out, err := kubectl("delete", "evsvolumes", "--all", "--timeout=90s")
	g.Expect(err).NotTo(HaveOccurred(), out)
	out, err = kubectl("delete", "evssnapshots", "--all", "--timeout=90s")
	g.Expect(err).NotTo(HaveOccurred(), out)
	out, err = kubectl("get", "evs", "-o", "name")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(strings.TrimSpace(out)).To(BeEmpty())
}

func cloudIsClean(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	control := simulator.NewControl(stack.simulatorURL)

	made := func(metadata map[string]string) bool {
		_, ok := metadata[controllers.CloudUIDMetadataKey]
		return ok
	}
	snapshots, err := control.Snapshots(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	for _, s := range snapshots {
		g.Expect(made(s.Metadata)).To(BeFalse(),
			"snapshot %s (%s, %s) made by the operator is left", s.ID, s.Name, s.Status)
	}
	volumes, err := control.Volumes(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	for _, v := range volumes {
		g.Expect(made(v.Metadata)).To(BeFalse(),
			"disk %s (%s, %s) made by the operator is left", v.ID, v.Name, v.Status)
	}
	g.Expect(volumes).To(HaveLen(3), "only the simulator's three seed disks")
}

// operatorWasNotForbidden reads the operator's log: the local stack runs it as a user bound only to
// the generated manager-role, so a permission its markers lack shows up there as a refusal.
func operatorWasNotForbidden(t *testing.T) {
	g := NewWithT(t)
	data, err := os.ReadFile(filepath.Join(stack.dir, "evs-operator.log"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(data)).To(ContainSubstring("Starting manager"))
	g.Expect(string(data)).NotTo(ContainSubstring(`User "evs-operator" cannot`))
}
