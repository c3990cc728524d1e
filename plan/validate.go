package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	// Time zones load on machines without a zoneinfo database too.
	_ "time/tzdata"

	"github.com/backupflow/backupflow/backup"
)

// FieldError is one broken rule of a plan file: the plan and target it is
// in (empty when not in one, or when that has no name; Field then starts
// with the path, "plans[2].") and the field with the rule it breaks.
type FieldError struct {
	Plan, Target, Field, Rule string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Plan != "" {
		fmt.Fprintf(&b, "plan %q: ", e.Plan)
	}
	if e.Target != "" {
		fmt.Fprintf(&b, "target %q: ", e.Target)
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Rule)
	return b.String()
}

// SectionCheck checks a provider section by the provider's own rules,
// without calling the provider (the CLI passes the driver's validation).
// It sees the section with its placeholders expanded with sample values:
// the plan's and target's names, SampleTime as the scheduled time (a check
// that needs the current time should use SampleTime as now, so the
// expanded ${expireTime} compares as it will at run time), and
// SampleBackupID for ${backup}. A *FieldError it returns (or wraps) is
// placed under the request: Field "spanner.backupId" reads
// "request.spanner.backupId"; any other error is reported on "request".
// A *FieldError on a field that holds ${backup} is not reported: the real
// value is a provider's backup ID (Spanner's is a full resource name), and
// the provider checks it when the run sends it.
type SectionCheck func(provider string, kind backup.Kind, section json.RawMessage) error

// SampleTime is the scheduled time placeholders get during validation.
var SampleTime = time.Date(2030, time.January, 2, 3, 4, 5, 0, time.UTC)

// SampleBackupID is the value ${backup} gets during validation.
const SampleBackupID = "sample-backup"

// Limits of the plan rules.
const (
	// MinEvery is the shortest interval schedule.
	MinEvery = time.Minute
	// MaxCompletionWindow is the longest a run's backups may take.
	MaxCompletionWindow = 7 * Day
	// MinMaxAge is the shortest maxAge: shorter would delete backups
	// while the next run is still due.
	MinMaxAge = time.Hour
	// MaxCronJitter bounds a cron schedule's jitter. A cron's runs need not
	// be evenly spaced, so instead of "less than the interval" (the rule
	// for every) jitter stays below an hour, which keeps runs in order for
	// any schedule that runs at most hourly and still spreads load.
	MaxCronJitter = time.Hour
)

var nameRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

const nameRule = "must be 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit"

// Validate checks every rule of every plan and returns all broken rules at
// once (errors.Join of *FieldError), so a file is fixed in one pass. check
// may be nil to skip the providers' own rules.
func (f File) Validate(check SectionCheck) error {
	var errs []error
	if f.Version != FileVersion {
		errs = append(errs, &FieldError{Field: "version", Rule: fmt.Sprintf("must be %d, got %d", FileVersion, f.Version)})
	}
	if len(f.Plans) == 0 {
		errs = append(errs, &FieldError{Field: "plans", Rule: "must list at least one plan"})
	}
	v := newValidator(check)
	firstIndex := map[string]int{}
	for i, p := range f.Plans {
		s := scope{v: v, plan: p.Name}
		if p.Name == "" {
			s = scope{v: v, prefix: fmt.Sprintf("plans[%d].", i)}
		} else if first, dup := firstIndex[p.Name]; dup {
			s.add("name", "plans[%d] has this name too; plan names must be unique in a file", first)
		} else {
			firstIndex[p.Name] = i
		}
		v.plan(s, p)
	}
	return errors.Join(append(errs, v.errs...)...)
}

// Validate checks every rule of the plan (see File.Validate).
func (p Plan) Validate(check SectionCheck) error {
	v := newValidator(check)
	v.plan(scope{v: v, plan: p.Name}, p)
	return errors.Join(v.errs...)
}

type validator struct {
	check SectionCheck
	errs  []error
	// resources maps provider and resource to the first target backing it
	// up: two targets on one resource would conflict on every run.
	resources map[string]string
}

func newValidator(check SectionCheck) *validator {
	return &validator{check: check, resources: map[string]string{}}
}

// scope is where errors go: a plan, a target, and a path prefix for the
// parts that have no name to be found by.
type scope struct {
	v            *validator
	plan, target string
	prefix       string
}

func (s scope) add(field, rule string, args ...any) {
	if len(args) > 0 {
		rule = fmt.Sprintf(rule, args...)
	}
	s.v.errs = append(s.v.errs, &FieldError{Plan: s.plan, Target: s.target, Field: strings.TrimSuffix(s.prefix+field, "."), Rule: rule})
}

func (s scope) under(prefix string) scope {
	s.prefix += prefix
	return s
}

func (v *validator) plan(s scope, p Plan) {
	checkName(s, "name", p.Name)
	v.schedule(s.under("schedule."), p.Schedule)
	switch {
	case p.StartWindow <= 0:
		s.add("startWindow", "is required and must be more than 0 (how late a run may start)")
	case p.Schedule.Jitter >= p.StartWindow:
		// The start window counts from the run's nominal time, before jitter.
		s.add("startWindow", "must be more than schedule.jitter (%s): a run delayed by jitter would be reported missed", p.Schedule.Jitter)
	}
	switch {
	case p.CompletionWindow <= 0:
		s.add("completionWindow", "is required and must be more than 0 (how long a run's backups may take)")
	case p.CompletionWindow.Std() > MaxCompletionWindow:
		s.add("completionWindow", "must be at most %s, got %s", Duration(MaxCompletionWindow), p.CompletionWindow)
	}
	switch p.Overlap {
	case "", OverlapSkip, OverlapBufferOne:
	default:
		s.add("overlap", "must be %q (the default) or %q, got %q", OverlapSkip, OverlapBufferOne, p.Overlap)
	}
	checkRetention(s.under("retention."), p.Retention)
	checkRPO(s, p, p.RPO)
	if len(p.Targets) == 0 {
		s.add("targets", "must list at least one target")
	}
	firstIndex := map[string]int{}
	for i, t := range p.Targets {
		ts := s
		if t.Name != "" && s.prefix == "" {
			ts.target = t.Name
		} else {
			ts = s.under(fmt.Sprintf("targets[%d].", i))
		}
		if first, dup := firstIndex[t.Name]; dup && t.Name != "" {
			ts.add("name", "targets[%d] has this name too; target names must be unique in a plan", first)
		} else {
			firstIndex[t.Name] = i
		}
		v.target(ts, p, t)
	}
}

func checkName(s scope, field, name string) {
	if name == "" {
		s.add(field, "is required; it %s", nameRule)
	} else if !nameRe.MatchString(name) {
		s.add(field, "%q %s", name, nameRule)
	}
}

func (v *validator) schedule(s scope, sc Schedule) {
	switch {
	case sc.Cron != "" && sc.Every != 0:
		s.add("", "set exactly one of cron and every, not both")
	case sc.Cron == "" && sc.Every == 0:
		s.add("", "is required: set cron (e.g. \"0 2 * * *\") or every (e.g. \"6h\")")
	case sc.Cron != "":
		if _, err := parseCron(sc.Cron); err != nil {
			s.add("cron", "%v", err)
		}
	case sc.Every.Std() < MinEvery:
		s.add("every", "must be at least %s, got %s", Duration(MinEvery), sc.Every)
	}
	if _, err := sc.Location(); err != nil {
		s.add("timeZone", "%v", err)
	}
	switch {
	case sc.Jitter < 0:
		s.add("jitter", "must be 0 or more, got %s", sc.Jitter)
	case sc.Cron != "" && sc.Jitter.Std() >= MaxCronJitter:
		s.add("jitter", "must be less than %s with a cron schedule, got %s", Duration(MaxCronJitter), sc.Jitter)
	case sc.Cron == "" && sc.Every > 0 && sc.Jitter >= sc.Every:
		s.add("jitter", "must be less than every (%s), got %s", sc.Every, sc.Jitter)
	}
}

// Location is the schedule's time zone (UTC when unset): the zone cron
// fields are read in and retention's days, weeks, months and years are
// counted in. "Local" is refused: it would differ from machine to machine.
// The zone's rules come from the system's tz database when it has one, else
// from the copy built into the binary; a workflow that decides retention
// should resolve the zone the same way on every worker (keep the tz
// databases in step, or pass the location in) so replays decide alike.
func (sc Schedule) Location() (*time.Location, error) {
	switch sc.TimeZone {
	case "":
		return time.UTC, nil
	case "Local":
		return nil, fmt.Errorf("\"Local\" differs between machines; name the zone, e.g. Europe/Berlin")
	}
	loc, err := time.LoadLocation(sc.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("%q is not a known time zone; use an IANA name such as Europe/Berlin or UTC", sc.TimeZone)
	}
	return loc, nil
}

func checkRetention(s scope, r Retention) {
	for _, c := range []struct {
		field string
		n     int
	}{{"keepLast", r.KeepLast}, {"daily", r.Daily}, {"weekly", r.Weekly}, {"monthly", r.Monthly}, {"yearly", r.Yearly}} {
		if c.n < 0 {
			s.add(c.field, "must be 0 or more, got %d", c.n)
		}
	}
	if r.KeepLastGood < 1 {
		s.add("keepLastGood", "must be at least 1, got %d: the newest good backup is never deleted", r.KeepLastGood)
	}
	switch {
	case r.MaxAge < 0:
		s.add("maxAge", "must be 0 or more, got %s", r.MaxAge)
	case r.MaxAge > 0 && r.MaxAge.Std() < MinMaxAge:
		s.add("maxAge", "must be at least %s (or left out), got %s", Duration(MinMaxAge), r.MaxAge)
	}
}

// checkRPO refuses an RPO the schedule cannot meet: the newest good backup
// is up to the longest gap between runs plus the completion window old
// when the next one lands, so a shorter RPO would breach on every run.
func checkRPO(s scope, p Plan, rpo Duration) {
	if rpo < 0 {
		s.add("rpo", "must be 0 or more (0: no RPO), got %s", rpo)
		return
	}
	if rpo == 0 || p.CompletionWindow <= 0 {
		return
	}
	if need := p.Schedule.LongestGap() + p.Schedule.Jitter.Std() + p.CompletionWindow.Std(); rpo.Std() <= need {
		s.add("rpo", "must be more than the longest gap between runs plus jitter plus completionWindow (%s), or every run would breach it; got %s", Duration(need), rpo)
	}
}

func (v *validator) target(s scope, p Plan, t Target) {
	checkName(s, "name", t.Name)
	if t.RPO != nil {
		checkRPO(s, p, *t.RPO)
	}
	created := v.request(s.under("request"), t.Request, backup.KindCreate, p.VarsFor(t.Name, SampleTime))
	if resource := created.NamedResource(backup.KindCreate); resource != "" {
		key := created.Provider + " " + resource
		if first, dup := v.resources[key]; dup {
			s.add("request", "backs up the same resource as %s (%s); their runs would conflict", first, resource)
		} else {
			v.resources[key] = fmt.Sprintf("plan %q target %q", p.Name, t.Name)
		}
	}
	if t.Copy == nil {
		return
	}
	cs := s.under("copy.")
	checkRetention(cs.under("retention."), t.Copy.Retention)
	provider := t.Request.Provider
	switch {
	case !backup.IsProvider(provider):
		// Reported on the request already.
	case !backup.HasSection(provider, backup.KindCopy):
		cs.add("", "provider %s has no copy API", provider)
	case t.Copy.Request.Provider != "" && t.Copy.Request.Provider != provider:
		cs.add("request.provider", "must be the target's provider (%s): a copy API copies its own provider's backups, got %q", provider, t.Copy.Request.Provider)
	default:
		v.request(cs.under("request"), t.Copy.Request, backup.KindCopy, p.CopyVarsFor(t, SampleTime, SampleBackupID))
	}
}

// request checks a create or copy request and returns it expanded with
// the sample values, or with no provider when it is broken.
func (v *validator) request(s scope, req backup.Request, kind backup.Kind, vars Vars) backup.Request {
	field := func(f string) string { return "." + f }
	for _, k := range req.UnknownFields() {
		s.add(field(k), "unknown field; a request holds \"provider\" and the provider's section")
	}
	known := strings.Join(backup.Providers(), ", ")
	switch {
	case req.Provider == "":
		s.add(field("provider"), "is required; one of %s", known)
		return backup.Request{}
	case !backup.IsProvider(req.Provider):
		s.add(field("provider"), "unknown provider %q; one of %s", req.Provider, known)
		return backup.Request{}
	case !backup.HasSection(req.Provider, kind):
		s.add(field("provider"), "provider %s has no %s API", req.Provider, kind)
		return backup.Request{}
	case len(strings.TrimSpace(string(req.Section))) == 0 || string(req.Section) == "null":
		s.add(field(req.Provider), "is required: the %s section of the request", req.Provider)
		return backup.Request{}
	}
	e := expansion{vars: vars}
	section := e.section(req.Section)
	for _, p := range e.problems {
		s.add(field(join(req.Provider, p.Path)), "%s", p.Problem)
	}
	if len(e.problems) > 0 {
		return backup.Request{}
	}
	expanded := backup.Request{Provider: req.Provider, Section: section}
	if v.check == nil {
		return expanded
	}
	if err := v.check(req.Provider, kind, section); err != nil {
		var fe *FieldError
		switch {
		case errors.As(err, &fe) && slices.ContainsFunc(e.backupFields, func(path string) bool { return join(req.Provider, path) == fe.Field }):
			// The sample stands where the provider's own backup ID will:
			// its shape is the provider's, so the run checks this field.
		case errors.As(err, &fe):
			s.add(field(fe.Field), "%s", fe.Rule)
		default:
			s.add("", "%v", err)
		}
		return backup.Request{}
	}
	return expanded
}
