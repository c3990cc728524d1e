package plan_test

import (
	"errors"
	"testing"
	"time"

	"github.com/backupflow/backupflow/plan"
)

// FuzzDurationRoundTrip: every duration a plan can hold reads back from
// the form it is written in.
func FuzzDurationRoundTrip(f *testing.F) {
	for _, d := range []time.Duration{0, time.Nanosecond, 1500 * time.Millisecond, 90 * time.Minute, 36 * time.Hour, 7 * plan.Day, 1<<63 - 1} {
		f.Add(int64(d))
	}
	f.Fuzz(func(t *testing.T, n int64) {
		if n < 0 {
			n = -(n + 1)
		}
		d := plan.Duration(n)
		back, err := plan.ParseDuration(d.String())
		if err != nil || back != d {
			t.Fatalf("%d written as %q reads back as %d, %v", n, d.String(), back, err)
		}
	})
}

// FuzzParse: any input is a File or errors that name a path; never a panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte(nightlyYAML))
	f.Add([]byte(`{"version":1,"plans":[{"name":"a","targets":[{"request":{"provider":"spanner","x":1}}]}]}`))
	f.Add([]byte("version: 1\nplans: [{retention: {maxAge: 1d1h}}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := plan.Parse(data)
		if err != nil {
			var pathErr *plan.PathError
			if !errors.As(err, &pathErr) {
				t.Fatalf("an error without a path: %v", err)
			}
			return
		}
		_ = file.Validate(nil) // must not panic either
	})
}
