package huaweicloud

import (
	"fmt"
	"strings"
	"time"

	"github.com/backupflow/backupflow/provider"
)

// timeLayouts are the forms the family writes times in: the documented
// "yyyy-mm-ddThh:mm:ssZ" with a numeric zone ("2020-07-07T01:17:05+0800"),
// RFC 3339, and OTC's zone-less example ("2016-09-12T01:17:05", read as UTC).
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

// ClockSkew is how much earlier than the workflow's start a backup may appear
// to begin and still be the workflow's own: provider timestamps have
// one-second precision and the provider's clock is not the worker's.
const ClockSkew = time.Minute

// Ours decides whether a backup found by name belongs to owner. Neither API
// stores a caller token on a backup, so the rule is: the request names the
// backup (the name is user-given and fixed for the workflow), the listing was
// made on the request's instance, and the backup began no earlier than the
// workflow started, less ClockSkew. A same-name backup that began before is
// somebody else's (or an earlier run's) and is never adopted.
func Ours(beginTime string, owner provider.Owner) bool {
	begin, err := ParseTime(beginTime)
	if err != nil {
		return false
	}
	if owner.StartedAt.IsZero() {
		return false
	}
	return !begin.Before(owner.StartedAt.Add(-ClockSkew))
}
