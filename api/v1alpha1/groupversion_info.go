// Package v1alpha1 holds the evs.storage.dev/v1alpha1 API: EVSSnapshot, EVSVolume and the snapshot
// state table that every other part of the operator reads.
// +kubebuilder:object:generate=true
// +groupName=evs.storage.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of every kind in this package.
	GroupVersion = schema.GroupVersion{Group: "evs.storage.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the kinds of this package with a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the kinds of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(GroupVersion,
		&EVSSnapshot{}, &EVSSnapshotList{},
		&EVSVolume{}, &EVSVolumeList{},
	)
	metav1.AddToGroupVersion(scheme, GroupVersion)
	return nil
}
