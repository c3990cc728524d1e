package provider

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Ownership is proven, never inferred. A backup is an owner's only when the
// driver holds one of two proofs:
//
//   - the ID the owner's own create call returned (an Operation recorded in
//     the workflow's history), or
//   - the owner's Marker, stored by the provider with the backup where the
//     API keeps caller-set data (a description, for example).
//
// A backup found where the owner's would be (the same name, the same
// instance, the same time) without proof is somebody else's for every
// purpose: it is never reported as the workflow's result and never deleted.
// Drivers say so with NotOurs; the cleanup report lists such backups as kept.
// Name and creation time alone are never proof: a person can make a
// same-name backup a second after the workflow started.

// MarkerPrefix starts every ownership marker.
const MarkerPrefix = "backupflow-"

// Marker is the token a driver stores with a backup (where the provider keeps
// caller-set data) to prove later that this owner made it: "backupflow-"
// and 20 hex digits of a hash of the workflow and run IDs. It reveals neither
// ID, fits every provider's description rules (letters, digits and "-"),
// and differs between two runs of the same workflow ID, so a second run never
// adopts the first run's backup.
func (o Owner) Marker() string {
	sum := sha256.Sum256([]byte(o.WorkflowID + "\x00" + o.RunID))
	return MarkerPrefix + hex.EncodeToString(sum[:10])
}

// MarkerLen is the length of every Marker.
const MarkerLen = len(MarkerPrefix) + 20

// HasMarker reports whether text (a description) carries o's marker.
func (o Owner) HasMarker(text string) bool { return strings.Contains(text, o.Marker()) }

// ReasonNotProven is the cleanup report's reason for a backup it kept.
const ReasonNotProven = "ownership not proven"

// NotOurs is the error for backups found where the owner's would be that
// carry no proof of being the owner's. It is AlreadyExists (not retried): the
// workflow fails naming them, and cleanup keeps them (Error.Unproven).
func NotOurs(providerName string, backupIDs []string, why string) *Error {
	return &Error{
		Class:    AlreadyExists,
		Provider: providerName,
		Unproven: backupIDs,
		Message: fmt.Sprintf("backup %s exists where this workflow's backup would be, but backupflow cannot prove it made it (%s); "+
			"it is not adopted and will not be deleted", strings.Join(backupIDs, ", "), why),
	}
}

// UnprovenOf returns the backups err names as found but not proven ours.
func UnprovenOf(err error) []string {
	var e *Error
	if errors.As(err, &e) {
		return e.Unproven
	}
	return nil
}
