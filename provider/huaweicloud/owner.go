package huaweicloud

import (
	"fmt"
	"strings"
	"time"

	"github.com/backupflow/backupflow/provider"
)

// timeLayouts are the forms the family writes times in: the documented
// "yyyy-mm-ddThh:mm:ssZ" with a numeric zone ("2020-07-07T01:17:05+0800"),
// RFC 3339, and OTC's zone-less example ("2016-09-12T01:17:05", read as UTC,
// a guess). Sources: the units and time zones sections of
// docs/providers/taurusdb.md and docs/providers/otcrds.md.
var timeLayouts = []string{
	"2006-01-02T15:04:05-0700",
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999-0700",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
}

// ParseTime reads a provider timestamp in any of the family's forms.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised time %q", s)
}

// ParseTimePtr is ParseTime returning nil for empty or unreadable values.
func ParseTimePtr(s string) *time.Time {
	if s == "" {
		return nil
	}
	t, err := ParseTime(s)
	if err != nil {
		return nil
	}
	return &t
}

// Ownership. A backup is the owner's when backupflow holds proof (see
// provider/ownership.go): the ID its own create returned, or the owner's
// marker in the backup's description, which both create APIs store. Name,
// instance and begin time are never proof.

// MarkerSeparator joins the request's description and the owner's marker.
const MarkerSeparator = " "

// MaxUserDescription is how long a request's description may be: backupflow
// appends MarkerSeparator and the owner's marker, and the whole must keep
// within the provider's MaxDescription.
const MaxUserDescription = MaxDescription - len(MarkerSeparator) - provider.MarkerLen

// MarkedDescription is the description backupflow sends with a create: the
// request's own (if any), then the owner's marker.
func MarkedDescription(description string, owner provider.Owner) string {
	if description == "" {
		return owner.Marker()
	}
	return description + MarkerSeparator + owner.Marker()
}

// Claim returns the Operation of b, a backup listed under the job's name on
// its instance, when b's description carries the owner's marker. Without it
// the backup is somebody else's for every purpose: NotOurs names it.
func (b BackupRef) Claim(providerName string, job provider.Job) (*provider.Operation, error) {
	if !job.Owner.HasMarker(b.Description) {
		return nil, NotOurs(providerName, b.ID, fmt.Sprintf(
			"it is named %q on instance %s, but its description carries no backupflow marker of this workflow", b.Name, b.InstanceID))
	}
	op := b.Operation(job.Kind)
	return &op, nil
}

// NotOurs is provider.NotOurs for backup id, found under the request's name,
// with the error on <provider>.name: another name is the way out.
func NotOurs(providerName, id, why string) *provider.Error {
	e := provider.NotOurs(providerName, []string{id}, why)
	e.Field = providerName + ".name"
	return e
}
