package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/backupflow/backupflow/backup"
)

// Vars are the values of one run's placeholders.
type Vars struct {
	// Plan and Target are the plan's and the target's names.
	Plan, Target string
	// ScheduledAt is the run's nominal time (Run.ScheduledAt).
	ScheduledAt time.Time
	// ExpireTime is ScheduledAt plus the retention's Horizon; zero when the
	// retention has no time-based rule.
	ExpireTime time.Time
	// Backup is, for a copy, the ID of the backup the run just made as the
	// provider gave it (Entry.BackupID), which is what the providers' copy
	// APIs take as their source: Spanner's is the full name
	// projects/<p>/instances/<i>/backups/<b>. Empty for a create.
	Backup string
}

// The placeholders a request's string values may hold.
const (
	PlaceholderPlan       = "${plan}"
	PlaceholderTarget     = "${target}"
	PlaceholderDate       = "${date}"       // ScheduledAt in UTC, 20060102
	PlaceholderTime       = "${time}"       // ScheduledAt in UTC, 20060102-150405
	PlaceholderUnix       = "${unix}"       // ScheduledAt in seconds since 1970
	PlaceholderExpireTime = "${expireTime}" // RFC 3339 in UTC
	PlaceholderBackup     = "${backup}"     // copy requests only
)

// Placeholders lists every placeholder, in the order documented above.
var Placeholders = []string{PlaceholderPlan, PlaceholderTarget, PlaceholderDate, PlaceholderTime,
	PlaceholderUnix, PlaceholderExpireTime, PlaceholderBackup}

// Expand returns req with the placeholders in every string value of its
// section replaced by v's values (keys are left alone). An unknown
// placeholder, or one whose value v lacks, is an error naming the field
// and the placeholder; every such error is reported (errors.Join). A
// section without placeholders is returned as it is, byte for byte.
func Expand(req backup.Request, v Vars) (backup.Request, error) {
	section, problems := expandSection(req.Section, v)
	if len(problems) > 0 {
		errs := make([]error, len(problems))
		for i, p := range problems {
			errs[i] = &PathError{Path: join(req.Provider, p.Path), Problem: p.Problem}
		}
		return backup.Request{}, errors.Join(errs...)
	}
	req.Section = section
	return req, nil
}

// expansion replaces the placeholders of one section and gathers the
// problems, with their paths inside the section.
type expansion struct {
	vars     Vars
	problems []PathError
	// backupFields are the paths of the values that hold ${backup}: the
	// provider gives their real value only when the run's backup exists.
	backupFields []string
}

// expandSection replaces the placeholders in section's string values and
// returns the problems with their paths inside the section.
func expandSection(section json.RawMessage, v Vars) (json.RawMessage, []PathError) {
	e := expansion{vars: v}
	out := e.section(section)
	return out, e.problems
}

func (e *expansion) section(section json.RawMessage) json.RawMessage {
	if !bytes.Contains(section, []byte("${")) {
		return section
	}
	dec := json.NewDecoder(bytes.NewReader(section))
	dec.UseNumber() // numbers pass through unchanged
	var tree any
	if err := dec.Decode(&tree); err != nil {
		e.problems = append(e.problems, PathError{Problem: "the section is not valid JSON: " + err.Error()})
		return nil
	}
	tree = e.value("", tree)
	if len(e.problems) > 0 {
		return nil
	}
	out, err := json.Marshal(tree)
	if err != nil {
		e.problems = append(e.problems, PathError{Problem: err.Error()})
		return nil
	}
	return out
}

func (e *expansion) value(path string, value any) any {
	switch x := value.(type) {
	case string:
		if strings.Contains(x, PlaceholderBackup) {
			e.backupFields = append(e.backupFields, path)
		}
		s, err := expandString(x, e.vars)
		if err != nil {
			e.problems = append(e.problems, PathError{Path: path, Problem: err.Error()})
		}
		return s
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys) // problems in a stable order
		for _, k := range keys {
			x[k] = e.value(join(path, k), x[k])
		}
	case []any:
		for i := range x {
			x[i] = e.value(path+"["+strconv.Itoa(i)+"]", x[i])
		}
	}
	return value
}

func expandString(s string, v Vars) (string, error) {
	var b strings.Builder
	var errs []string
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			errs = append(errs, fmt.Sprintf("%q opens a placeholder that is never closed with }", s[i:]))
			break
		}
		name := s[i : i+end+1]
		value, err := v.value(name)
		if err != nil {
			errs = append(errs, err.Error())
		}
		b.WriteString(value)
		s = s[i+end+1:]
	}
	if len(errs) > 0 {
		return "", errors.New(strings.Join(errs, "; "))
	}
	return b.String(), nil
}

func (v Vars) value(placeholder string) (string, error) {
	at := v.ScheduledAt.UTC()
	needTime := func(format func() string) (string, error) {
		if v.ScheduledAt.IsZero() {
			return "", fmt.Errorf("%s needs the run's scheduled time, and none is set", placeholder)
		}
		return format(), nil
	}
	switch placeholder {
	case PlaceholderPlan:
		return v.Plan, nil
	case PlaceholderTarget:
		return v.Target, nil
	case PlaceholderDate:
		return needTime(func() string { return at.Format("20060102") })
	case PlaceholderTime:
		return needTime(func() string { return at.Format("20060102-150405") })
	case PlaceholderUnix:
		return needTime(func() string { return strconv.FormatInt(at.Unix(), 10) })
	case PlaceholderExpireTime:
		if v.ExpireTime.IsZero() {
			return "", fmt.Errorf("%s needs a time-based retention rule (daily, weekly, monthly, yearly or maxAge); keepLast and keepLastGood set no expiry", placeholder)
		}
		return v.ExpireTime.UTC().Format(time.RFC3339), nil
	case PlaceholderBackup:
		if v.Backup == "" {
			return "", fmt.Errorf("%s is only known in a copy request (the ID of the backup the run just made)", placeholder)
		}
		return v.Backup, nil
	}
	return "", fmt.Errorf("unknown placeholder %s; known: %s", placeholder, strings.Join(Placeholders, ", "))
}

// Horizon is the longest time any time-based rule of r can keep a backup,
// given runs at most every apart (0: at least one per day): the maximum of
// MaxAge and Daily days, Weekly weeks, Monthly 31-day months and Yearly
// 366-day years, where a period shorter than every counts as every (daily
// 7 with a run every 3 days keeps 21 days). ${expireTime} is ScheduledAt
// plus Horizon, so the provider's own expiry never comes before
// retention's time-based rules are done with a backup.
//
// Count-only rules (KeepLast, KeepLastGood) give no horizon: how long they
// keep a backup depends on future runs succeeding. With only those, Horizon
// is 0 and ${expireTime} is an error. Note that the provider's expiry is
// not retention's: a backup kept beyond its expireTime by KeepLast, the
// floor or a hold is still removed by the provider at that time.
func (r Retention) Horizon(every time.Duration) time.Duration {
	span := func(n int, period time.Duration) time.Duration {
		period = max(period, every)
		if n <= 0 || period <= 0 {
			return 0
		}
		if time.Duration(n) > maxDuration/period {
			return maxDuration
		}
		return time.Duration(n) * period
	}
	return max(r.MaxAge.Std(), span(r.Daily, Day), span(r.Weekly, 7*Day),
		span(r.Monthly, 31*Day), span(r.Yearly, 366*Day))
}

// VarsFor are the placeholder values of target's create request in a run
// of p scheduled at: ExpireTime comes from the plan's retention.
func (p Plan) VarsFor(target string, at time.Time) Vars {
	return p.vars(target, at, p.Retention, "")
}

// CopyVarsFor are the placeholder values of a target's copy request: Backup
// is the ID of the backup the run made, ExpireTime comes from the copy's
// retention.
func (p Plan) CopyVarsFor(t Target, at time.Time, backupID string) Vars {
	var r Retention
	if t.Copy != nil {
		r = t.Copy.Retention
	}
	return p.vars(t.Name, at, r, backupID)
}

func (p Plan) vars(target string, at time.Time, r Retention, backupID string) Vars {
	v := Vars{Plan: p.Name, Target: target, ScheduledAt: at, Backup: backupID}
	if h := r.Horizon(p.Schedule.LongestGap()); h > 0 && !at.IsZero() {
		v.ExpireTime = at.Add(h)
	}
	return v
}
