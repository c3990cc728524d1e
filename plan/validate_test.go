package plan_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/plan"
)

// checked is one call of the fake SectionCheck.
type checked struct {
	provider string
	kind     backup.Kind
	section  string
}

// fakeCheck stands in for a driver's validation with simple rules: a
// memory section needs a non-empty name and a copy's source must look like
// a memory backup ID (reported as *FieldError), and no section may say
// "boom" (reported as a plain error).
func fakeCheck(calls *[]checked) plan.SectionCheck {
	return func(provider string, kind backup.Kind, section json.RawMessage) error {
		*calls = append(*calls, checked{provider, kind, string(section)})
		if strings.Contains(string(section), "boom") {
			return errors.New("memory: boom is not allowed")
		}
		var s struct{ Name, Source string }
		if err := json.Unmarshal(section, &s); err != nil {
			return err
		}
		if provider == backup.ProviderMemory && s.Name == "" {
			return fmt.Errorf("driver says: %w", &plan.FieldError{Field: "memory.name", Rule: "is required"})
		}
		if kind == backup.KindCopy && !strings.HasPrefix(s.Source, "mem-") {
			return &plan.FieldError{Field: "memory.source", Rule: "must be a memory backup ID (mem-NNNN)"}
		}
		return nil
	}
}

func memoryRequest(t *testing.T, section string) backup.Request {
	t.Helper()
	var r backup.Request
	require.NoError(t, json.Unmarshal([]byte(`{"provider":"memory","memory":`+section+`}`), &r))
	return r
}

// validPlan is a plan that breaks no rule; each case below breaks some.
func validPlan(t *testing.T) plan.Plan {
	return plan.Plan{
		Name:             "nightly",
		Schedule:         plan.Schedule{Cron: "0 2 * * *", TimeZone: "Europe/Berlin", Jitter: plan.Duration(10 * time.Minute)},
		StartWindow:      plan.Duration(time.Hour),
		CompletionWindow: plan.Duration(6 * time.Hour),
		Retention:        plan.Retention{Daily: 7, Weekly: 4, KeepLastGood: 2},
		Targets: []plan.Target{{
			Name:    "orders",
			Request: memoryRequest(t, `{"resource":"orders-db","name":"${target}-${date}","note":"expires ${expireTime}"}`),
			Copy: &plan.Copy{
				Request:   memoryRequest(t, `{"source":"${backup}","resource":"dr","name":"${plan}-${time}"}`),
				Retention: plan.Retention{Monthly: 3, KeepLastGood: 1},
			},
		}},
	}
}

func TestValidateAcceptsAValidFileAndChecksExpandedSections(t *testing.T) {
	var calls []checked
	f := plan.File{Version: 1, Plans: []plan.Plan{validPlan(t)}}
	require.NoError(t, f.Validate(fakeCheck(&calls)))

	// The check sees the sections as a run at SampleTime (2030-01-02
	// 03:04:05 UTC) would send them: daily 7 and weekly 4 with daily runs
	// keep a backup up to 28 days, the copy's monthly 3 up to 93.
	assert.Equal(t, []checked{
		{"memory", backup.KindCreate, `{"name":"orders-20300102","note":"expires 2030-01-30T03:04:05Z","resource":"orders-db"}`},
		{"memory", backup.KindCopy, `{"name":"nightly-20300102-030405","resource":"dr","source":"sample-backup"}`},
	}, calls)

	assert.NoError(t, f.Validate(nil), "no check: the providers' own rules are skipped")
}

func TestValidateNamesPlanTargetFieldAndRule(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(p *plan.Plan)
		want   []string
	}{
		{"plan name with capitals", func(p *plan.Plan) { p.Name = "Nightly" },
			[]string{`plan "Nightly": name: "Nightly" must be 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit`}},
		{"plan name too long", func(p *plan.Plan) { p.Name = strings.Repeat("a", 64) },
			[]string{`plan "` + strings.Repeat("a", 64) + `": name: "` + strings.Repeat("a", 64) + `" must be 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit`}},
		{"plan name ending in a dash", func(p *plan.Plan) { p.Name = "nightly-" },
			[]string{`plan "nightly-": name: "nightly-" must be 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit`}},
		{"target name with an underscore", func(p *plan.Plan) { p.Targets[0].Name = "orders_db" },
			[]string{`plan "nightly": target "orders_db": name: "orders_db" must be 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit`}},
		{"unnamed target", func(p *plan.Plan) { p.Targets[0].Name = "" },
			[]string{`plan "nightly": targets[0].name: is required; it must be 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit`}},
		{"no targets", func(p *plan.Plan) { p.Targets = nil },
			[]string{`plan "nightly": targets: must list at least one target`}},
		{"two targets of one name", func(p *plan.Plan) {
			second := p.Targets[0]
			second.Request = memoryRequest(t, `{"resource":"billing-db","name":"x-${date}"}`)
			p.Targets = append(p.Targets, second)
		}, []string{`plan "nightly": target "orders": name: targets[0] has this name too; target names must be unique in a plan`}},
		{"two targets on one resource", func(p *plan.Plan) {
			p.Targets = append(p.Targets, plan.Target{Name: "orders-again", Request: memoryRequest(t, `{"resource":"orders-db","name":"again"}`)})
		}, []string{`plan "nightly": target "orders-again": request: backs up the same resource as plan "nightly" target "orders" (orders-db); their runs would conflict`}},

		{"negative rpo", func(p *plan.Plan) { p.RPO = plan.Duration(-time.Hour) },
			[]string{`plan "nightly": rpo: must be 0 or more (0: no RPO), got -1h0m0s`}},
		{"rpo the daily schedule cannot meet", func(p *plan.Plan) { p.RPO = plan.Duration(30 * time.Hour) },
			[]string{`plan "nightly": rpo: must be more than the longest gap between runs plus jitter plus completionWindow (1d6h10m), or every run would breach it; got 1d6h`}},
		{"target rpo the schedule cannot meet", func(p *plan.Plan) { d := plan.Duration(24 * time.Hour); p.Targets[0].RPO = &d },
			[]string{`plan "nightly": target "orders": rpo: must be more than the longest gap between runs plus jitter plus completionWindow (1d6h10m), or every run would breach it; got 1d`}},
		{"cron and every", func(p *plan.Plan) { p.Schedule.Every = plan.Duration(time.Hour) },
			[]string{`plan "nightly": schedule: set exactly one of cron and every, not both`}},
		{"neither cron nor every", func(p *plan.Plan) { p.Schedule.Cron = "" },
			[]string{`plan "nightly": schedule: is required: set cron (e.g. "0 2 * * *") or every (e.g. "6h")`}},
		{"bad cron", func(p *plan.Plan) { p.Schedule.Cron = "0 25 * * *" },
			[]string{`plan "nightly": schedule.cron: hour field "25": 25 is out of range 0-23`}},
		{"every below a minute", func(p *plan.Plan) {
			p.Schedule = plan.Schedule{Every: plan.Duration(30 * time.Second)}
		}, []string{`plan "nightly": schedule.every: must be at least 1m, got 30s`}},
		{"jitter as long as the start window", func(p *plan.Plan) {
			p.StartWindow, p.Schedule.Jitter = plan.Duration(10*time.Minute), plan.Duration(10*time.Minute)
		}, []string{`plan "nightly": startWindow: must be more than schedule.jitter (10m): a run delayed by jitter would be reported missed`}},
		{"jitter as long as every", func(p *plan.Plan) {
			p.Schedule = plan.Schedule{Every: plan.Duration(time.Hour), Jitter: plan.Duration(time.Hour)}
			p.StartWindow = plan.Duration(2 * time.Hour)
		}, []string{`plan "nightly": schedule.jitter: must be less than every (1h), got 1h`}},
		{"an hour's jitter on a cron", func(p *plan.Plan) {
			p.Schedule.Jitter, p.StartWindow = plan.Duration(time.Hour), plan.Duration(2*time.Hour)
		},
			[]string{`plan "nightly": schedule.jitter: must be less than 1h with a cron schedule, got 1h`}},
		{"negative jitter", func(p *plan.Plan) { p.Schedule.Jitter = plan.Duration(-time.Minute) },
			[]string{`plan "nightly": schedule.jitter: must be 0 or more, got -1m0s`}},
		{"unknown time zone", func(p *plan.Plan) { p.Schedule.TimeZone = "Mars/Olympus" },
			[]string{`plan "nightly": schedule.timeZone: "Mars/Olympus" is not a known time zone; use an IANA name such as Europe/Berlin or UTC`}},
		{"the machine's time zone", func(p *plan.Plan) { p.Schedule.TimeZone = "Local" },
			[]string{`plan "nightly": schedule.timeZone: "Local" differs between machines; name the zone, e.g. Europe/Berlin`}},

		{"no start window", func(p *plan.Plan) { p.StartWindow = 0 },
			[]string{`plan "nightly": startWindow: is required and must be more than 0 (how late a run may start)`}},
		{"no completion window", func(p *plan.Plan) { p.CompletionWindow = 0 },
			[]string{`plan "nightly": completionWindow: is required and must be more than 0 (how long a run's backups may take)`}},
		{"completion window over a week", func(p *plan.Plan) { p.CompletionWindow = plan.Duration(7*plan.Day + time.Hour) },
			[]string{`plan "nightly": completionWindow: must be at most 7d, got 7d1h`}},
		{"unknown overlap", func(p *plan.Plan) { p.Overlap = "allowAll" },
			[]string{`plan "nightly": overlap: must be "skip" (the default) or "bufferOne", got "allowAll"`}},

		{"retention without a floor", func(p *plan.Plan) { p.Retention.KeepLastGood = 0 },
			[]string{`plan "nightly": retention.keepLastGood: must be at least 1, got 0: the newest good backup is never deleted`}},
		{"negative counts", func(p *plan.Plan) {
			p.Retention = plan.Retention{KeepLast: -1, Daily: -2, Weekly: -3, Monthly: -4, Yearly: -5, KeepLastGood: 1}
		},
			[]string{
				`plan "nightly": retention.keepLast: must be 0 or more, got -1`,
				`plan "nightly": retention.daily: must be 0 or more, got -2`,
				`plan "nightly": retention.weekly: must be 0 or more, got -3`,
				`plan "nightly": retention.monthly: must be 0 or more, got -4`,
				`plan "nightly": retention.yearly: must be 0 or more, got -5`,
				// With no time rule left, ${expireTime} has no value.
				`plan "nightly": target "orders": request.memory.note: ${expireTime} needs a time-based retention rule (daily, weekly, monthly, yearly or maxAge); keepLast and keepLastGood set no expiry`,
			}},
		{"maxAge below an hour", func(p *plan.Plan) { p.Retention.MaxAge = plan.Duration(30 * time.Minute) },
			[]string{`plan "nightly": retention.maxAge: must be at least 1h (or left out), got 30m`}},
		{"negative maxAge", func(p *plan.Plan) { p.Retention.MaxAge = plan.Duration(-time.Hour) },
			[]string{`plan "nightly": retention.maxAge: must be 0 or more, got -1h0m0s`}},
		{"count rules and ${expireTime}", func(p *plan.Plan) { p.Retention = plan.Retention{KeepLast: 14, KeepLastGood: 3} },
			[]string{`plan "nightly": target "orders": request.memory.note: ${expireTime} needs a time-based retention rule (daily, weekly, monthly, yearly or maxAge); keepLast and keepLastGood set no expiry`}},

		{"no provider", func(p *plan.Plan) { p.Targets[0].Request = backup.Request{} },
			[]string{`plan "nightly": target "orders": request.provider: is required; one of alirds, otcrds, spanner, taurusdb`}},
		{"unknown provider", func(p *plan.Plan) { p.Targets[0].Request.Provider = "oracle" },
			[]string{`plan "nightly": target "orders": request.provider: unknown provider "oracle"; one of alirds, otcrds, spanner, taurusdb`}},
		{"no section", func(p *plan.Plan) { p.Targets[0].Request.Section = nil },
			[]string{`plan "nightly": target "orders": request.memory: is required: the memory section of the request`}},
		{"unknown request key", func(p *plan.Plan) {
			p.Targets[0].Request.Unknown = map[string]json.RawMessage{"memroy": json.RawMessage(`{}`)}
		}, []string{`plan "nightly": target "orders": request.memroy: unknown field; a request holds "provider" and the provider's section`}},
		{"unknown placeholder", func(p *plan.Plan) {
			p.Targets[0].Request = memoryRequest(t, `{"resource":"orders-db","name":"${target}-${day}"}`)
		}, []string{`plan "nightly": target "orders": request.memory.name: unknown placeholder ${day}; known: ${plan}, ${target}, ${date}, ${time}, ${unix}, ${expireTime}, ${backup}`}},
		{"${backup} in a create", func(p *plan.Plan) {
			p.Targets[0].Request = memoryRequest(t, `{"resource":"orders-db","name":"${backup}"}`)
		}, []string{`plan "nightly": target "orders": request.memory.name: ${backup} is only known in a copy request (the ID of the backup the run just made)`}},
		{"the provider's rule, as a field", func(p *plan.Plan) {
			p.Targets[0].Request = memoryRequest(t, `{"resource":"orders-db"}`)
		}, []string{`plan "nightly": target "orders": request.memory.name: is required`}},
		{"the provider's rule, as a plain error", func(p *plan.Plan) {
			p.Targets[0].Request = memoryRequest(t, `{"resource":"orders-db","name":"boom"}`)
		}, []string{`plan "nightly": target "orders": request: memory: boom is not allowed`}},

		{"a copy on a provider without copy API", func(p *plan.Plan) {
			p.Targets[0].Request = backup.Request{Provider: backup.ProviderAliRDS, Section: json.RawMessage(`{"DBInstanceId":"rm-1"}`)}
		}, []string{`plan "nightly": target "orders": copy: provider alirds has no copy API`}},
		{"a copy by another provider", func(p *plan.Plan) {
			p.Targets[0].Copy.Request.Provider = backup.ProviderSpanner
		}, []string{`plan "nightly": target "orders": copy.request.provider: must be the target's provider (memory): a copy API copies its own provider's backups, got "spanner"`}},
		{"a copy with the provider's rule broken", func(p *plan.Plan) {
			p.Targets[0].Copy.Request = memoryRequest(t, `{"source":"${backup}","resource":"dr"}`)
		}, []string{`plan "nightly": target "orders": copy.request.memory.name: is required`}},
		{"a copy's literal source of the wrong shape", func(p *plan.Plan) {
			p.Targets[0].Copy.Request = memoryRequest(t, `{"source":"orders-1","resource":"dr","name":"x"}`)
		}, []string{`plan "nightly": target "orders": copy.request.memory.source: must be a memory backup ID (mem-NNNN)`}},
		// With ${backup} in source, the sample ID's shape is not the
		// provider's: that field is left to the run (validPlan passes).
		{"a copy's ${backup} source checked at run time, its other fields now", func(p *plan.Plan) {
			p.Targets[0].Copy.Request = memoryRequest(t, `{"source":"${backup}","resource":"dr","name":"boom"}`)
		}, []string{`plan "nightly": target "orders": copy.request: memory: boom is not allowed`}},
		{"a copy's ${expireTime} without a time rule", func(p *plan.Plan) {
			p.Targets[0].Copy.Request = memoryRequest(t, `{"source":"${backup}","resource":"dr","name":"${expireTime}"}`)
			p.Targets[0].Copy.Retention = plan.Retention{KeepLast: 3, KeepLastGood: 1}
		}, []string{`plan "nightly": target "orders": copy.request.memory.name: ${expireTime} needs a time-based retention rule (daily, weekly, monthly, yearly or maxAge); keepLast and keepLastGood set no expiry`}},
		{"a copy's retention without a floor", func(p *plan.Plan) { p.Targets[0].Copy.Retention.KeepLastGood = 0 },
			[]string{`plan "nightly": target "orders": copy.retention.keepLastGood: must be at least 1, got 0: the newest good backup is never deleted`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := validPlan(t)
			tc.change(&p)
			var calls []checked
			err := p.Validate(fakeCheck(&calls))
			require.Error(t, err)
			assert.Equal(t, tc.want, problems(err))
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var fe *plan.FieldError
				require.ErrorAs(t, e, &fe)
			}
			// The file-level check reports the same.
			ferr := plan.File{Version: 1, Plans: []plan.Plan{p}}.Validate(fakeCheck(&calls))
			assert.Equal(t, tc.want, problems(ferr))
		})
	}
}

func TestValidateFileWideRules(t *testing.T) {
	var calls []checked
	other := validPlan(t)
	other.Targets[0].Request = memoryRequest(t, `{"resource":"other-db","name":"x-${date}"}`)
	unnamed := validPlan(t)
	unnamed.Name = ""
	unnamed.Targets[0].Request = memoryRequest(t, `{"resource":"unnamed-db","name":"x-${date}"}`)
	unnamed.Retention.KeepLastGood = 0
	f := plan.File{Version: 2, Plans: []plan.Plan{validPlan(t), other, unnamed}}
	assert.Equal(t, []string{
		"version: must be 1, got 2",
		`plan "nightly": name: plans[0] has this name too; plan names must be unique in a file`,
		// Plan "nightly" (the second) backs up other-db: no conflict there.
		`plans[2].name: is required; it must be 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit`,
		`plans[2].retention.keepLastGood: must be at least 1, got 0: the newest good backup is never deleted`,
	}, problems(f.Validate(fakeCheck(&calls))))

	assert.Equal(t, []string{"version: must be 1, got 0", "plans: must list at least one plan"},
		problems(plan.File{}.Validate(nil)))

	// A resource two plans back up conflicts across plans too.
	second := validPlan(t)
	second.Name = "hourly"
	err := plan.File{Version: 1, Plans: []plan.Plan{validPlan(t), second}}.Validate(nil)
	assert.EqualError(t, err, `plan "hourly": target "orders": request: backs up the same resource as plan "nightly" target "orders" (orders-db); their runs would conflict`)
}

func TestValidateReportsEveryProblemOfAFileAtOnce(t *testing.T) {
	f, err := plan.Parse([]byte(`
version: 1
plans:
  - name: Nightly
    schedule: {cron: "0 2 * *", every: 30s, timeZone: Moon/Base}
    completionWindow: 8d
    overlap: always
    retention: {keepLast: -1, maxAge: 10m, keepLastGood: 0}
    targets:
      - name: orders
        request: {provider: spanner}
      - name: orders
        request: {provider: taurusdb, taurusdb: {instance_id: i, name: "${when}"}}
        copy: {request: {provider: taurusdb, taurusdb: {}}, retention: {keepLastGood: 1}}
`))
	require.NoError(t, err, "the format is right; the rules are not")
	err = f.Validate(nil)
	require.Error(t, err)
	assert.Equal(t, []string{
		`plan "Nightly": name: "Nightly" must be 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit`,
		`plan "Nightly": schedule: set exactly one of cron and every, not both`,
		`plan "Nightly": schedule.timeZone: "Moon/Base" is not a known time zone; use an IANA name such as Europe/Berlin or UTC`,
		`plan "Nightly": startWindow: is required and must be more than 0 (how late a run may start)`,
		`plan "Nightly": completionWindow: must be at most 7d, got 8d`,
		`plan "Nightly": overlap: must be "skip" (the default) or "bufferOne", got "always"`,
		`plan "Nightly": retention.keepLast: must be 0 or more, got -1`,
		`plan "Nightly": retention.keepLastGood: must be at least 1, got 0: the newest good backup is never deleted`,
		`plan "Nightly": retention.maxAge: must be at least 1h (or left out), got 10m`,
		`plan "Nightly": target "orders": request.spanner: is required: the spanner section of the request`,
		`plan "Nightly": target "orders": name: targets[0] has this name too; target names must be unique in a plan`,
		`plan "Nightly": target "orders": request.taurusdb.name: unknown placeholder ${when}; known: ${plan}, ${target}, ${date}, ${time}, ${unix}, ${expireTime}, ${backup}`,
		`plan "Nightly": target "orders": copy: provider taurusdb has no copy API`,
	}, problems(err))
}

func TestScheduleLocation(t *testing.T) {
	loc, err := plan.Schedule{}.Location()
	require.NoError(t, err)
	assert.Equal(t, time.UTC, loc)
	loc, err = plan.Schedule{TimeZone: "Asia/Kolkata"}.Location()
	require.NoError(t, err)
	_, offset := time.Date(2026, 1, 1, 0, 0, 0, 0, loc).Zone()
	assert.Equal(t, 5*3600+1800, offset)
}

func TestRPOThatTheScheduleCanMeetIsValid(t *testing.T) {
	p := validPlan(t)
	p.RPO = plan.Duration(31 * time.Hour)
	require.NoError(t, p.Validate(nil))
	target := plan.Duration(48 * time.Hour)
	p.Targets[0].RPO = &target
	require.NoError(t, p.Validate(nil))
	assert.Equal(t, target, p.RPOOf(p.Targets[0]), "the target's own RPO wins")
	assert.Equal(t, target, p.PolicyOf(p.Targets[0]).RPO)
}
