package plan

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	schedulepb "go.temporal.io/api/schedule/v1"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/service/worker/scheduler"
)

func (c cronSpec) matchesDay(d time.Time) bool {
	return c.matches(d.Day(), int(d.Month()), int(d.Weekday()))
}

// next is the first run after t (UTC), found by walking days: the test's
// reading of cronSpec, compared below with the Temporal server's own.
func (c cronSpec) next(t time.Time) time.Time {
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	for range 5 * 366 {
		if c.matchesDay(day) {
			for _, m := range c.minutesOfDay() {
				if at := day.Add(time.Duration(m) * time.Minute); at.After(t) {
					return at
				}
			}
		}
		day = day.AddDate(0, 0, 1)
	}
	return time.Time{}
}

// TestCronMatchesTemporalSchedules compares the first runs of every
// accepted expression with those of the Temporal server's schedule spec:
// what Validate accepts, Temporal runs at the same times.
func TestCronMatchesTemporalSchedules(t *testing.T) {
	builder := scheduler.NewSpecBuilder(dynamicconfig.GetIntPropertyFn(0), dynamicconfig.GetIntPropertyFn(0))
	for _, expr := range []string{
		"0 2 * * *",
		"*/15 * * * *",
		"5,35 */6 * * *",
		"0 3 * * mon-fri",
		"0 3 * * MON,wed,Fri",
		"30 1 1 * *",
		"0 0 1 jan,jul *",
		"0 4 * * sun",
		"0 4 * * 7",
		"0 4 * * 5-7",
		"0 4 * * 1-7/2",
		"10/20 8-18/5 * * *",
		"0 0 29 feb *",
		"0 12 13 * fri",
		"0 6 1-7 * monday",
		"59 23 31 dec *",
		"0 0 * february-april *",
	} {
		t.Run(expr, func(t *testing.T) {
			ours, err := parseCron(expr)
			require.NoError(t, err)
			spec, err := builder.NewCompiledSpec(&schedulepb.ScheduleSpec{CronString: []string{expr}})
			require.NoError(t, err, "Temporal refuses an expression Validate accepts")
			at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			for range 40 {
				theirs, err := spec.GetNextTime("", at)
				require.NoError(t, err)
				if theirs.Nominal.IsZero() {
					break // past the last year Temporal schedules
				}
				want := theirs.Nominal.UTC()
				require.Equal(t, want, ours.next(at), "first run after %s", at)
				at = want
			}
		})
	}
}

func TestCronRefusesWhatItCannotReadStrictly(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{"0 2 * *", `"0 2 * *" has 4 fields; cron needs 5 fields`},
		{"0 0 2 * * *", "has 6 fields"},
		{"@daily", "has 1 fields"},
		{"CRON_TZ=UTC 0 2 * * *", "has 6 fields"},
		{"60 2 * * *", `minute field "60": 60 is out of range 0-59`},
		{"0 24 * * *", `hour field "24": 24 is out of range 0-23`},
		{"0 2 0 * *", `day-of-month field "0": 0 is out of range 1-31`},
		{"0 2 * 13 *", `month field "13": 13 is out of range 1-12`},
		{"0 2 * * 8", `day-of-week field "8": 8 is out of range 0-7`},
		{"0 2 * foo *", `"foo" is neither a number 1-12 nor a name (jan, feb,`},
		{"0 2 * * fr", `"fr" is neither a number 0-7 nor a name (sun, mon,`},
		{"0 2 * * 5-1", `range "5-1" ends before it starts`},
		{"*/0 * * * *", `step "0" must be a number from 1 to 60`},
		{"*/x * * * *", `step "x" must be a number`},
		{"1,,2 * * * *", "has an empty list item"},
		{"-1 * * * *", `"-1" is not a number 0-59 or a range a-b`},
		{"+1 * * * *", `"+1" is not a number 0-59`},
		{"1-2-3 * * * *", `"1-2-3" is not a number 0-59 or a range a-b`},
		{"0 2 30 feb *", "matches no date"},
		{"0 2 31 apr,jun *", "matches no date"},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			_, err := parseCron(tc.expr)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestLongestGap(t *testing.T) {
	for _, tc := range []struct {
		schedule Schedule
		want     time.Duration
	}{
		{Schedule{Every: Duration(6 * time.Hour)}, 6 * time.Hour},
		{Schedule{Cron: "0 2 * * *"}, Day},
		{Schedule{Cron: "0 2,14 * * *"}, 12 * time.Hour},
		{Schedule{Cron: "0 1,2 * * *"}, 23 * time.Hour},
		{Schedule{Cron: "*/15 * * * *"}, 15 * time.Minute},
		{Schedule{Cron: "0 3 * * mon-fri"}, 3 * Day},
		{Schedule{Cron: "0 3 * * sun"}, 7 * Day},
		{Schedule{Cron: "0 0 1 * *"}, 31 * Day},
		{Schedule{Cron: "0 0 31 * *"}, 61 * Day},            // May 31 to Jul 31, Aug 31 to Oct 31
		{Schedule{Cron: "0 0 29 feb *"}, (4*365 + 1) * Day}, // leap day to leap day, 1901-2099
		{Schedule{Cron: "0 0 13 * fri"}, 427 * Day},         // Friday the 13th: Jul 2001 to Sep 2002
		{Schedule{Cron: "not cron"}, 0},
	} {
		t.Run(tc.schedule.Cron+tc.schedule.Every.String(), func(t *testing.T) {
			assert.Equal(t, tc.want, tc.schedule.LongestGap())
		})
	}
}
