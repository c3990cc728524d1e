package plan

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/backupflow/backupflow/internal/strictparse"
)

// Day is the "d" of a Duration: 24 hours. Plan durations count days as
// fixed lengths of time; the calendar (and its daylight saving changes)
// matters only to the daily, weekly, monthly and yearly retention rules.
const Day = 24 * time.Hour

const durationForm = `a duration such as "7d", "36h", "90m" or "1d12h"`

// ParseDuration reads a plan file's duration: whole days ("7d"), a Go
// duration ("36h", "90m", "1h30m"), or days followed by a Go duration
// ("1d12h"). "0" is zero. Negative durations are refused.
func ParseDuration(s string) (Duration, error) {
	in := s
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("is empty; write %s", durationForm)
	}
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("%q is negative; durations must be 0 or more", in)
	}
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseUint(s[:i], 10, 32)
		if err != nil || strings.HasPrefix(s[:i], "+") {
			return 0, fmt.Errorf("%q is not %s: the days before \"d\" must be a whole number", in, durationForm)
		}
		if n > uint64(maxDuration/Day) {
			return 0, fmt.Errorf("%q is too long: at most %d days", in, maxDuration/Day)
		}
		days = time.Duration(n) * Day
		s = s[i+1:]
		if s == "" {
			return Duration(days), nil
		}
	}
	rest, err := time.ParseDuration(s)
	if err != nil || strings.HasPrefix(s, "+") {
		return 0, fmt.Errorf("%q is not %s", in, durationForm)
	}
	if rest < 0 {
		return 0, fmt.Errorf("%q is negative; durations must be 0 or more", in)
	}
	if rest > maxDuration-days {
		return 0, fmt.Errorf("%q is too long: at most %d days", in, maxDuration/Day)
	}
	return Duration(days + rest), nil
}

const maxDuration = time.Duration(1<<63 - 1)

// String writes d as ParseDuration reads it, in days and the Go units below
// a day: "7d", "1d12h", "90m" reads "1h30m", zero reads "0s".
func (d Duration) String() string {
	v := time.Duration(d)
	if v < 0 {
		return time.Duration(v).String()
	}
	days := v / Day
	rest := v % Day
	var b strings.Builder
	if days > 0 {
		fmt.Fprintf(&b, "%dd", days)
	}
	if rest == 0 {
		if days == 0 {
			return "0s"
		}
		return b.String()
	}
	if rest%time.Second != 0 {
		b.WriteString(rest.String())
		return b.String()
	}
	// Go writes "12h0m0s"; the zero units add nothing.
	for _, u := range []struct {
		unit   time.Duration
		suffix string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := rest / u.unit; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.suffix)
			rest -= n * u.unit
		}
	}
	return b.String()
}

// Std is d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// MarshalJSON writes the readable form (String).
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a string in ParseDuration's form. The bare number 0
// is also zero (YAML's "jitter: 0"); any other number is refused because
// it has no unit.
func (d *Duration) UnmarshalJSON(b []byte) error {
	text := strings.TrimSpace(string(b))
	switch {
	case text == "null":
		return nil
	case text == "0":
		*d = 0
		return nil
	case !strings.HasPrefix(text, `"`):
		var number float64
		if json.Unmarshal(b, &number) == nil {
			return fmt.Errorf("%s has no unit; write %s", text, durationForm)
		}
		return fmt.Errorf("must be %s, got %s", durationForm, strictparse.Kind(b))
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("must be %s", durationForm)
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
