package deploy_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"text/template"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/backupflow/backupflow/internal/ops"
	"github.com/backupflow/backupflow/internal/testenv"
	"github.com/backupflow/backupflow/plan"
)

// ---------------------------------------------------------------- alerting rules

type alertRules struct {
	Groups []struct {
		Name  string      `json:"name"`
		Rules []alertRule `json:"rules"`
	} `json:"groups"`
}

type alertRule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for"`
	Labels      map[string]string `json:"labels"`
	Annotations struct {
		Summary     string `json:"summary"`
		Description string `json:"description"`
	} `json:"annotations"`
}

// alertSeries are the series the live worker of exportedMetrics must serve
// beyond the backup metrics, for the alerting rules and the dashboard's RPO row.
var alertSeries = []string{ops.MetricLastGoodBackupAge, ops.MetricRPO, ops.MetricRPOBreached, ops.MetricRPOWatchLastRun,
	ops.MetricNotificationsDeadLettered}

// startRPOInventory starts an inventory with an RPO memo, as the plan
// inventories keep one, on a task queue no worker polls (so the worker's
// real inventory workflow never runs it), and waits until visibility lists
// it, so the worker's RPO watch sees it on its first listing.
func startRPOInventory(t *testing.T, e *testenv.Env) {
	t.Helper()
	lastGood := time.Now().Add(-2 * time.Hour)
	id := plan.InventoryID("nightly", "orders-db")
	_, err := e.Client.ExecuteWorkflow(testenv.Context(t, 10*time.Second), client.StartWorkflowOptions{
		ID: id, TaskQueue: "rpo-inventory-no-worker",
		Memo: map[string]any{plan.MemoRPO: plan.RPOState{Provider: "memory", Resource: "orders-db",
			RPO: plan.Duration(26 * time.Hour), LastGood: &lastGood}},
	}, plan.InventoryWorkflow)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		resp, err := e.Client.ListWorkflow(testenv.Context(t, 10*time.Second),
			&workflowservice.ListWorkflowExecutionsRequest{Query: ops.RPOWatchQuery})
		require.NoError(t, err)
		return len(resp.GetExecutions()) == 1 && resp.GetExecutions()[0].GetMemo().GetFields()[plan.MemoRPO] != nil
	}, 30*time.Second, 50*time.Millisecond, "visibility lists the inventory with its memo")
}

// refusingSink writes a sinks file with one Slack-style sink on a loopback
// receiver that refuses every event (400): each delivery is dead-lettered
// at once, as a sink with a revoked URL would be.
func refusingSink(t *testing.T) string {
	t.Helper()
	var refused atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		refused.Add(1)
		http.Error(w, "no such hook", http.StatusBadRequest)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { assert.Positive(t, refused.Load(), "the sink was called") })
	path := filepath.Join(t.TempDir(), "sinks.yaml")
	require.NoError(t, os.WriteFile(path, []byte("sinks:\n  - name: refusing\n    kind: slack\n    url: "+srv.URL+"/hook\n"), 0o600))
	return path
}

var (
	templateLabels = regexp.MustCompile(`\$labels\.([A-Za-z_][A-Za-z0-9_]*)`)
	byClause       = regexp.MustCompile(`\bby\s*\(([^)]*)\)`)
	// scrapeLabels are the labels Prometheus adds to every series it scrapes.
	scrapeLabels = []string{"instance", "job"}
	// backupflowCommand is a command of the CLI, quoted as code.
	backupflowCommand = regexp.MustCompile("`(?:backupflow|temporal) [^`]+`")
)

// promTemplateFuncs are the template functions Prometheus offers that the
// annotations use; parsing with them catches typos in the annotations.
var promTemplateFuncs = template.FuncMap{
	"humanize": func(any) string { return "" }, "humanizeDuration": func(any) string { return "" },
	"humanizePercentage": func(any) string { return "" }, "humanizeTimestamp": func(any) string { return "" },
}

func TestAlertingRules(t *testing.T) {
	var rules alertRules
	strictYAML(t, "prometheus/alerts.yaml", read(t, "prometheus/alerts.yaml"), &rules)
	require.NotEmpty(t, rules.Groups)

	exported := seriesNames(exportedMetrics(t))
	for _, want := range alertSeries {
		require.True(t, exported[want], "the worker serves %s; it serves:\n%s", want, strings.Join(sortedKeys(exported), "\n"))
	}

	groups, alerts := map[string]bool{}, map[string]alertRule{}
	for _, g := range rules.Groups {
		require.NotEmpty(t, g.Name)
		require.False(t, groups[g.Name], "group %s is unique", g.Name)
		groups[g.Name] = true
		require.NotEmpty(t, g.Rules, "group %s has rules", g.Name)
		for _, r := range g.Rules {
			require.NotEmpty(t, r.Alert, "group %s: every rule is an alert", g.Name)
			_, dup := alerts[r.Alert]
			require.False(t, dup, "alert %s is unique", r.Alert)
			alerts[r.Alert] = r

			names, typ, err := parsePromQL(r.Expr)
			require.NoError(t, err, "%s: %s", r.Alert, r.Expr)
			assert.Equal(t, promVector, typ, "%s: an alert's expression is an instant vector", r.Alert)
			require.NotEmpty(t, names, "%s reads a metric", r.Alert)
			for _, n := range names {
				assert.True(t, exported[n], "%s reads %s, which the worker does not export", r.Alert, n)
			}

			require.NotEmpty(t, r.For, "%s has a for", r.Alert)
			_, err = model.ParseDuration(r.For)
			require.NoError(t, err, "%s: for %q", r.Alert, r.For)
			assert.Equal(t, []string{"severity"}, slices.Sorted(maps.Keys(r.Labels)), "%s: labels", r.Alert)
			assert.Contains(t, []string{"warning", "critical"}, r.Labels["severity"], "%s: severity", r.Alert)

			assert.NotEmpty(t, r.Annotations.Summary, "%s: summary", r.Alert)
			assert.NotEmpty(t, r.Annotations.Description, "%s: description", r.Alert)
			assert.Contains(t, r.Annotations.Description, "What to do:", "%s: the description says what to do", r.Alert)
			assert.Regexp(t, backupflowCommand, r.Annotations.Description, "%s: the description names a command to run", r.Alert)
			// The annotations are valid templates and use only labels the
			// expression's result carries.
			carried := slices.Clone(scrapeLabels)
			if m := byClause.FindAllStringSubmatch(r.Expr, -1); len(m) > 0 {
				carried = nil
				for _, l := range strings.Split(m[0][1], ",") {
					carried = append(carried, strings.TrimSpace(l))
				}
			}
			for what, text := range map[string]string{"summary": r.Annotations.Summary, "description": r.Annotations.Description} {
				// Prometheus defines these variables before the text.
				tmpl, err := template.New(what).Funcs(promTemplateFuncs).Option("missingkey=error").Parse(
					"{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}" + text)
				if assert.NoError(t, err, "%s: %s", r.Alert, what) {
					labels := map[string]string{}
					for _, l := range carried {
						labels[l] = "x"
					}
					var out strings.Builder
					assert.NoError(t, tmpl.Execute(&out, map[string]any{"Labels": labels, "ExternalLabels": map[string]string{},
						"ExternalURL": "", "Value": 1.0}), "%s: %s renders with the labels %v", r.Alert, what, carried)
				}
				for _, m := range templateLabels.FindAllStringSubmatch(text, -1) {
					assert.Contains(t, carried, m[1], "%s: %s uses $labels.%s, which %q does not keep", r.Alert, what, m[1], r.Expr)
				}
			}
		}
	}

	for name, severity := range map[string]string{"BackupRPOBreached": "critical", "BackupRPOAtRisk": "warning",
		"BackupRPOWatchStalled": "warning", "BackupNotificationsDeadLettered": "warning", "BackupFailureRateHigh": "warning"} {
		r, ok := alerts[name]
		if assert.True(t, ok, "alert %s is defined", name) {
			assert.Equal(t, severity, r.Labels["severity"], name)
		}
	}
	breached := alerts["BackupRPOBreached"]
	assert.Equal(t, "max by (plan, target, provider) (backupflow_rpo_breached) == 1", breached.Expr)
	assert.Equal(t, "5m", breached.For)
	assert.Contains(t, alerts["BackupRPOAtRisk"].Expr, "0.8 *")
	assert.Contains(t, alerts["BackupRPOWatchStalled"].Expr, "time() - "+ops.MetricRPOWatchLastRun+" > 600")
	assert.Contains(t, alerts["BackupNotificationsDeadLettered"].Expr, "increase("+ops.MetricNotificationsDeadLettered+"[1h])")
	for _, m := range []string{ops.MetricBackupsFailed, ops.MetricBackupsSucceeded} {
		assert.Contains(t, alerts["BackupFailureRateHigh"].Expr, m)
	}
}

// The dashboard's RPO row shows each target's last good backup against its
// RPO, the breached targets and the dead-lettered notifications
// (TestGrafanaDashboard checks that the worker serves what they read).
func TestGrafanaRPORow(t *testing.T) {
	var d dashboard
	require.NoError(t, json.Unmarshal(read(t, "grafana/backupflow.json"), &d))
	var row []panel
	inRow := false
	for _, p := range d.Panels {
		if p.Type == "row" {
			inRow = p.Title == "RPO"
			if inRow {
				row = append(row, p.Panels...) // a collapsed row holds its panels
			}
			continue
		}
		if inRow {
			row = append(row, p)
		}
	}
	require.NotEmpty(t, row, "the dashboard has an RPO row with panels")
	reads := map[string][]string{}
	for _, p := range row {
		for _, tg := range p.Targets {
			names, _, err := parsePromQL(tg.Expr)
			require.NoError(t, err, "panel %q: %s", p.Title, tg.Expr)
			assert.Equal(t, metricNames(tg.Expr), names, "panel %q: both parsers read the same metrics", p.Title)
			reads[p.Title] = append(reads[p.Title], names...)
		}
	}
	find := func(typ string, metrics ...string) bool {
		for _, p := range row {
			if p.Type == typ && len(p.Targets) > 0 {
				ok := true
				for _, m := range metrics {
					ok = ok && slices.Contains(reads[p.Title], m)
				}
				if ok {
					return true
				}
			}
		}
		return false
	}
	assert.True(t, find("timeseries", ops.MetricLastGoodBackupAge, ops.MetricRPO), "a time series of age against RPO: %v", reads)
	assert.True(t, find("stat", ops.MetricRPOBreached), "a stat of breached targets: %v", reads)
	assert.True(t, find("timeseries", ops.MetricNotificationsDeadLettered) || find("stat", ops.MetricNotificationsDeadLettered),
		"dead-lettered notifications: %v", reads)
}
