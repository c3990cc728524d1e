package plan_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/plan"
)

func spannerRequest(section string) backup.Request {
	return backup.Request{Provider: backup.ProviderSpanner, Section: json.RawMessage(section)}
}

func TestExpandReplacesPlaceholdersInStringValues(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	// 01:30 in Berlin is still the previous day in UTC: the placeholders are UTC.
	at := time.Date(2026, 3, 1, 0, 30, 5, 0, berlin)
	vars := plan.Vars{Plan: "nightly", Target: "orders", ScheduledAt: at,
		ExpireTime: at.Add(7 * plan.Day), Backup: "orders-20260228"}

	for _, tc := range []struct {
		name, section, want string
	}{
		{
			name:    "every placeholder",
			section: `{"a":"${plan}","b":"${target}","c":"${date}","d":"${time}","e":"${unix}","f":"${expireTime}","g":"${backup}"}`,
			want:    `{"a":"nightly","b":"orders","c":"20260228","d":"20260228-233005","e":"1772321405","f":"2026-03-07T23:30:05Z","g":"orders-20260228"}`,
		},
		{
			name:    "nested, in lists, several in one string",
			section: `{"backup":{"tags":["${plan}/${target}","x"],"name":"${target}-${time}-${target}"}}`,
			want:    `{"backup":{"tags":["nightly/orders","x"],"name":"orders-20260228-233005-orders"}}`,
		},
		{
			name:    "keys, numbers, booleans and nulls are left alone",
			section: `{"${plan}":"${plan}","n":12345678901234567890,"f":1.50,"b":true,"z":null}`,
			want:    `{"${plan}":"nightly","n":12345678901234567890,"f":1.50,"b":true,"z":null}`,
		},
		{
			name:    "a dollar that opens no placeholder",
			section: `{"price":"$5 {not one}"}`,
			want:    `{"price":"$5 {not one}"}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := plan.Expand(spannerRequest(tc.section), vars)
			require.NoError(t, err)
			assert.Equal(t, backup.ProviderSpanner, out.Provider)
			assert.JSONEq(t, tc.want, string(out.Section))
		})
	}
	// Large numbers keep every digit (JSONEq above would compare them as float64).
	out, err := plan.Expand(spannerRequest(`{"n":12345678901234567891,"s":"${plan}"}`), vars)
	require.NoError(t, err)
	assert.Equal(t, `{"n":12345678901234567891,"s":"nightly"}`, string(out.Section))
}

func TestExpandLeavesASectionWithoutPlaceholdersAsItIs(t *testing.T) {
	section := `{ "parent" : "projects/p/instances/i",   "backupId": "fixed" }`
	req := spannerRequest(section)
	req.Unknown = map[string]json.RawMessage{"typo": json.RawMessage(`1`)}
	out, err := plan.Expand(req, plan.Vars{})
	require.NoError(t, err)
	assert.Equal(t, section, string(out.Section))
	assert.Equal(t, req.Unknown, out.Unknown, "unknown keys survive for validation to report")
}

func TestExpandNamesEveryBadPlaceholder(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	section := `{"a":"${plan}-${hour}","b":{"c":["${expireTime}"]},"d":"${backup}","e":"${date","f":"${Plan}"}`
	_, err := plan.Expand(spannerRequest(section), plan.Vars{Plan: "p", Target: "t", ScheduledAt: at})
	require.Error(t, err)
	assert.Equal(t, []string{
		"spanner.a: unknown placeholder ${hour}; known: ${plan}, ${target}, ${date}, ${time}, ${unix}, ${expireTime}, ${backup}",
		"spanner.b.c[0]: ${expireTime} needs a time-based retention rule (daily, weekly, monthly, yearly or maxAge); keepLast and keepLastGood set no expiry",
		"spanner.d: ${backup} is only known in a copy request (the ID of the backup the run just made)",
		`spanner.e: "${date" opens a placeholder that is never closed with }`,
		"spanner.f: unknown placeholder ${Plan}; known: ${plan}, ${target}, ${date}, ${time}, ${unix}, ${expireTime}, ${backup}",
	}, problems(err))

	_, err = plan.Expand(spannerRequest(`{"a":"${date}"}`), plan.Vars{Plan: "p"})
	require.EqualError(t, err, "spanner.a: ${date} needs the run's scheduled time, and none is set")
}

func TestHorizon(t *testing.T) {
	for _, tc := range []struct {
		name  string
		r     plan.Retention
		every time.Duration
		want  time.Duration
	}{
		{"count rules only", plan.Retention{KeepLast: 30, KeepLastGood: 3}, plan.Day, 0},
		{"maxAge", plan.Retention{MaxAge: plan.Duration(36 * time.Hour), KeepLastGood: 1}, time.Hour, 36 * time.Hour},
		{"daily", plan.Retention{Daily: 7}, 0, 7 * plan.Day},
		{"daily with runs every 3 days", plan.Retention{Daily: 7}, 3 * plan.Day, 21 * plan.Day},
		{"daily with hourly runs", plan.Retention{Daily: 7}, time.Hour, 7 * plan.Day},
		{"weekly", plan.Retention{Daily: 7, Weekly: 4}, plan.Day, 28 * plan.Day},
		{"monthly", plan.Retention{Daily: 7, Weekly: 4, Monthly: 12}, plan.Day, 372 * plan.Day},
		{"yearly", plan.Retention{Monthly: 12, Yearly: 2, MaxAge: plan.Duration(plan.Day)}, plan.Day, 732 * plan.Day},
		{"maxAge beyond the periods", plan.Retention{Daily: 2, MaxAge: plan.Duration(30 * plan.Day)}, plan.Day, 30 * plan.Day},
		{"saturates instead of overflowing", plan.Retention{Yearly: 1 << 40}, 0, time.Duration(1<<63 - 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.r.Horizon(tc.every))
		})
	}
}

func TestVarsForTakeExpiryFromTheRightRetention(t *testing.T) {
	at := time.Date(2026, 5, 1, 2, 0, 0, 0, time.UTC)
	target := plan.Target{Name: "orders", Copy: &plan.Copy{Retention: plan.Retention{Monthly: 3, KeepLastGood: 1}}}
	p := plan.Plan{
		Name:      "nightly",
		Schedule:  plan.Schedule{Cron: "0 2 * * sun"}, // weekly runs: daily 7 keeps 7 weeks
		Retention: plan.Retention{Daily: 7, KeepLastGood: 1},
		Targets:   []plan.Target{target},
	}

	assert.Equal(t, plan.Vars{Plan: "nightly", Target: "orders", ScheduledAt: at, ExpireTime: at.Add(49 * plan.Day)},
		p.VarsFor("orders", at))
	assert.Equal(t, plan.Vars{Plan: "nightly", Target: "orders", ScheduledAt: at, ExpireTime: at.Add(93 * plan.Day), Backup: "b-1"},
		p.CopyVarsFor(target, at, "b-1"))

	p.Retention = plan.Retention{KeepLast: 7, KeepLastGood: 1}
	assert.True(t, p.VarsFor("orders", at).ExpireTime.IsZero(), "count rules set no expiry")
}
