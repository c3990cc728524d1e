package plan_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/plan"
)

const nightlyYAML = `
version: 1
plans:
  - name: nightly
    schedule:
      cron: "0 2 * * *"
      timeZone: Europe/Berlin
      jitter: 10m
    startWindow: 1h
    completionWindow: 6h
    overlap: bufferOne
    retention:
      daily: 7
      weekly: 4
      maxAge: 1d12h
      keepLastGood: 3
    targets:
      - name: orders
        request:
          provider: memory
          memory:
            resource: orders-db
            name: orders-${date}
        copy:
          request:
            provider: memory
            memory:
              source: ${backup}
              resource: dr
              name: orders-${date}
          retention:
            monthly: 12
            keepLastGood: 1
`

func TestParseReadsYAMLAndJSONAlike(t *testing.T) {
	fromYAML, err := plan.Parse([]byte(nightlyYAML))
	require.NoError(t, err)

	require.Len(t, fromYAML.Plans, 1)
	p := fromYAML.Plans[0]
	assert.Equal(t, 1, fromYAML.Version)
	assert.Equal(t, "nightly", p.Name)
	assert.Equal(t, plan.Schedule{Cron: "0 2 * * *", TimeZone: "Europe/Berlin", Jitter: plan.Duration(10 * time.Minute)}, p.Schedule)
	assert.Equal(t, time.Hour, p.StartWindow.Std())
	assert.Equal(t, 6*time.Hour, p.CompletionWindow.Std())
	assert.Equal(t, plan.OverlapBufferOne, p.Overlap)
	assert.Equal(t, plan.Retention{Daily: 7, Weekly: 4, MaxAge: plan.Duration(36 * time.Hour), KeepLastGood: 3}, p.Retention)
	require.Len(t, p.Targets, 1)
	target := p.Targets[0]
	assert.Equal(t, backup.ProviderMemory, target.Request.Provider)
	assert.JSONEq(t, `{"resource":"orders-db","name":"orders-${date}"}`, string(target.Request.Section))
	require.NotNil(t, target.Copy)
	assert.JSONEq(t, `{"source":"${backup}","resource":"dr","name":"orders-${date}"}`, string(target.Copy.Request.Section))
	assert.Equal(t, plan.Retention{Monthly: 12, KeepLastGood: 1}, target.Copy.Retention)

	// The same file in JSON, as `plan export` might write it.
	fromJSON, err := plan.Parse([]byte(`{"version": 1, "plans": [{
		"name": "nightly",
		"schedule": {"cron": "0 2 * * *", "timeZone": "Europe/Berlin", "jitter": "10m"},
		"startWindow": "1h", "completionWindow": "6h", "overlap": "bufferOne",
		"retention": {"daily": 7, "weekly": 4, "maxAge": "36h", "keepLastGood": 3},
		"targets": [{"name": "orders",
			"request": {"provider": "memory", "memory": {"resource": "orders-db", "name": "orders-${date}"}},
			"copy": {"request": {"provider": "memory", "memory": {"source": "${backup}", "resource": "dr", "name": "orders-${date}"}},
			         "retention": {"monthly": 12, "keepLastGood": 1}}}]}]}`))
	require.NoError(t, err)
	assert.Equal(t, canonical(t, fromYAML), canonical(t, fromJSON))
}

// canonical is f as JSON, so requests compare by content, not by bytes.
func canonical(t *testing.T, f plan.File) string {
	t.Helper()
	b, err := json.Marshal(f)
	require.NoError(t, err)
	return string(b)
}

func TestParseNamesEveryProblemByPath(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		want       []string
	}{
		{
			name: "typos anywhere",
			file: `
version: 1
plans:
  - name: nightly
    schedul: {cron: "0 2 * * *"}
    retention: {keepLastt: 3, keepLastGood: 1}
    targets:
      - name: orders
        request: {provider: memory, memory: {resource: db}, memroy: {}}
        copy: {retention: {keepLastGood: 1}, requests: {}}
`,
			want: []string{
				`plans[0].retention.keepLastt: unknown field (did you mean "keepLast"?)`,
				`plans[0].schedul: unknown field (did you mean "schedule"?)`,
				`plans[0].targets[0].copy.requests: unknown field (did you mean "request"?)`,
				`plans[0].targets[0].request.memroy: unknown field; a request holds "provider" and the provider's section ("memory")`,
			},
		},
		{
			name: "wrong types",
			file: `
version: 1
plans:
  - name: 7
    paused: maybe
    startWindow: 3600
    completionWindow: soon
    retention: {daily: "7", weekly: 1.5}
    targets: {name: orders}
`,
			want: []string{
				`plans[0].completionWindow: "soon" is not a duration such as "7d", "36h", "90m" or "1d12h"`,
				`plans[0].name: must be a string, got number`,
				`plans[0].paused: must be true or false, got string`,
				`plans[0].retention.daily: must be a whole number, got string`,
				`plans[0].retention.weekly: must be a whole number, got number 1.5`,
				`plans[0].startWindow: 3600 has no unit; write a duration such as "7d", "36h", "90m" or "1d12h"`,
				`plans[0].targets: must be a list, got a mapping`,
			},
		},
		{
			name: "requests that are not requests",
			file: `
version: 1
plans:
  - name: nightly
    startWindow: [1h]
    targets:
      - {name: a, request: spanner}
      - {name: b, request: {provider: 5}}
      - {name: c, request: {provider: spanner, spanner: {}}, copy: {request: [x]}}
`,
			want: []string{
				`plans[0].startWindow: must be a duration such as "7d", "36h", "90m" or "1d12h", got a list`,
				`plans[0].targets[0].request: must be a mapping with provider and the provider's section, got a string`,
				`plans[0].targets[1].request.provider: must be a string, got a number`,
				`plans[0].targets[2].copy.request: must be a mapping with provider and the provider's section, got a list`,
			},
		},
		{
			name: "unknown top-level field",
			file: "version: 1\nplan: []\n",
			want: []string{`plan: unknown field (did you mean "plans"?)`},
		},
		{
			name: "case matters",
			file: "version: 1\nplans: [{Name: nightly}]\n",
			want: []string{`plans[0].Name: unknown field (did you mean "name"?)`},
		},
		{
			name: "a plan that is not a mapping",
			file: "version: 1\nplans: [nightly]\n",
			want: []string{`plans[0]: must be a mapping, got a string`},
		},
		{
			name: "no version",
			file: "plans: []\n",
			want: []string{"version: is required; this backupflow reads version 1"},
		},
		{
			name: "a newer version, whose fields are not looked at",
			file: "version: 2\nplans: [{nme: x}]\n",
			want: []string{"version: 2 is not supported; this backupflow reads version 1"},
		},
		{
			name: "a version that is not a number",
			file: "version: one\n",
			want: []string{`version: "one" is not supported; this backupflow reads version 1`},
		},
		{
			name: "empty",
			file: "",
			want: []string{"a plan file is a mapping with version and plans"},
		},
		{
			name: "a list",
			file: "- 1\n",
			want: []string{"a plan file is a mapping with version and plans"},
		},
		{
			name: "not YAML",
			file: "version: 1\nplans: [\n",
			want: []string{"not valid YAML or JSON: yaml: line 2: did not find expected node content"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := plan.Parse([]byte(tc.file))
			require.Error(t, err)
			assert.Equal(t, tc.want, problems(err))
			var pathErr *plan.PathError
			assert.True(t, errors.As(err, &pathErr), "a *PathError")
		})
	}
}

// problems lists the messages of a joined error.
func problems(err error) []string {
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []string{err.Error()}
	}
	var out []string
	for _, e := range joined.Unwrap() {
		out = append(out, e.Error())
	}
	return out
}
