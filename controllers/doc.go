// Package controllers reconciles EVSSnapshot and EVSVolume objects against the EVS cloud.
package controllers

import "time"

const (
	// Finalizer holds an object until its cloud resource is deleted or released.
	Finalizer = "evs.storage.dev/finalizer"

	// CloudUIDMetadataKey is the cloud metadata key that carries the owning object's UID. It lets
	// the operator find a snapshot it created when the create response was lost.
	CloudUIDMetadataKey = "evs-operator-uid"

	// DefaultPollInterval is how often resources in a moving phase are checked.
	DefaultPollInterval = 5 * time.Second
	// DefaultResyncPeriod is how often settled resources are checked.
	DefaultResyncPeriod = 10 * time.Minute
)

// StatusSync says how the controller learns of cloud status changes.
type StatusSync string

const (
	// StatusSyncBatched lets one poller list the cloud's snapshots page by page and wake only the
	// objects whose cloud state changed.
	StatusSyncBatched StatusSync = "batched"
	// StatusSyncPerObject reads each object's snapshot with its own call on every poll.
	StatusSyncPerObject StatusSync = "per-object"
)
