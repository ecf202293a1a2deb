package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	evsv1alpha1 "github.com/evs-operator/evs-operator/api/v1alpha1"
	"github.com/evs-operator/evs-operator/controllers"
	"github.com/evs-operator/evs-operator/internal/simulator"
	"github.com/evs-operator/evs-operator/internal/stack"
)

const (
	snapshots    = 60
	disks        = 6
	minRestarts  = 5
	suiteTimeout = 10 * time.Minute
)

// role is what the suite does with a snapshot once it is Available.
type role int

const (
	keep role = iota
	rollback
	remove
	restore
)

func (r role) String() string {
	return [...]string{"keep", "rollback", "delete", "restore"}[r]
}

// TestChaos creates 60 snapshots on several disks, rolls some back, deletes some and makes disks
// from some, while the cloud throttles, fails and loses responses after committing, and the
// operator is killed and restarted at random moments. Replay a run with EVS_CHAOS_SEED.
func TestChaos(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("EVS_CHAOS_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("EVS_CHAOS_SEED: %v", err)
		}
	}
	t.Logf("chaos seed %d; replay with EVS_CHAOS_SEED=%d", seed, seed)
	fmt.Printf("chaos seed %d; replay with EVS_CHAOS_SEED=%d\n", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := NewWithT(t)
	ctx, cancel := context.WithTimeout(context.Background(), suiteTimeout)
	defer cancel()

	s, err := stack.Start(ctx, stack.Options{
		Root: root, Assets: os.Getenv("KUBEBUILDER_ASSETS"), Operator: operator, Namespace: "chaos",
		Timings: simulator.Timings{
			SnapshotCreate: time.Second, SnapshotDelete: time.Second, Rollback: 1500 * time.Millisecond,
			VolumeCreate: time.Second, VolumeDelete: time.Second,
		},
	})
	g.Expect(err).NotTo(HaveOccurred())
	defer s.Stop()
	t.Logf("operator logs in %s", s.Dir)
	g.Expect(s.StartOperator(ctx, "--poll-interval", "300ms", "--resync-period", "5s",
		"--cloud-qps", "40", "--cloud-burst", "40")).To(Succeed())

	d := &driver{t: t, s: s, ctx: ctx, rng: rng}
	d.addDisks()
	d.misbehave()

	// The operator is killed and restarted at random moments until the work is done, at least
	// minRestarts times.
	var restarts atomic.Int32
	chaosDone := make(chan struct{})
	stopChaos := make(chan struct{})
	delays := make([]time.Duration, 64)
	for i := range delays {
		delays[i] = time.Duration(2000+rng.IntN(6000)) * time.Millisecond
	}
	go func() {
		defer close(chaosDone)
		for i := 0; ; i++ {
			select {
			case <-stopChaos:
				return
			case <-time.After(delays[i%len(delays)]):
			}
			s.KillOperator()
			restarts.Add(1)
			if err := s.StartOperator(ctx); err != nil {
				t.Errorf("restarting the operator: %v", err)
				return
			}
		}
	}()

	d.createSnapshots()
	d.actOnAvailable()
	g.Eventually(restarts.Load).WithContext(ctx).WithTimeout(5 * time.Minute).
		Should(BeNumerically(">=", minRestarts))
	close(stopChaos)
	<-chaosDone
	t.Logf("operator restarted %d times", restarts.Load())

	// The cloud calms down; everything must reach its final state and stay there.
	g.Expect(s.Control.ClearFaults(ctx)).To(Succeed())
	g.Expect(s.Control.SetRateLimit(ctx, 0)).To(Succeed())
	d.waitForFinalState()
	d.checkCloud()
	d.checkLogs()
}

type driver struct {
	t     *testing.T
	s     *stack.Stack
	ctx   context.Context
	rng   *rand.Rand
	disks []string
	roles map[string]role
	uids  map[string]string // object name to UID
	acted map[string]bool
}

func (d *driver) addDisks() {
	g := NewWithT(d.t)
	for i := range disks {
		v, err := d.s.Control.AddVolume(d.ctx, simulator.Volume{Name: fmt.Sprintf("chaos-%d", i), SizeGiB: 10})
		g.Expect(err).NotTo(HaveOccurred())
		d.disks = append(d.disks, v.ID)
	}
}

// misbehave makes the cloud throttle, fail a few percent of calls, and lose the responses of
// creates, deletes and rollbacks after committing them.
func (d *driver) misbehave() {
	g := NewWithT(d.t)
	g.Expect(d.s.Control.SetRateLimit(d.ctx, 60)).To(Succeed())
	faults := []simulator.Fault{
		{Operation: simulator.OperationAny, HTTPStatus: 429, Probability: 0.05},
		{Operation: simulator.OperationAny, HTTPStatus: 500, Probability: 0.03},
	}
	for _, op := range []string{simulator.OperationCreateSnapshot, simulator.OperationDeleteSnapshot,
		simulator.OperationRollbackSnapshot, simulator.OperationCreateVolume} {
		faults = append(faults, simulator.Fault{Operation: op, HTTPStatus: 500, Probability: 0.25, AfterCommit: true})
	}
	for _, f := range faults {
		g.Expect(d.s.Control.InjectFault(d.ctx, f)).To(Succeed())
	}
}

// retry repeats a call to the API server, which refuses requests while the operator (and so the
// webhook) is down between a kill and a restart.
func (d *driver) retry(what string, call func() error) {
	d.t.Helper()
	NewWithT(d.t).Eventually(call).WithContext(d.ctx).WithTimeout(2*time.Minute).
		WithPolling(200*time.Millisecond).Should(Succeed(), what)
}

func (d *driver) createSnapshots() {
	d.roles, d.uids, d.acted = map[string]role{}, map[string]string{}, map[string]bool{}
	for i := range snapshots {
		name := fmt.Sprintf("snap-%02d", i)
		d.roles[name] = role(d.rng.IntN(4))
		obj := &evsv1alpha1.EVSSnapshot{
			ObjectMeta: metav1.ObjectMeta{Namespace: d.s.Namespace, Name: name},
			Spec: evsv1alpha1.EVSSnapshotSpec{
				Source: evsv1alpha1.SnapshotSource{VolumeID: d.disks[i%disks]},
			},
		}
		d.retry("creating "+name, func() error {
			err := d.s.Client.Create(d.ctx, obj.DeepCopy())
			if apierrors.IsAlreadyExists(err) {
				return nil
			}
			return err
		})
	}
}

// actOnAvailable gives each snapshot its role's operation once it is Available, until all
// have had theirs.
func (d *driver) actOnAvailable() {
	g := NewWithT(d.t)
	g.Eventually(func(g Gomega) {
		list := &evsv1alpha1.EVSSnapshotList{}
		g.Expect(d.s.Client.List(d.ctx, list, client.InNamespace(d.s.Namespace))).To(Succeed())
		for i := range list.Items {
			obj := &list.Items[i]
			d.uids[obj.Name] = string(obj.UID)
			if d.acted[obj.Name] || obj.Status.Phase != evsv1alpha1.PhaseAvailable {
				continue
			}
			if d.act(obj) == nil {
				d.acted[obj.Name] = true
			}
		}
		g.Expect(d.acted).To(HaveLen(snapshots))
	}).WithContext(d.ctx).WithTimeout(6 * time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
}

func (d *driver) act(obj *evsv1alpha1.EVSSnapshot) error {
	switch d.roles[obj.Name] {
	case rollback:
		patch := client.RawPatch("application/merge-patch+json",
			fmt.Appendf(nil, `{"spec":{"rollback":{"requestID":"rb-%s"}}}`, obj.Name))
		return d.s.Client.Patch(d.ctx, obj, patch)
	case remove:
		return client.IgnoreNotFound(d.s.Client.Delete(d.ctx, obj))
	case restore:
		vol := &evsv1alpha1.EVSVolume{
			ObjectMeta: metav1.ObjectMeta{Namespace: d.s.Namespace, Name: "disk-" + obj.Name},
			Spec: evsv1alpha1.EVSVolumeSpec{
				Source: evsv1alpha1.VolumeSource{SnapshotRef: &evsv1alpha1.SnapshotReference{Name: obj.Name}},
			},
		}
		err := d.s.Client.Create(d.ctx, vol)
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	default:
		return nil
	}
}

// waitForFinalState waits until every object is where its role leaves it.
func (d *driver) waitForFinalState() {
	NewWithT(d.t).Eventually(func(g Gomega) {
		list := &evsv1alpha1.EVSSnapshotList{}
		g.Expect(d.s.Client.List(d.ctx, list, client.InNamespace(d.s.Namespace))).To(Succeed())
		live := map[string]*evsv1alpha1.EVSSnapshot{}
		for i := range list.Items {
			live[list.Items[i].Name] = &list.Items[i]
		}
		for name, r := range d.roles {
			obj := live[name]
			if r == remove {
				g.Expect(obj).To(BeNil(), "%s should be gone (finalizers %v)", name, finalizers(obj))
				continue
			}
			g.Expect(obj).NotTo(BeNil(), name)
			g.Expect(obj.Status.Phase).To(Equal(evsv1alpha1.PhaseAvailable), name)
			g.Expect(meta.IsStatusConditionTrue(obj.Status.Conditions, evsv1alpha1.ConditionReady)).To(BeTrue(), name)
			if r == rollback {
				g.Expect(obj.Status.LastRollback).NotTo(BeNil(), name)
				g.Expect(obj.Status.LastRollback.RequestID).To(Equal("rb-"+name), name)
				g.Expect(obj.Status.LastRollback.State).To(Equal(evsv1alpha1.RollbackSucceeded), name)
			}
		}
		vols := &evsv1alpha1.EVSVolumeList{}
		g.Expect(d.s.Client.List(d.ctx, vols, client.InNamespace(d.s.Namespace))).To(Succeed())
		g.Expect(vols.Items).To(HaveLen(d.count(restore)))
		for _, v := range vols.Items {
			g.Expect(meta.IsStatusConditionTrue(v.Status.Conditions, evsv1alpha1.ConditionReady)).
				To(BeTrue(), "%s is %s", v.Name, v.Status.Phase)
		}
	}).WithContext(d.ctx).WithTimeout(4 * time.Minute).WithPolling(time.Second).Should(Succeed())
}

// checkCloud compares the simulator with the objects: one snapshot per live EVSSnapshot, none
// for a deleted one or a stranger, each rollback run once, one disk per EVSVolume.
func (d *driver) checkCloud() {
	g := NewWithT(d.t)
	cloudSnaps, err := d.s.Control.Snapshots(d.ctx)
	g.Expect(err).NotTo(HaveOccurred())
	byUID := map[string][]simulator.Snapshot{}
	for _, sn := range cloudSnaps {
		if uid := sn.Metadata[controllers.CloudUIDMetadataKey]; uid != "" {
			byUID[uid] = append(byUID[uid], sn)
		}
	}
	known := map[string]bool{}
	for name, r := range d.roles {
		uid := d.uids[name]
		known[uid] = true
		own := byUID[uid]
		if r == remove {
			g.Expect(own).To(BeEmpty(), "deleted %s left cloud snapshots", name)
			continue
		}
		g.Expect(own).To(HaveLen(1), "cloud snapshots of %s", name)
		wantRollbacks := 0
		if r == rollback {
			wantRollbacks = 1
		}
		g.Expect(own[0].Rollbacks).To(Equal(wantRollbacks), "rollbacks run for %s", name)
	}
	for uid, own := range byUID {
		g.Expect(known[uid]).To(BeTrue(), "cloud snapshots %v belong to no object", own)
	}

	vols := &evsv1alpha1.EVSVolumeList{}
	g.Expect(d.s.Client.List(d.ctx, vols, client.InNamespace(d.s.Namespace))).To(Succeed())
	disksByUID := map[string]int{}
	cloudDisks, err := d.s.Control.Volumes(d.ctx)
	g.Expect(err).NotTo(HaveOccurred())
	for _, v := range cloudDisks {
		if uid := v.Metadata[controllers.CloudUIDMetadataKey]; uid != "" {
			disksByUID[uid]++
		}
	}
	for _, v := range vols.Items {
		g.Expect(disksByUID[string(v.UID)]).To(Equal(1), "disks of %s", v.Name)
	}
	g.Expect(disksByUID).To(HaveLen(len(vols.Items)), "disks made by the operator")
}

func (d *driver) checkLogs() {
	for _, path := range d.s.OperatorLogs() {
		data, err := os.ReadFile(path)
		NewWithT(d.t).Expect(err).NotTo(HaveOccurred())
		if strings.Contains(string(data), "panic") {
			d.t.Errorf("operator log %s mentions a panic:\n%s", path, data)
		}
	}
}

func (d *driver) count(r role) int {
	n := 0
	for _, got := range d.roles {
		if got == r {
			n++
		}
	}
	return n
}

func finalizers(obj *evsv1alpha1.EVSSnapshot) []string {
	if obj == nil {
		return nil
	}
	return obj.Finalizers
}
