package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/plan"
)

// fixtureNow is the clock of the status and report fixtures.
var fixtureNow = ts("2026-12-03T08:00:00Z")

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func tp(s string) *time.Time { t := ts(s); return &t }

func memoryRequest(t *testing.T, resource string) backup.Request {
	t.Helper()
	req, err := backup.NewRequest(&backup.MemoryCreate{Target: resource, Name: resource + "-${date}"})
	require.NoError(t, err)
	return req
}

// fixturePlans is two applied plans: nightly (orders, breached since a
// day's RPO passed after its last good backup; users, without RPO) and
// broken (one target whose inventory cannot be read).
func fixturePlans(t *testing.T) []planRead {
	t.Helper()
	none := plan.Duration(0)
	nightly := &plan.Description{
		Name: "nightly", ScheduleID: plan.ScheduleID("nightly"), CreatedAt: ts("2026-11-01T00:00:00Z"),
		NextRuns: []time.Time{ts("2026-12-04T02:00:00Z"), ts("2026-12-05T02:00:00Z")},
		Plan: &plan.Plan{Name: "nightly", RPO: plan.Duration(plan.Day), Targets: []plan.Target{
			{Name: "orders", Request: memoryRequest(t, "orders-db")},
			{Name: "users", Request: memoryRequest(t, "users-db"), RPO: &none},
		}},
		Inventories: []plan.TargetInventory{
			{Target: "orders", Inventory: &plan.Inventory{
				Plan: "nightly", Target: "orders", Since: ts("2026-11-01T02:00:00Z"), RPO: plan.Duration(plan.Day),
				Entries: []plan.Entry{
					{ScheduledAt: ts("2026-11-30T02:00:00Z"), Outcome: plan.OutcomeSucceeded, Kind: backup.KindCreate, Provider: "memory", Resource: "orders-db",
						BackupID: "b-1", BackupName: "orders-1130", CreateTime: tp("2026-11-30T02:05:00Z"),
						DeletedAt: tp("2026-12-02T03:00:00Z"), DeletedReason: "not kept by keepLast 1 | keepLastGood 1"},
					{ScheduledAt: ts("2026-12-01T02:00:00Z"), Outcome: plan.OutcomeSucceeded, Kind: backup.KindCreate, Provider: "memory", Resource: "orders-db",
						BackupID: "b-2", BackupName: "orders-1201", CreateTime: tp("2026-12-01T02:05:00Z")},
					{ScheduledAt: ts("2026-12-01T02:00:00Z"), Outcome: plan.OutcomeSucceeded, Kind: backup.KindCopy, Provider: "memory", Resource: "orders-db",
						BackupID: "c-2", CreateTime: tp("2026-12-01T02:30:00Z")},
					{ScheduledAt: ts("2026-12-02T02:00:00Z"), Outcome: plan.OutcomeFailed, Kind: backup.KindCreate, Provider: "memory", Resource: "orders-db",
						Failure: "disk full,\nretry later"},
					{ScheduledAt: ts("2026-12-03T02:00:00Z"), Outcome: plan.OutcomeMissed, Kind: backup.KindCreate, Provider: "memory", Resource: "orders-db",
						Failure: "not started within the start window"},
				},
				Holds: []plan.Hold{
					{BackupID: "b-2", By: "alice", Reason: "legal hold", At: ts("2026-12-01T10:00:00Z")},
					{By: "bob", Reason: "audit", At: ts("2026-12-02T00:00:00Z")},
				},
				Breaches: []plan.Breach{
					{Since: ts("2026-11-10T03:00:00Z"), Until: tp("2026-11-10T09:30:00Z"), LastGood: tp("2026-11-09T02:05:00Z"), RPO: plan.Duration(plan.Day)},
					{Since: ts("2026-12-02T02:05:00Z"), LastGood: tp("2026-12-01T02:05:00Z"), RPO: plan.Duration(plan.Day)},
				},
			}},
			{Target: "users", Inventory: &plan.Inventory{
				Plan: "nightly", Target: "users", Since: ts("2026-11-01T02:00:00Z"),
				Entries: []plan.Entry{
					{ScheduledAt: ts("2026-12-03T02:00:00Z"), Outcome: plan.OutcomeSucceeded, Kind: backup.KindCreate, Provider: "memory", Resource: "users-db",
						BackupID: "u-1", CreateTime: tp("2026-12-03T02:01:00Z")},
				},
			}},
		},
	}
	broken := &plan.Description{
		Name: "broken", ScheduleID: plan.ScheduleID("broken"), Paused: true, Note: "migration",
		Plan: &plan.Plan{Name: "broken", RPO: plan.Duration(2 * plan.Day), Targets: []plan.Target{{Name: "billing", Request: memoryRequest(t, "billing-db")}}},
		Inventories: []plan.TargetInventory{
			{Target: "billing", Error: "query inventory plan-inventory/broken/billing (is a worker running?): context deadline exceeded"},
		},
	}
	return []planRead{{name: "broken", desc: broken}, {name: "nightly", desc: nightly}}
}

// tableRows splits tabwriter output into rows of cells (cells are
// separated by two or more spaces).
func tableRows(text string) [][]string {
	var rows [][]string
	sep := regexp.MustCompile(`\s{2,}`)
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		rows = append(rows, sep.Split(strings.TrimSpace(line), -1))
	}
	return rows
}

func local(s string) string { return ts(s).Local().Format(time.RFC3339) }

func statusText(r *StatusReport) string {
	var b strings.Builder
	r.writeText(&b)
	return b.String()
}

func TestStatusBreachedFirstAndExitCode(t *testing.T) {
	rep := buildStatus(fixturePlans(t), fixtureNow)
	assert.Equal(t, ExitBreached, rep.exitCode(), "a breach wins over an unknown state")
	assert.Equal(t, StatusSummary{Targets: 3, Met: 0, Breached: 1, None: 1, Unknown: 1}, rep.Summary)

	rows := tableRows(statusText(rep))
	require.Len(t, rows, 6, statusText(rep))
	assert.Equal(t, []string{"PLAN", "TARGET", "RESOURCE", "RPO", "RPO STATE", "LAST GOOD", "AGE", "LAST RUN", "NEXT RUN", "PAUSED", "HOLDS", "KEPT"}, rows[0])
	assert.Equal(t, []string{"nightly", "orders", "memory/orders-db", "1d", "BREACHED since " + local("2026-12-02T02:05:00Z"),
		"b-2 " + local("2026-12-01T02:05:00Z"), "2d5h55m", "missed " + local("2026-12-03T02:00:00Z"), local("2026-12-04T02:00:00Z"),
		"no", "2 (alice, bob)", "1 + 1 copy"}, rows[1], "the breached target comes first")
	assert.Equal(t, []string{"broken", "billing", "memory/billing-db", "2d", "unknown", "?", "?", "?", "-", "yes", "?", "?"}, rows[2])
	assert.Equal(t, []string{"nightly", "users", "memory/users-db", "none", "none", "u-1 " + local("2026-12-03T02:01:00Z"), "5h59m",
		"succeeded " + local("2026-12-03T02:00:00Z"), local("2026-12-04T02:00:00Z"), "no", "0", "1"}, rows[3])
	assert.Equal(t, "3 targets: 0 met, 1 breached, 1 without RPO, 1 unknown", strings.Join(rows[4], "  "))
	assert.Equal(t, "plan broken target billing: inventory unreadable: query inventory plan-inventory/broken/billing (is a worker running?): context deadline exceeded", strings.Join(rows[5], "  "))

	assert.Equal(t, "plan nightly target orders: RPO 1d breached since 2026-12-02T02:05:00Z\n"+
		"plan broken target billing: RPO state unknown: query inventory plan-inventory/broken/billing (is a worker running?): context deadline exceeded",
		rep.errorText(), "breaches first")
}

func TestStatusJSONDocument(t *testing.T) {
	rep := buildStatus(fixturePlans(t), fixtureNow)
	var b bytes.Buffer
	require.NoError(t, writeJSON(&b, rep))
	assert.JSONEq(t, `{
	  "now": "2026-12-03T08:00:00Z",
	  "plans": [
	    {"plan": "broken", "scheduleId": "backupflow-plan-broken", "paused": true, "note": "migration",
	     "targets": [
	       {"target": "billing", "provider": "memory", "resource": "billing-db", "rpo": "2d", "rpoState": "unknown",
	        "holds": {"count": 0, "by": []}, "kept": {"create": 0, "copy": 0}, "inventory": "unreadable",
	        "error": "query inventory plan-inventory/broken/billing (is a worker running?): context deadline exceeded"}
	     ]},
	    {"plan": "nightly", "scheduleId": "backupflow-plan-nightly", "paused": false, "nextRun": "2026-12-04T02:00:00Z",
	     "targets": [
	       {"target": "orders", "provider": "memory", "resource": "orders-db", "rpo": "1d", "rpoState": "breached",
	        "breachedSince": "2026-12-02T02:05:00Z",
	        "lastGood": {"backupId": "b-2", "backupName": "orders-1201", "createTime": "2026-12-01T02:05:00Z", "ageSeconds": 194100, "age": "2d5h55m"},
	        "lastRun": {"outcome": "missed", "scheduledAt": "2026-12-03T02:00:00Z", "failure": "not started within the start window"},
	        "holds": {"count": 2, "by": ["alice", "bob"]}, "kept": {"create": 1, "copy": 1}, "inventory": "ok"},
	       {"target": "users", "provider": "memory", "resource": "users-db", "rpo": "none", "rpoState": "none",
	        "lastGood": {"backupId": "u-1", "createTime": "2026-12-03T02:01:00Z", "ageSeconds": 21540, "age": "5h59m"},
	        "lastRun": {"outcome": "succeeded", "scheduledAt": "2026-12-03T02:00:00Z"},
	        "holds": {"count": 0, "by": []}, "kept": {"create": 1, "copy": 0}, "inventory": "ok"}
	     ]}
	  ],
	  "summary": {"targets": 3, "met": 0, "breached": 1, "none": 1, "unknown": 1},
	  "exitCode": 6
	}`, b.String())
}

func TestStatusMetExitsZero(t *testing.T) {
	reads := fixturePlans(t)[1:] // nightly only
	// A day earlier, before the open breach, orders' last good backup was within its RPO.
	inv := reads[0].desc.Inventories[0].Inventory
	inv.Breaches = inv.Breaches[:1]
	rep := buildStatus(reads, ts("2026-12-01T12:00:00Z"))
	assert.Equal(t, ExitOK, rep.exitCode(), rep.errorText())
	orders := rep.Plans[0].Targets[0]
	assert.Equal(t, RPOStateMet, orders.RPOState)
	assert.Equal(t, tp("2026-12-02T02:05:00Z"), orders.BreachAt, "met until a day after the last good backup")
	assert.Nil(t, orders.BreachedSince)
	assert.Empty(t, rep.errorText())
	assert.Equal(t, "met", tableRows(statusText(rep))[1][4])

	// The inventory has not recorded a breach (its worker is down), but the deadline passed: breached.
	rep = buildStatus(reads, ts("2026-12-02T02:05:00Z"))
	assert.Equal(t, ExitBreached, rep.exitCode())
	assert.Equal(t, tp("2026-12-02T02:05:00Z"), rep.Plans[0].Targets[0].BreachedSince)
}

func TestStatusUnreadableExitsSeven(t *testing.T) {
	rep := buildStatus(fixturePlans(t)[:1], fixtureNow)
	assert.Equal(t, ExitUnknown, rep.exitCode())
	assert.Contains(t, rep.errorText(), "plan broken target billing: RPO state unknown: query inventory")

	// A plan that cannot be described, or whose applied plan cannot be read, is unknown too.
	rep = buildStatus([]planRead{
		{name: "gone", err: errors.New("describe schedule backupflow-plan-gone: unavailable")},
		{name: "odd", desc: &plan.Description{Name: "odd", PlanError: "decode: bad payload"}},
	}, fixtureNow)
	assert.Equal(t, ExitUnknown, rep.exitCode())
	assert.Equal(t, 2, rep.Summary.Unknown)
	assert.Equal(t, "plan gone: RPO state unknown: describe schedule backupflow-plan-gone: unavailable\n"+
		"plan odd: RPO state unknown: the applied plan is unreadable: decode: bad payload", rep.errorText())
	rows := tableRows(statusText(rep))
	assert.Equal(t, []string{"gone", "-", "-", "-", "unknown", "-", "-", "-", "-", "no", "-", "-"}, rows[1])
}

func TestStatusWithoutAnInventory(t *testing.T) {
	d := &plan.Description{
		Name: "fresh", CreatedAt: ts("2026-12-01T00:00:00Z"),
		Plan:        &plan.Plan{Name: "fresh", RPO: plan.Duration(36 * time.Hour), Targets: []plan.Target{{Name: "orders", Request: memoryRequest(t, "orders-db")}}},
		Inventories: []plan.TargetInventory{{Target: "orders"}},
	}
	rep := buildStatus([]planRead{{name: "fresh", desc: d}}, ts("2026-12-01T06:00:00Z"))
	assert.Equal(t, ExitOK, rep.exitCode())
	o := rep.Plans[0].Targets[0]
	assert.Equal(t, InventoryNone, o.Inventory)
	assert.Equal(t, "memory", o.Provider)
	assert.Equal(t, "orders-db", o.Resource, "named by the applied plan's request")
	assert.Equal(t, tp("2026-12-02T12:00:00Z"), o.BreachAt, "the RPO counts from the schedule's creation")
	assert.Equal(t, "met (no run yet)", tableRows(statusText(rep))[1][4])

	// A plan that never ran breaches its RPO too: a monitoring check does not pass forever.
	rep = buildStatus([]planRead{{name: "fresh", desc: d}}, ts("2026-12-02T12:00:00Z"))
	assert.Equal(t, ExitBreached, rep.exitCode())
	assert.Equal(t, tp("2026-12-02T12:00:00Z"), rep.Plans[0].Targets[0].BreachedSince)
}

func TestStatusNoPlans(t *testing.T) {
	rep := buildStatus(nil, fixtureNow)
	assert.Equal(t, ExitOK, rep.exitCode())
	assert.Equal(t, "no plans applied\n", statusText(rep))
	var b bytes.Buffer
	require.NoError(t, writeJSON(&b, rep))
	var doc map[string]any
	require.NoError(t, json.Unmarshal(b.Bytes(), &doc))
	assert.Equal(t, []any{}, doc["plans"], "plans is a list, never null")
}

func TestStatusBadInputExitsTwoWithoutDialling(t *testing.T) {
	code, _, errOut := run(t, nil, nil, "status", "nightly")
	assert.Equal(t, ExitBadInput, code)
	assert.Contains(t, errOut, `unexpected argument "nightly": name a plan with --plan`)
	code, _, errOut = run(t, nil, nil, "status", "--output", "yaml")
	assert.Equal(t, ExitBadInput, code)
	assert.Contains(t, errOut, "--output: must be text or json")
	code, out, _ := run(t, nil, nil, "status", "--help")
	assert.Equal(t, ExitOK, code)
	assert.Contains(t, out, "-plan")
}

func TestAgeText(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                  "0s",
		42*time.Second + time.Millisecond:  "42s",
		90*time.Minute + 30*time.Second:    "1h30m",
		50*time.Hour + 7*time.Minute + 5e9: "2d2h7m",
	} {
		assert.Equal(t, want, ageText(d), d)
	}
}

func TestUsageDocumentsStatusAndReport(t *testing.T) {
	code, out, _ := run(t, nil, nil, "--help")
	assert.Equal(t, ExitOK, code)
	for _, want := range []string{"backupflow status   [--plan <plan>]", "backupflow report   --since <30d|time>",
		"6  status: a target's RPO is breached", "7  status: no RPO is breached but a target's state is unknown"} {
		assert.Contains(t, out, want)
	}
	code, out, _ = run(t, nil, nil, "report", "--help")
	assert.Equal(t, ExitOK, code)
	for _, flag := range []string{"-since", "-until", "-plan", "-format", "-out"} {
		assert.Contains(t, out, flag)
	}
}
