package ops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/plan"
)

// RPOWatchQuery is the visibility query of the RPO watch: every running
// inventory. Each one's memo carries its plan.RPOState, so one listing
// serves every target without a query per inventory.
var RPOWatchQuery = fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running'", plan.InventoryWorkflow)

// MinRPOWatchInterval is the shortest BACKUPFLOW_RPO_WATCH_INTERVAL: every
// worker lists every inventory once per interval.
const MinRPOWatchInterval = 5 * time.Second

// ParseRPOWatchInterval reads BACKUPFLOW_RPO_WATCH_INTERVAL: a Go duration
// of at least MinRPOWatchInterval, or "0" or "off" (0: no watch).
func ParseRPOWatchInterval(s string) (time.Duration, error) {
	switch v := strings.TrimSpace(s); v {
	case "0", "off":
		return 0, nil
	default:
		d, err := time.ParseDuration(v)
		if err != nil {
			return 0, fmt.Errorf("BACKUPFLOW_RPO_WATCH_INTERVAL: %q is not a duration such as 1m or 30s, or 0 or off to disable the watch", s)
		}
		if d < MinRPOWatchInterval {
			return 0, fmt.Errorf("BACKUPFLOW_RPO_WATCH_INTERVAL: %s is below the minimum %s (0 or off disables the watch)", v, MinRPOWatchInterval)
		}
		return d, nil
	}
}

// RPOWatch turns the running inventories' RPO memos into gauges
// (MetricLastGoodBackupAge, MetricRPO, MetricRPOBreached, by plan, target
// and provider) and stamps MetricRPOWatchLastRun after each complete
// listing. Targets without an RPO are left out, and the series of a target
// whose inventory stopped running are deleted. Every worker runs its own
// watch, so each serves the same series: aggregate with max by (plan,
// target, provider).
type RPOWatch struct {
	Client client.Client
	// DataConverter decodes the memos; it must be the worker client's (with
	// the payload codec when one is configured).
	DataConverter converter.DataConverter
	Metrics       *Metrics
	Logger        *slog.Logger
	// Interval is the time between listings (Run only).
	Interval time.Duration
	// Now is the clock the ages are measured on; time.Now when nil.
	Now func() time.Time
	// PageSize is the listing's page size; 1000 when 0.
	PageSize int32

	mu       sync.Mutex
	exported map[rpoSeries]bool
}

type rpoSeries struct{ plan, target, provider string }

func (s rpoSeries) values() []string { return []string{s.plan, s.target, s.provider} }

// inventoryIDPattern is plan.InventoryID with valid plan and target names.
var inventoryIDPattern = regexp.MustCompile(`^plan-inventory/([a-z0-9-]+)/([a-z0-9-]+)$`)

// Run lists the inventories at once and then every Interval until ctx ends.
// A failed listing is logged and leaves the gauges as they were.
func (w *RPOWatch) Run(ctx context.Context) {
	if w.Interval <= 0 {
		return
	}
	tick := time.NewTicker(w.Interval)
	defer tick.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, w.Interval)
		err := w.RunOnce(rctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			w.logger().Warn("RPO watch: the gauges keep their last values", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// RunOnce lists every running inventory once and updates the gauges.
func (w *RPOWatch) RunOnce(ctx context.Context) error {
	if w.Client == nil || w.Metrics == nil || w.DataConverter == nil {
		return errors.New("RPO watch: Client, Metrics and DataConverter are required")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.Metrics.registerRPOWatch(); err != nil {
		return fmt.Errorf("RPO watch: %w", err)
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	at := now()
	pageSize := w.PageSize
	if pageSize <= 0 {
		pageSize = 1000
	}
	seen := map[rpoSeries]bool{}
	// undecoded targets keep whatever series they had: a memo this worker
	// cannot read (another codec key) must not look like a removed target.
	undecoded := map[[2]string]bool{}
	var token []byte
	for {
		resp, err := w.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			PageSize: pageSize, NextPageToken: token, Query: RPOWatchQuery})
		if err != nil {
			return fmt.Errorf("RPO watch: list inventories (%s): %w", RPOWatchQuery, err)
		}
		for _, ex := range resp.GetExecutions() {
			w.observe(ex, at, seen, undecoded)
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	for s := range w.exported {
		if seen[s] {
			continue
		}
		if undecoded[[2]string{s.plan, s.target}] {
			seen[s] = true
			continue
		}
		w.Metrics.rpoAge.DeleteLabelValues(s.values()...)
		w.Metrics.rpo.DeleteLabelValues(s.values()...)
		w.Metrics.rpoBreached.DeleteLabelValues(s.values()...)
	}
	w.exported = seen
	w.Metrics.rpoLastRun.Set(float64(at.UnixNano()) / 1e9)
	return nil
}

// observe sets the gauges of one inventory.
func (w *RPOWatch) observe(ex *workflowpb.WorkflowExecutionInfo, now time.Time, seen map[rpoSeries]bool, undecoded map[[2]string]bool) {
	id := ex.GetExecution().GetWorkflowId()
	m := inventoryIDPattern.FindStringSubmatch(id)
	if m == nil {
		w.logger().Warn("RPO watch: skipping an inventory whose workflow ID is not plan-inventory/<plan>/<target>", "workflowId", id)
		return
	}
	payload := ex.GetMemo().GetFields()[plan.MemoRPO]
	if payload == nil {
		return // no RPO recorded yet
	}
	var st plan.RPOState
	if err := w.DataConverter.FromPayload(payload, &st); err != nil {
		w.logger().Warn("RPO watch: cannot decode the inventory's RPO memo (is BACKUPFLOW_CODEC_KEY_FILE the namespace's key?)",
			"workflowId", id, "error", err)
		undecoded[[2]string{m[1], m[2]}] = true
		return
	}
	if st.RPO <= 0 {
		return
	}
	s := rpoSeries{plan: m[1], target: m[2], provider: backup.MetricProvider(st.Provider)}
	w.Metrics.rpo.WithLabelValues(s.values()...).Set(time.Duration(st.RPO).Seconds())
	breached := 0.0
	if st.BreachedSince != nil {
		breached = 1
	}
	w.Metrics.rpoBreached.WithLabelValues(s.values()...).Set(breached)
	if st.LastGood != nil {
		w.Metrics.rpoAge.WithLabelValues(s.values()...).Set(max(now.Sub(*st.LastGood).Seconds(), 0))
	} else {
		w.Metrics.rpoAge.DeleteLabelValues(s.values()...)
	}
	seen[s] = true
}

func (w *RPOWatch) logger() *slog.Logger {
	if w.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Logger
}

// registerRPOWatch adds MetricRPOWatchLastRun to the registry (once).
func (m *Metrics) registerRPOWatch() error {
	m.rpoLastRunOnce.Do(func() { m.rpoLastRunErr = m.Registry.Register(m.rpoLastRun) })
	return m.rpoLastRunErr
}
