package plan_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/plan"
)

func TestParseDurationAcceptsDaysAndGoDurations(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		text string // how it marshals back
	}{
		{"7d", 7 * plan.Day, "7d"},
		{"36h", 36 * time.Hour, "1d12h"},
		{"90m", 90 * time.Minute, "1h30m"},
		{"1d12h", 36 * time.Hour, "1d12h"},
		{"1d30m", plan.Day + 30*time.Minute, "1d30m"},
		{"2d1h2m3s", 2*plan.Day + time.Hour + 2*time.Minute + 3*time.Second, "2d1h2m3s"},
		{"0", 0, "0s"},
		{"0d", 0, "0s"},
		{"45s", 45 * time.Second, "45s"},
		{"1500ms", 1500 * time.Millisecond, "1.5s"},
		{"1d500ms", plan.Day + 500*time.Millisecond, "1d500ms"},
		{" 6h ", 6 * time.Hour, "6h"},
		{"366d", 366 * plan.Day, "366d"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			d, err := plan.ParseDuration(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, d.Std())
			assert.Equal(t, tc.text, d.String())

			// JSON round trip through the readable form.
			b, err := json.Marshal(d)
			require.NoError(t, err)
			assert.Equal(t, `"`+tc.text+`"`, string(b))
			var back plan.Duration
			require.NoError(t, json.Unmarshal(b, &back))
			assert.Equal(t, d, back)
		})
	}
}

func TestParseDurationRefusesNegativesAndJunk(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"-1h", `"-1h" is negative; durations must be 0 or more`},
		{"1d-2h", `"1d-2h" is negative`},
		{"", "is empty"},
		{"7", `"7" is not a duration such as "7d", "36h", "90m" or "1d12h"`},
		{"1.5d", "the days before \"d\" must be a whole number"},
		{"d", "the days before \"d\" must be a whole number"},
		{"+3h", `"+3h" is not a duration`},
		{"7days", `"7days" is not a duration`},
		{"1w", `"1w" is not a duration`},
		{"1d1d", `"1d1d" is not a duration`},
		{"99999999d", "is too long"},
		{"106751d23h59m", "is too long"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, err := plan.ParseDuration(tc.in)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestDurationJSON(t *testing.T) {
	for _, tc := range []struct {
		json    string
		want    time.Duration
		wantErr string
	}{
		{json: `"7d"`, want: 7 * plan.Day},
		{json: `0`, want: 0},
		{json: `null`, want: time.Hour}, // left as it was
		{json: `3600`, wantErr: "3600 has no unit"},
		{json: `true`, wantErr: `must be a duration such as "7d", "36h", "90m" or "1d12h", got true or false`},
		{json: `"-5m"`, wantErr: "is negative"},
		{json: `"soon"`, wantErr: `"soon" is not a duration`},
	} {
		t.Run(tc.json, func(t *testing.T) {
			d := plan.Duration(time.Hour)
			err := json.Unmarshal([]byte(tc.json), &d)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, d.Std())
		})
	}
}
