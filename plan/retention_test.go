package plan_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/plan"
)

func berlin(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	return loc
}

// good is a succeeded create at, with a backup ID naming its time.
func good(at time.Time) plan.Entry {
	return plan.Entry{ScheduledAt: at, Outcome: plan.OutcomeSucceeded, Kind: backup.KindCreate,
		Provider: backup.ProviderMemory, Resource: "orders-db", BackupID: "b-" + at.UTC().Format("20060102-1504")}
}

func failed(at time.Time, backupID string) plan.Entry {
	return plan.Entry{ScheduledAt: at, Outcome: plan.OutcomeFailed, Kind: backup.KindCreate,
		Provider: backup.ProviderMemory, Resource: "orders-db", BackupID: backupID, Failure: "the provider failed the backup"}
}

// kept lists the IDs of the kept backups, in decision order.
func kept(decisions []plan.Decision) []string {
	var ids []string
	for _, d := range decisions {
		if !d.Delete {
			ids = append(ids, d.BackupID)
		}
	}
	return ids
}

func reasons(decisions []plan.Decision) map[string]string {
	m := map[string]string{}
	for _, d := range decisions {
		verdict := "keep"
		if d.Delete {
			verdict = "delete"
		}
		m[d.BackupID] = verdict + ": " + d.Reason
	}
	return m
}

// TestDecideAYearOfDailyBackups runs retention over a year of daily
// backups at 02:00 in Berlin, across both daylight saving changes, and
// compares the kept set with one found another way: walking the calendar
// back from now, day by day, Monday by Monday and month by month, and
// taking the newest backup inside each period's bounds.
func TestDecideAYearOfDailyBackups(t *testing.T) {
	loc := berlin(t)
	var entries []plan.Entry
	for day := time.Date(2025, 1, 1, 0, 0, 0, 0, loc); day.Year() == 2025; day = day.AddDate(0, 0, 1) {
		// 2025-03-30 02:00 does not exist in Berlin; Go moves it to 03:00.
		entries = append(entries, good(time.Date(day.Year(), day.Month(), day.Day(), 2, 0, 0, 0, loc)))
	}
	require.Len(t, entries, 365)
	now := time.Date(2025, 12, 31, 3, 0, 0, 0, loc)
	r := plan.Retention{Daily: 7, Weekly: 4, Monthly: 12, KeepLastGood: 1}

	decisions := plan.Decide(entries, nil, r, loc, now)
	require.Len(t, decisions, 365)

	// newestIn is the newest entry in [from, to), or "".
	newestIn := func(from, to time.Time) string {
		id := ""
		for _, e := range entries {
			if !e.ScheduledAt.Before(from) && e.ScheduledAt.Before(to) {
				id = e.BackupID
			}
		}
		return id
	}
	want := map[string]bool{}
	walk := func(n int, start time.Time, step func(time.Time, int) time.Time) {
		for found, back := 0, 0; found < n && back < 400; back++ {
			if id := newestIn(step(start, -back), step(start, -back+1)); id != "" {
				want[id] = true
				found++
			}
		}
	}
	today := time.Date(2025, 12, 31, 0, 0, 0, 0, loc)
	monday := today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
	first := time.Date(2025, 12, 1, 0, 0, 0, 0, loc)
	walk(7, today, func(t time.Time, n int) time.Time { return t.AddDate(0, 0, n) })
	walk(4, monday, func(t time.Time, n int) time.Time { return t.AddDate(0, 0, 7*n) })
	walk(12, first, func(t time.Time, n int) time.Time { return t.AddDate(0, n, 0) })
	want[entries[len(entries)-1].BackupID] = true // the floor

	var wantIDs []string
	for _, e := range entries {
		if want[e.BackupID] {
			wantIDs = append(wantIDs, e.BackupID)
		}
	}
	assert.Equal(t, wantIDs, kept(decisions))

	// And spelled out: the last day of each month (February's the 28th),
	// the Sundays ending ISO weeks 2025-W50 and W51 (W52 ends on the 28th,
	// and 2025-12-31 is in 2026-W01), and the last seven days. 02:00 in
	// Berlin is 01:00 UTC in winter and 00:00 UTC in summer.
	assert.Equal(t, []string{
		"b-20250131-0100", "b-20250228-0100", "b-20250331-0000", "b-20250430-0000", "b-20250531-0000",
		"b-20250630-0000", "b-20250731-0000", "b-20250831-0000", "b-20250930-0000", "b-20251031-0100",
		"b-20251130-0100", "b-20251214-0100", "b-20251221-0100",
		"b-20251225-0100", "b-20251226-0100", "b-20251227-0100", "b-20251228-0100", "b-20251229-0100",
		"b-20251230-0100", "b-20251231-0100",
	}, kept(decisions))

	why := reasons(decisions)
	assert.Equal(t, "keep: floor: the last good backup; daily: newest of 2025-12-31; weekly: newest of 2026-W01; monthly: newest of 2025-12", why["b-20251231-0100"])
	assert.Equal(t, "keep: daily: newest of 2025-12-28; weekly: newest of 2025-W52", why["b-20251228-0100"])
	assert.Equal(t, "keep: monthly: newest of 2025-03", why["b-20250331-0000"])
	assert.Equal(t, "delete: no rule keeps it: not the last good backup; not the newest of one of the last 7 days with a good backup (daily); "+
		"not the newest of one of the last 4 ISO weeks with a good backup (weekly); not the newest of one of the last 12 months with a good backup (monthly); not held",
		why["b-20251224-0100"])
}

// TestDecideCountsPeriodsInTheTimeZone: 00:30 in Berlin is the previous
// day in UTC, so the month a backup belongs to depends on loc.
func TestDecideCountsPeriodsInTheTimeZone(t *testing.T) {
	loc := berlin(t)
	entries := []plan.Entry{
		good(time.Date(2026, 3, 30, 0, 30, 0, 0, loc)),
		good(time.Date(2026, 3, 31, 0, 30, 0, 0, loc)),
		good(time.Date(2026, 4, 1, 0, 30, 0, 0, loc)), // 2026-03-31 22:30 UTC
	}
	r := plan.Retention{Monthly: 2, KeepLastGood: 1}
	now := time.Date(2026, 4, 2, 0, 0, 0, 0, loc)
	assert.Equal(t, []string{"b-20260330-2230", "b-20260331-2230"}, kept(plan.Decide(entries, nil, r, loc, now)),
		"in Berlin: the newest of March and of April")
	assert.Equal(t, []string{"b-20260331-2230"}, kept(plan.Decide(entries, nil, r, time.UTC, now)),
		"in UTC: all three are in March, and no earlier month has a backup")
	assert.Equal(t, kept(plan.Decide(entries, nil, r, time.UTC, now)), kept(plan.Decide(entries, nil, r, nil, now)), "nil is UTC")
}

// TestDecideFloorOutlastsFailures: every run fails for 30 days; maxAge
// alone would delete every backup, but the floor keeps the last good ones.
func TestDecideFloorOutlastsFailures(t *testing.T) {
	start := time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC)
	var entries []plan.Entry
	for d := range 10 {
		entries = append(entries, good(start.AddDate(0, 0, d)))
	}
	for d := 10; d < 40; d++ {
		at := start.AddDate(0, 0, d)
		id := "" // most failed runs made nothing ...
		if d%10 == 0 {
			id = "partial-" + at.Format("0102") // ... some left a failed backup behind
		}
		entries = append(entries, failed(at, id))
	}
	now := start.AddDate(0, 0, 40)

	r := plan.Retention{MaxAge: plan.Duration(7 * plan.Day), KeepLastGood: 3}
	decisions := plan.Decide(entries, nil, r, time.UTC, now)
	require.Len(t, decisions, 13, "10 good backups and 3 failed ones with an ID; failed runs without one get no decision")
	assert.Equal(t, []string{"b-20260108-0200", "b-20260109-0200", "b-20260110-0200"}, kept(decisions))
	why := reasons(decisions)
	assert.Equal(t, "keep: floor: one of the last 3 good backups", why["b-20260110-0200"])
	assert.Equal(t, "delete: no rule keeps it: not one of the last 3 good backups; 34d old, not younger than maxAge 7d; not held", why["b-20260107-0200"])
	assert.Equal(t, "delete: not a good backup (run failed), so no rule keeps it, and not held", why["partial-0111"])

	// Days are counted among those with a good backup: daily 7 keeps the
	// last seven good days however long ago they were.
	r = plan.Retention{Daily: 7, KeepLastGood: 1}
	assert.Equal(t, []string{"b-20260104-0200", "b-20260105-0200", "b-20260106-0200", "b-20260107-0200",
		"b-20260108-0200", "b-20260109-0200", "b-20260110-0200"}, kept(plan.Decide(entries, nil, r, time.UTC, now)))

	// Failed backups never take a place: keepLast 2 keeps the last two good ones.
	r = plan.Retention{KeepLast: 2, KeepLastGood: 1}
	assert.Equal(t, []string{"b-20260109-0200", "b-20260110-0200"}, kept(plan.Decide(entries, nil, r, time.UTC, now)))
}

func TestDecideKeepsHeldBackupsWhateverTheRules(t *testing.T) {
	start := time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC)
	entries := []plan.Entry{good(start), failed(start.AddDate(0, 0, 1), "partial-1"), good(start.AddDate(0, 0, 2)), good(start.AddDate(0, 0, 3))}
	now := start.AddDate(1, 0, 0)
	r := plan.Retention{MaxAge: plan.Duration(plan.Day), KeepLast: 1, Daily: 1, Weekly: 1, Monthly: 1, Yearly: 1, KeepLastGood: 1}

	holds := []plan.Hold{
		{BackupID: "b-20260101-0200", By: "alice", Reason: "legal case 42", At: start},
		{BackupID: "partial-1", By: "bob", At: start},
		{BackupID: "not-in-the-inventory", By: "carol", Reason: "typo", At: start},
	}
	decisions := plan.Decide(entries, holds, r, time.UTC, now)
	assert.Equal(t, []string{"b-20260101-0200", "partial-1", "b-20260104-0200"}, kept(decisions))
	why := reasons(decisions)
	assert.Equal(t, "keep: held by alice: legal case 42", why["b-20260101-0200"])
	assert.Equal(t, "keep: held by bob", why["partial-1"])

	// A hold without a backup ID holds the whole target.
	all := []plan.Hold{{By: "dora", Reason: "audit", At: start}}
	decisions = plan.Decide(entries, all, r, time.UTC, now)
	assert.Equal(t, []string{"b-20260101-0200", "partial-1", "b-20260103-0200", "b-20260104-0200"}, kept(decisions))
	assert.Equal(t, "keep: held with all of the target's backups by dora: audit", reasons(decisions)["b-20260103-0200"])
	assert.Equal(t, "keep: floor: the last good backup; keepLast: one of the 1 newest good backups; held with all of the target's backups by dora: audit; "+
		"daily: newest of 2026-01-04; weekly: newest of 2026-W01; monthly: newest of 2026-01; yearly: newest of 2026",
		reasons(decisions)["b-20260104-0200"])
}

func TestDecideOnlyTheFloor(t *testing.T) {
	start := time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC)
	var entries []plan.Entry
	for d := range 10 {
		entries = append(entries, good(start.AddDate(0, 0, d)))
	}
	decisions := plan.Decide(entries, nil, plan.Retention{KeepLastGood: 3}, time.UTC, start.AddDate(0, 0, 10))
	assert.Equal(t, []string{"b-20260108-0200", "b-20260109-0200", "b-20260110-0200"}, kept(decisions))
	assert.Equal(t, "delete: no rule keeps it: not one of the last 3 good backups; no other rule is set; not held", reasons(decisions)["b-20260101-0200"])

	// A retention without a floor (a Go caller's zero value) keeps at least the newest.
	assert.Equal(t, []string{"b-20260110-0200"}, kept(plan.Decide(entries, nil, plan.Retention{}, time.UTC, start)))
}

func TestDecideKeepLastAndMaxAge(t *testing.T) {
	start := time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC)
	var entries []plan.Entry
	for h := range 12 {
		entries = append(entries, good(start.Add(time.Duration(h)*time.Hour)))
	}
	now := start.Add(12 * time.Hour)
	decisions := plan.Decide(entries, nil, plan.Retention{KeepLast: 2, MaxAge: plan.Duration(5 * time.Hour), KeepLastGood: 1}, time.UTC, now)
	assert.Equal(t, []string{"b-20260101-1000", "b-20260101-1100", "b-20260101-1200", "b-20260101-1300"}, kept(decisions))
	why := reasons(decisions)
	assert.Equal(t, "keep: maxAge: 4h old, younger than 5h", why["b-20260101-1000"])
	assert.Equal(t, "keep: keepLast: one of the 2 newest good backups; maxAge: 2h old, younger than 5h", why["b-20260101-1200"])
	assert.Equal(t, "delete: no rule keeps it: not the last good backup; not one of the 2 newest (keepLast); 5h old, not younger than maxAge 5h; not held", why["b-20260101-0900"])
}

func TestDecideSkipsWhatHasNoBackupOrIsDeleted(t *testing.T) {
	start := time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC)
	deleted := good(start)
	gone := start.Add(time.Hour)
	deleted.DeletedAt = &gone
	missed := plan.Entry{ScheduledAt: start.Add(2 * time.Hour), Outcome: plan.OutcomeMissed, Kind: backup.KindCreate}
	conflict := plan.Entry{ScheduledAt: start.Add(3 * time.Hour), Outcome: plan.OutcomeConflict, Kind: backup.KindCreate}
	noBackup := failed(start.Add(4*time.Hour), "")

	assert.Empty(t, plan.Decide([]plan.Entry{deleted, missed, conflict, noBackup}, nil, plan.Retention{KeepLastGood: 1}, time.UTC, start))
	assert.Empty(t, plan.Decide(nil, nil, plan.Retention{KeepLastGood: 1}, time.UTC, start))
}

func TestDecideIsDeterministic(t *testing.T) {
	start := time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC)
	var entries []plan.Entry
	for d := range 30 {
		e := good(start.AddDate(0, 0, d/2)) // two backups per scheduled time
		e.BackupID = fmt.Sprintf("b-%02d", 29-d)
		if d%7 == 3 {
			e.Outcome = plan.OutcomeCancelled
		}
		entries = append(entries, e)
	}
	r := plan.Retention{Daily: 3, Weekly: 2, KeepLastGood: 2}
	now := start.AddDate(0, 1, 0)
	want := plan.Decide(entries, nil, r, time.UTC, now)
	for range 20 {
		shuffled := slices.Clone(entries)
		// A fixed permutation per round: reverse, then rotate.
		slices.Reverse(shuffled)
		entries = append(entries[1:], entries[0])
		assert.Equal(t, want, plan.Decide(shuffled, nil, r, time.UTC, now))
	}
	// Decisions come in ScheduledAt order, ties by backup ID.
	assert.Equal(t, "b-28", want[0].BackupID)
	assert.Equal(t, "b-29", want[1].BackupID)
}

// TestDecideCopiesWithTheCopyRetention: a target's copies are decided in a
// call of their own, with the copy's retention.
func TestDecideCopiesWithTheCopyRetention(t *testing.T) {
	start := time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC)
	target := plan.Target{Name: "orders", Copy: &plan.Copy{Retention: plan.Retention{Monthly: 2, KeepLastGood: 1}}}
	var creates, copies []plan.Entry
	for d := range 70 {
		c := good(start.AddDate(0, 0, d))
		creates = append(creates, c)
		cp := c
		cp.Kind = backup.KindCopy
		cp.BackupID = "copy-" + c.BackupID
		copies = append(copies, cp)
	}
	now := start.AddDate(0, 0, 70)
	planRetention := plan.Retention{Daily: 3, KeepLastGood: 1}

	createDecisions := plan.Decide(creates, nil, planRetention, time.UTC, now)
	copyDecisions := plan.Decide(copies, nil, target.Copy.Retention, time.UTC, now)
	assert.Equal(t, []string{"b-20260309-0200", "b-20260310-0200", "b-20260311-0200"}, kept(createDecisions))
	assert.Equal(t, []string{"copy-b-20260228-0200", "copy-b-20260311-0200"}, kept(copyDecisions))
	for _, d := range copyDecisions {
		assert.Equal(t, backup.KindCopy, d.Kind)
	}
}

func TestLastGoodAndBreachAt(t *testing.T) {
	day := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	at := func(h int) *time.Time { x := day.Add(time.Duration(h) * time.Hour); return &x }
	inv := plan.Inventory{Since: day, RPO: plan.Duration(26 * time.Hour)}
	_, ok := (plan.Inventory{}).BreachAt()
	assert.False(t, ok, "no RPO, no breach")
	got, ok := inv.BreachAt()
	require.True(t, ok)
	assert.Equal(t, day.Add(26*time.Hour), got, "never a good backup: counted from the first record")

	inv.Entries = []plan.Entry{
		{ScheduledAt: day, Outcome: plan.OutcomeSucceeded, Kind: backup.KindCreate, BackupID: "b1", CreateTime: at(1)},
		{ScheduledAt: day.Add(24 * time.Hour), Outcome: plan.OutcomeSucceeded, Kind: backup.KindCreate, BackupID: "b2", CreateTime: at(25)},
		{ScheduledAt: day.Add(24 * time.Hour), Outcome: plan.OutcomeSucceeded, Kind: backup.KindCopy, BackupID: "c2", CreateTime: at(26)},
		{ScheduledAt: day.Add(48 * time.Hour), Outcome: plan.OutcomeFailed, Kind: backup.KindCreate, BackupID: "b3", CreateTime: at(49)},
	}
	require.NotNil(t, inv.LastGood())
	assert.Equal(t, "b2", inv.LastGood().BackupID, "the newest successful create: copies and failed runs do not count")
	got, _ = inv.BreachAt()
	assert.Equal(t, at(25).Add(26*time.Hour), got)

	inv.Entries[1].MissingSince = at(30)
	assert.Equal(t, "b1", inv.LastGood().BackupID, "a backup missing from the provider's listing is not counted")
	inv.Entries[0].DeletedAt = at(31)
	assert.Nil(t, inv.LastGood())
	assert.False(t, inv.Breached())
	inv.Breaches = []plan.Breach{{Since: *at(51)}}
	assert.True(t, inv.Breached())
}

func TestRPOStateEqual(t *testing.T) {
	at := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	later := at.Add(time.Hour)
	sameInstant := at.In(time.FixedZone("x", 3600))
	a := plan.RPOState{Provider: "memory", Resource: "db", RPO: plan.Duration(time.Hour), LastGood: &at}
	b := a
	b.LastGood = &sameInstant
	assert.True(t, a.Equal(b), "the same instant in another zone")
	b.LastGood = &later
	assert.False(t, a.Equal(b))
	b = a
	b.BreachedSince = &later
	assert.False(t, a.Equal(b))
	b = a
	b.LastGood = nil
	assert.False(t, a.Equal(b))
	b = a
	b.RPO = plan.Duration(2 * time.Hour)
	assert.False(t, a.Equal(b))
}
