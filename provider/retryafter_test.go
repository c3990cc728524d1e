package provider_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/backupflow/backupflow/provider"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	httpDate := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	cases := []struct {
		value string
		want  time.Duration
		ok    bool
	}{
		// delay-seconds
		{"7", 7 * time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"0", 0, true},
		{"007", 7 * time.Second, true},
		{"1.5", 1500 * time.Millisecond, true},
		// HTTP-date, in the preferred and the two obsolete forms
		{httpDate(30 * time.Second), 30 * time.Second, true},
		{now.Add(90 * time.Second).Format(time.RFC850), 90 * time.Second, true},
		{now.Add(5 * time.Second).Format(time.ANSIC), 5 * time.Second, true},
		{httpDate(-time.Minute), 0, true}, // passed: try now
		{httpDate(0), 0, true},
		// refused
		{"", 0, false},
		{"   ", 0, false},
		{"soon", 0, false},
		{"-3", 0, false},
		{"+3", 0, false},
		{"-0.5", 0, false},
		{"1e3", 0, false},
		{"0x10", 0, false},
		{"NaN", 0, false},
		{"Inf", 0, false},
		{"1.", 0, false},
		{".5", 0, false},
		{"1 2", 0, false},
		{"5s", 0, false},
		{"99999999999999999999", 0, false}, // longer than any time.Duration
		{"2026-01-02T03:04:35Z", 0, false}, // RFC 3339 is not an HTTP-date
	}
	for _, c := range cases {
		got, ok := provider.ParseRetryAfter(c.value, now)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", c.value, got, ok, c.want, c.ok)
		}
	}
}
