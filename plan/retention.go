package plan

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Decide is retention: it returns one Decision for every entry that names a
// backup (BackupID set) not yet deleted (DeletedAt nil), ordered by
// ScheduledAt. Entries without a BackupID (runs that made nothing) get
// none: there is nothing to keep or delete.
//
// Decide takes one kind's entries: a target's creates with the plan's
// retention, or its copies with the copy's retention, in separate calls.
//
// Only succeeded entries are good backups, and only good backups count
// toward any rule: a failed, cancelled or expired run never pushes a good
// backup out of the last K, a day or a week. A backup is kept when
//   - it is one of the KeepLastGood most recent good backups (the floor;
//     below 1 counts as 1),
//   - a hold covers it (one on its BackupID, or one for the whole target),
//   - it is one of the KeepLast most recent good backups,
//   - it is the newest good backup of its day, ISO week, month or year (in
//     loc, nil meaning UTC) and that period is one of the last Daily,
//     Weekly, Monthly or Yearly periods that have a good backup (periods
//     without one are not counted, as in restic and borg), or
//   - it is younger than MaxAge at now.
//
// Every other backup is to be deleted; the reason says why no rule keeps
// it. With no rule but the floor, exactly the floor is kept. Time is the
// entry's ScheduledAt throughout, so decisions do not depend on how long a
// backup took.
func Decide(entries []Entry, holds []Hold, r Retention, loc *time.Location, now time.Time) []Decision {
	if loc == nil {
		loc = time.UTC
	}
	var backups []Entry
	for _, e := range entries {
		if e.BackupID != "" && e.DeletedAt == nil {
			backups = append(backups, e)
		}
	}
	slices.SortStableFunc(backups, func(a, b Entry) int {
		return cmp.Or(a.ScheduledAt.Compare(b.ScheduledAt), strings.Compare(a.Key(), b.Key()))
	})
	// Why each backup is kept, by index in backups.
	kept := make([][]string, len(backups))
	var goodNewestFirst []int
	for i := len(backups) - 1; i >= 0; i-- {
		if backups[i].Outcome.Good() {
			goodNewestFirst = append(goodNewestFirst, i)
		}
	}

	floor := max(r.KeepLastGood, 1)
	for n, i := range goodNewestFirst {
		if n < floor {
			kept[i] = append(kept[i], "floor: "+lastGood(floor))
		}
		if n < r.KeepLast {
			kept[i] = append(kept[i], fmt.Sprintf("keepLast: one of the %d newest good backups", r.KeepLast))
		}
	}
	for i := range backups {
		for _, h := range holds {
			if h.BackupID == backups[i].BackupID || h.BackupID == "" {
				kept[i] = append(kept[i], holdReason(h))
			}
		}
	}
	for _, p := range periodRules(r) {
		seen, last := 0, ""
		for _, i := range goodNewestFirst {
			key := p.key(backups[i].ScheduledAt.In(loc))
			if key == last {
				continue
			}
			last = key
			if seen++; seen > p.count {
				break
			}
			kept[i] = append(kept[i], fmt.Sprintf("%s: newest of %s", p.rule, key))
		}
	}
	if r.MaxAge > 0 {
		for _, i := range goodNewestFirst {
			if age := now.Sub(backups[i].ScheduledAt); age < r.MaxAge.Std() {
				kept[i] = append(kept[i], fmt.Sprintf("maxAge: %s old, younger than %s", roundAge(age), r.MaxAge))
			}
		}
	}

	decisions := make([]Decision, len(backups))
	for i, e := range backups {
		d := Decision{BackupID: e.BackupID, Kind: e.Kind, Reason: strings.Join(kept[i], "; ")}
		if len(kept[i]) == 0 {
			d.Delete = true
			d.Reason = deleteReason(e, r, now)
		}
		decisions[i] = d
	}
	return decisions
}

type periodRule struct {
	rule   string // the Retention field
	plural string // what the count counts
	count  int
	key    func(time.Time) string
}

func periodRules(r Retention) []periodRule {
	all := []periodRule{
		{"daily", "days", r.Daily, func(t time.Time) string { return t.Format("2006-01-02") }},
		{"weekly", "ISO weeks", r.Weekly, func(t time.Time) string {
			y, w := t.ISOWeek()
			return fmt.Sprintf("%d-W%02d", y, w)
		}},
		{"monthly", "months", r.Monthly, func(t time.Time) string { return t.Format("2006-01") }},
		{"yearly", "years", r.Yearly, func(t time.Time) string { return t.Format("2006") }},
	}
	return slices.DeleteFunc(all, func(p periodRule) bool { return p.count <= 0 })
}

func lastGood(k int) string {
	if k == 1 {
		return "the last good backup"
	}
	return fmt.Sprintf("one of the last %d good backups", k)
}

func holdReason(h Hold) string {
	what := "held"
	if h.BackupID == "" {
		what = "held with all of the target's backups"
	}
	if h.By != "" {
		what += " by " + h.By
	}
	if h.Reason != "" {
		what += ": " + h.Reason
	}
	return what
}

func deleteReason(e Entry, r Retention, now time.Time) string {
	if !e.Outcome.Good() {
		return fmt.Sprintf("not a good backup (run %s), so no rule keeps it, and not held", e.Outcome)
	}
	why := []string{"not " + lastGood(max(r.KeepLastGood, 1))}
	if r.KeepLast > 0 {
		why = append(why, fmt.Sprintf("not one of the %d newest (keepLast)", r.KeepLast))
	}
	for _, p := range periodRules(r) {
		why = append(why, fmt.Sprintf("not the newest of one of the last %d %s with a good backup (%s)", p.count, p.plural, p.rule))
	}
	if r.MaxAge > 0 {
		why = append(why, fmt.Sprintf("%s old, not younger than maxAge %s", roundAge(now.Sub(e.ScheduledAt)), r.MaxAge))
	}
	if len(why) == 1 {
		why = append(why, "no other rule is set")
	}
	return "no rule keeps it: " + strings.Join(why, "; ") + "; not held"
}

// roundAge drops what a human would not read in an age.
func roundAge(age time.Duration) Duration {
	if age >= time.Hour {
		return Duration(age.Truncate(time.Minute))
	}
	return Duration(age.Truncate(time.Second))
}
