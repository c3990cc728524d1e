// Package ops is the worker's operations surface: Prometheus metrics (the
// Temporal SDK's and backupflow's own), health and readiness, the optional
// payload codec (AES-GCM) with its codec-server endpoint, the per-provider
// call limiter, the RPO watch's gauges, and the HTTP server that serves them.
package ops

import (
	"maps"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/otlptranslator"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/notify"
	"github.com/backupflow/backupflow/provider"
)

// Names of backupflow's own metrics as /metrics serves them. The Grafana
// dashboard's test checks every expression against what a worker actually
// serves.
const (
	MetricBackupsStarted       = backup.MetricBackupsStarted + "_total"
	MetricBackupsSucceeded     = backup.MetricBackupsSucceeded + "_total"
	MetricBackupsFailed        = backup.MetricBackupsFailed + "_total"
	MetricBackupsCancelled     = backup.MetricBackupsCancelled + "_total"
	MetricBackupDuration       = backup.MetricBackupDuration
	MetricProviderCalls        = "backupflow_provider_calls_total"
	MetricProviderErrors       = "backupflow_provider_errors_total"
	MetricProviderCallDuration = "backupflow_provider_call_duration_seconds"

	// The RPO watch's gauges (RPOWatch), by plan, target and provider.
	MetricLastGoodBackupAge = "backupflow_last_good_backup_age_seconds"
	MetricRPO               = "backupflow_rpo_seconds"
	MetricRPOBreached       = "backupflow_rpo_breached"
	MetricRPOWatchLastRun   = "backupflow_rpo_watch_last_run_timestamp_seconds"

	// MetricNotificationsDeadLettered is notify.MetricDeadLettered as
	// /metrics serves it (the SDK's exporter adds _total).
	MetricNotificationsDeadLettered = notify.MetricDeadLettered + "_total"
)

// Labels of the RPO watch's gauges.
const (
	MetricLabelPlan   = "plan"
	MetricLabelTarget = "target"
)

// Metrics is one worker's metrics registry. It implements
// activities.Metrics (provider calls), and its SDK handler takes the
// workflows' outcome metrics (backup.MetricBackupsStarted, ...). Every label
// is a provider name, a kind, a driver method, an error class, or a plan or
// target name (of the RPO watch's gauges), so no label can carry a secret.
type Metrics struct {
	Registry *prometheus.Registry
	sdk      client.MetricsHandler
	provider *sdkmetric.MeterProvider

	started, succeeded, failed, cancelled *prometheus.CounterVec
	// outcomes are those four by the name the workflows count them under.
	outcomes                 map[string]*prometheus.CounterVec
	duration                 *prometheus.HistogramVec
	calls, callErrors        *prometheus.CounterVec
	callDuration             *prometheus.HistogramVec
	rpoAge, rpo, rpoBreached *prometheus.GaugeVec
	// rpoLastRun is registered only when an RPO watch runs, so a worker with
	// the watch off serves no timestamp for the stall alert to fire on.
	rpoLastRun     prometheus.Gauge
	rpoLastRunOnce sync.Once
	rpoLastRunErr  error
}

// backupBuckets span a quick simulator backup to a three-day one (seconds).
var backupBuckets = []float64{1, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800, 86400, 259200}

// callBuckets suit one provider API call or one SDK request (seconds).
var callBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// NewMetrics returns a fresh registry with the Go runtime and process
// collectors, backupflow's metrics, and a Temporal SDK metrics handler (the
// SDK's OpenTelemetry contrib, exported to the same registry).
func NewMetrics() (*Metrics, error) {
	reg := prometheus.NewRegistry()
	m := &Metrics{Registry: reg}
	kindLabels := []string{backup.MetricLabelProvider, backup.MetricLabelKind}
	m.started = prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricBackupsStarted,
		Help: "Backups whose provider operation was started (once per backup, also when a retry adopted it)."}, kindLabels)
	m.succeeded = prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricBackupsSucceeded,
		Help: "Backups confirmed complete by the provider."}, kindLabels)
	m.failed = prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricBackupsFailed,
		Help: "Backups that failed, by class (InvalidArgument, Permission, BackupFailed, Timeout, CleanupFailed, ...)."},
		[]string{backup.MetricLabelProvider, backup.MetricLabelKind, backup.MetricLabelClass})
	m.cancelled = prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricBackupsCancelled,
		Help: "Cancelled backups whose cleanup completed."}, kindLabels)
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricBackupDuration,
		Help: "Provider run time of successful backups, from the provider's start time to the workflow seeing it done.", Buckets: backupBuckets}, kindLabels)
	m.calls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricProviderCalls,
		Help: "Provider API calls made by drivers, by driver method."}, []string{"provider", "call"})
	m.callErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricProviderErrors,
		Help: "Provider API calls that returned an error, by driver method and error class."}, []string{"provider", "call", "class"})
	m.callDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricProviderCallDuration,
		Help: "Provider API call latency, by driver method.", Buckets: callBuckets}, []string{"provider", "call"})
	rpoLabels := []string{MetricLabelPlan, MetricLabelTarget, backup.MetricLabelProvider}
	m.rpoAge = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricLastGoodBackupAge,
		Help: "Age of the target's newest good backup, as its inventory records it (absent while it has none)."}, rpoLabels)
	m.rpo = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricRPO,
		Help: "The target's recovery point objective."}, rpoLabels)
	m.rpoBreached = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricRPOBreached,
		Help: "1 while the target's newest good backup is older than its RPO, else 0."}, rpoLabels)
	m.rpoLastRun = prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricRPOWatchLastRun,
		Help: "When the RPO watch last listed every inventory (Unix seconds; 0 until its first complete listing)."})
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.started, m.succeeded, m.failed, m.cancelled, m.duration, m.calls, m.callErrors, m.callDuration,
		m.rpoAge, m.rpo, m.rpoBreached,
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}

	exporter, err := otelprom.New(
		otelprom.WithRegisterer(reg),
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes),
		otelprom.WithoutScopeInfo(),
		otelprom.WithoutTargetInfo(),
		otelprom.WithAggregationSelector(func(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
			if k == sdkmetric.InstrumentKindHistogram { // the SDK's timers, in seconds
				return sdkmetric.AggregationExplicitBucketHistogram{Boundaries: callBuckets}
			}
			return sdkmetric.DefaultAggregationSelector(k)
		}),
	)
	if err != nil {
		return nil, err
	}
	m.provider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	otelHandler := temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                m.provider.Meter("temporal-sdk-go"),
		UseMonotonicCounters: true,
		OnError:              func(error) {}, // a metric the SDK cannot record must never stop a worker
	})
	m.outcomes = map[string]*prometheus.CounterVec{backup.MetricBackupsStarted: m.started, backup.MetricBackupsSucceeded: m.succeeded,
		backup.MetricBackupsFailed: m.failed, backup.MetricBackupsCancelled: m.cancelled}
	m.sdk = outcomeHandler{MetricsHandler: otelHandler, m: m}
	return m, nil
}

// outcomeHandler is the SDK's metrics handler. The workflows' outcome
// metrics go to backupflow's own Prometheus vectors (their names, help and
// buckets; only their own labels, not the SDK's namespace and task queue
// tags); everything else goes to OpenTelemetry.
type outcomeHandler struct {
	client.MetricsHandler
	m    *Metrics
	tags map[string]string
}

func (h outcomeHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.tags)+len(tags))
	maps.Copy(merged, h.tags)
	maps.Copy(merged, tags)
	return outcomeHandler{MetricsHandler: h.MetricsHandler.WithTags(tags), m: h.m, tags: merged}
}

func (h outcomeHandler) Counter(name string) client.MetricsCounter {
	vec, ok := h.m.outcomes[name]
	if !ok {
		return h.MetricsHandler.Counter(name)
	}
	return counterFunc(func(n int64) {
		if c, err := vec.GetMetricWith(h.labels(name == backup.MetricBackupsFailed)); err == nil {
			c.Add(float64(n))
		}
	})
}

func (h outcomeHandler) Timer(name string) client.MetricsTimer {
	if name != backup.MetricBackupDuration {
		return h.MetricsHandler.Timer(name)
	}
	return timerFunc(func(d time.Duration) {
		if o, err := h.m.duration.GetMetricWith(h.labels(false)); err == nil {
			o.Observe(d.Seconds())
		}
	})
}

// labels picks the outcome labels out of the handler's tags.
func (h outcomeHandler) labels(class bool) prometheus.Labels {
	l := prometheus.Labels{backup.MetricLabelProvider: h.tags[backup.MetricLabelProvider], backup.MetricLabelKind: h.tags[backup.MetricLabelKind]}
	if class {
		l[backup.MetricLabelClass] = h.tags[backup.MetricLabelClass]
	}
	return l
}

type counterFunc func(int64)

func (f counterFunc) Inc(n int64) { f(n) }

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }

// SDKHandler is the metrics handler for client.Options.MetricsHandler.
func (m *Metrics) SDKHandler() client.MetricsHandler { return m.sdk }

// ProviderCall implements activities.Metrics.
func (m *Metrics) ProviderCall(p, call string, elapsed time.Duration, err error) {
	m.calls.WithLabelValues(p, call).Inc()
	m.callDuration.WithLabelValues(p, call).Observe(elapsed.Seconds())
	if err != nil {
		m.callErrors.WithLabelValues(p, call, errorClass(err)).Inc()
	}
}

// errorClass is the error's provider class; an unclassified error (a lost
// connection, a timeout) is counted as Unavailable, as the activities treat it.
func errorClass(err error) string {
	switch c := provider.ClassOf(err); {
	case c == "":
		return string(provider.Unavailable)
	case !c.Known():
		return backup.MetricUnknown
	default:
		return string(c)
	}
}
