package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// planFile is a valid file with two plans on the memory provider.
const planFile = `
version: 1
plans:
  - name: nightly
    schedule:
      cron: "0 2 * * *"
      timeZone: Europe/Berlin
    startWindow: 1h
    completionWindow: 6h
    retention:
      daily: 7
      keepLastGood: 2
    targets:
      - name: orders
        request:
          provider: memory
          memory:
            resource: orders-db
            name: orders-${date}
  - name: hourly
    schedule:
      every: 1h
    startWindow: 10m
    completionWindow: 30m
    retention:
      keepLast: 24
      keepLastGood: 1
    targets:
      - name: sessions
        request:
          provider: memory
          memory:
            resource: sessions-db
            name: sessions-${date}
`

// writePlanFile writes content to a file in a test directory.
func writePlanFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plans.yaml")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

func TestPlanValidateWorksOffline(t *testing.T) {
	code, out, errOut := run(t, nil, nil, "plan", "validate", "-f", writePlanFile(t, planFile))
	assert.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "valid, 2 plans: nightly, hourly")

	code, out, _ = run(t, nil, nil, "plan", "validate", "--file", writePlanFile(t, planFile), "--output", "json")
	assert.Equal(t, ExitOK, code)
	var rep ValidationReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.Equal(t, []string{"nightly", "hourly"}, rep.Plans)
	assert.Empty(t, rep.Problems)
}

func TestPlanValidateListsEveryProblem(t *testing.T) {
	broken := strings.NewReplacer(
		"keepLastGood: 2", "keepLastGood: 0", // a retention rule
		"timeZone: Europe/Berlin", "timeZone: Mars/Olympus", // the schedule
		"resource: sessions-db", "resource: \"\"", // the provider's own rule
	).Replace(planFile)
	code, out, errOut := run(t, nil, nil, "plan", "validate", "-f", writePlanFile(t, broken), "--output", "json")
	assert.Equal(t, ExitBadInput, code)
	var rep ValidationReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.Equal(t, ExitBadInput, rep.ExitCode)
	require.Len(t, rep.Problems, 3, "%+v", rep.Problems)
	byField := map[string]PlanProblem{}
	for _, p := range rep.Problems {
		byField[p.Field] = p
		assert.NotEmpty(t, p.Rule)
		assert.Contains(t, errOut, p.String(), "every problem is on stderr too")
	}
	assert.Equal(t, "nightly", byField["retention.keepLastGood"].Plan)
	assert.Equal(t, "nightly", byField["schedule.timeZone"].Plan)
	resource := byField["request.memory.resource"]
	assert.Equal(t, "hourly", resource.Plan)
	assert.Equal(t, "sessions", resource.Target)
	assert.Equal(t, "is required", resource.Rule, "the driver's rule, checked offline")
	assert.Contains(t, errOut, "3 problems")
}

func TestPlanFileErrorsExitTwoWithoutDialling(t *testing.T) {
	typo := strings.Replace(planFile, "keepLastGood: 2", "keepLastGod: 2", 1)
	cases := map[string]struct {
		args []string
		want string
	}{
		"no subcommand":          {[]string{"plan"}, "plan needs a subcommand"},
		"unknown subcommand":     {[]string{"plan", "sync"}, `unknown plan subcommand "sync"`},
		"validate without file":  {[]string{"plan", "validate"}, "-f: a plan file is required"},
		"apply without file":     {[]string{"plan", "apply"}, "-f: a plan file is required"},
		"missing file":           {[]string{"plan", "diff", "-f", "/nonexistent/plans.yaml"}, "no such file"},
		"unknown field":          {[]string{"plan", "diff", "-f", writePlanFile(t, typo)}, "keepLastGod"},
		"not a plan file":        {[]string{"plan", "apply", "-f", writePlanFile(t, "just text")}, "plans.yaml: 1 problem"},
		"apply takes a file":     {[]string{"plan", "apply", "nightly"}, `unexpected argument "nightly"`},
		"pause takes one plan":   {[]string{"plan", "pause", "a", "b"}, "expected one plan name or -f <file>, got 2"},
		"name and file":          {[]string{"plan", "trigger", "a", "-f", "x.yaml"}, "not both"},
		"delete without a name":  {[]string{"plan", "delete"}, "expected one plan name"},
		"describe broken file":   {[]string{"plan", "describe", "-f", writePlanFile(t, typo)}, "keepLastGod"},
		"list takes no argument": {[]string{"plan", "list", "nightly"}, `unexpected argument "nightly"`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			code, _, errOut := run(t, nil, nil, c.args...)
			assert.Equal(t, ExitBadInput, code, errOut)
			assert.Contains(t, errOut, c.want)
		})
	}
}

func TestHoldFlagsAreCheckedBeforeDialling(t *testing.T) {
	user := map[string]string{"USER": "alice"}
	cases := map[string]struct {
		env   map[string]string
		args  []string
		field string
	}{
		"no subcommand":        {user, []string{"hold"}, ""},
		"unknown subcommand":   {user, []string{"hold", "release"}, ""},
		"no plan":              {user, []string{"hold", "add", "--reason", "audit"}, "--plan"},
		"no reason":            {user, []string{"hold", "add", "--plan", "nightly"}, "--reason"},
		"backup needs target":  {user, []string{"hold", "add", "--plan", "nightly", "--backup", "b-1", "--reason", "audit"}, "--backup"},
		"no user":              {nil, []string{"hold", "add", "--plan", "nightly", "--reason", "audit"}, "--by"},
		"list takes no target": {user, []string{"hold", "list", "--plan", "nightly", "--target", "orders"}, ""},
		"stray argument":       {user, []string{"hold", "list", "nightly"}, ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if len(c.args) < 2 || c.args[1] == "release" { // no subcommand to take flags
				code, _, errOut := run(t, c.env, nil, c.args...)
				assert.Equal(t, ExitBadInput, code, errOut)
				assert.Contains(t, errOut, "add, remove")
				return
			}
			// --output first, so it is read before a flag that fails.
			args := append([]string{c.args[0], c.args[1], "--output", "json"}, c.args[2:]...)
			code, out, errOut := run(t, c.env, nil, args...)
			assert.Equal(t, ExitBadInput, code, errOut)
			var rep Report
			require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
			assert.Equal(t, c.field, rep.Field)
			if c.field != "" {
				assert.Contains(t, errOut, c.field)
			}
		})
	}
}

func TestHoldRemoveNeedsNoReason(t *testing.T) {
	assert.NoError(t, holdRequest{plan: "nightly", target: "orders"}.check("remove"), "the hold goes; nothing records why")
	assert.Error(t, holdRequest{plan: "nightly", target: "orders"}.check("add"))
	code, _, errOut := run(t, nil, nil, "hold", "remove", "--plan", "nightly", "--reason", "x")
	assert.Equal(t, ExitBadInput, code)
	assert.Contains(t, errOut, "flag provided but not defined: -reason")
}

func TestPlanAndHoldHelp(t *testing.T) {
	code, out, _ := run(t, nil, nil, "plan", "--help")
	assert.Equal(t, ExitOK, code)
	for _, sub := range planSubcommands {
		assert.Contains(t, out, "backupflow plan "+sub)
	}
	code, out, _ = run(t, nil, nil, "hold", "--help")
	assert.Equal(t, ExitOK, code)
	for _, sub := range []string{"add", "remove", "list"} {
		assert.Contains(t, out, "backupflow hold "+sub)
	}
	code, out, _ = run(t, nil, nil, "plan", "pause", "--help")
	assert.Equal(t, ExitOK, code)
	assert.Contains(t, out, "-note")
}
