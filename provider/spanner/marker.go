package spanner

import (
	"crypto/sha256"
	"encoding/binary"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/backupflow/backupflow/provider"
)

// A Spanner backup keeps no caller-set text (no labels, no description), so
// the owner's marker travels in the one caller-set value it stores as sent:
// the sub-second part of expire_time. Every create or copy sends expireTime
// cut to its second plus markerMicros(owner) microseconds, and a backup
// proves to be the owner's when its expire_time carries exactly that
// (docs/providers/spanner.md, "Ownership").

// markerMicros is the owner's marker as microseconds, 0 to 999999: the first
// four bytes of a SHA-256 of Owner.Marker, big-endian, modulo a million.
func markerMicros(o provider.Owner) int64 {
	sum := sha256.Sum256([]byte(o.Marker()))
	return int64(binary.BigEndian.Uint32(sum[:4]) % 1_000_000)
}

// markedExpire is the expireTime sent for the owner: t's whole second plus
// the owner's marker, so less than a second from t either way.
func markedExpire(t time.Time, o provider.Owner) time.Time {
	return t.UTC().Truncate(time.Second).Add(time.Duration(markerMicros(o)) * time.Microsecond)
}

// carriesMarker reports whether a backup's expire_time carries the owner's marker.
func carriesMarker(expire *timestamppb.Timestamp, o provider.Owner) bool {
	return expire != nil && int64(expire.GetNanos()) == markerMicros(o)*int64(time.Microsecond)
}

// whyNotOurs is the reason a backup without the owner's marker is not adopted.
const whyNotOurs = "its expire_time carries no backupflow marker of this workflow"
