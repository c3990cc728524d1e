// Package ops is the worker's operations surface: Prometheus metrics (the
// Temporal SDK's and backupflow's own), health and readiness, the optional
// payload codec (AES-GCM) with its codec-server endpoint, the per-provider
// call limiter, and the HTTP server that serves them.
package ops

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/otlptranslator"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
)

// Names of backupflow's own metrics. The Grafana dashboard's test checks
// every expression against what a worker actually serves.
const (
	MetricBackupsStarted       = "backupflow_backups_started_total"
	MetricBackupsSucceeded     = "backupflow_backups_succeeded_total"
	MetricBackupsFailed        = "backupflow_backups_failed_total"
	MetricBackupsCancelled     = "backupflow_backups_cancelled_total"
	MetricBackupDuration       = "backupflow_backup_duration_seconds"
	MetricProviderCalls        = "backupflow_provider_calls_total"
	MetricProviderErrors       = "backupflow_provider_errors_total"
	MetricProviderCallDuration = "backupflow_provider_call_duration_seconds"
)

// Metrics is one worker's metrics registry. It implements
// activities.Metrics; every label is a provider name from the registry, a
// kind, a driver method or an error class, so no label can carry a secret.
type Metrics struct {
	Registry *prometheus.Registry
	sdk      client.MetricsHandler
	provider *sdkmetric.MeterProvider

	started, succeeded, failed, cancelled *prometheus.CounterVec
	duration                              *prometheus.HistogramVec
	calls, callErrors                     *prometheus.CounterVec
	callDuration                          *prometheus.HistogramVec
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
	kindLabels := []string{"provider", "kind"}
	m.started = prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricBackupsStarted,
		Help: "Backups whose provider operation was started (or adopted after a lost start response)."}, kindLabels)
	m.succeeded = prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricBackupsSucceeded,
		Help: "Backups confirmed complete by the provider."}, kindLabels)
	m.failed = prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricBackupsFailed,
		Help: "Backups given up on, by error class (InvalidArgument, Permission, BackupFailed, ...)."},
		[]string{"provider", "kind", "class"})
	m.cancelled = prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricBackupsCancelled,
		Help: "Cancelled backups whose cleanup completed."}, kindLabels)
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricBackupDuration,
		Help: "Provider run time of successful backups, from the provider's start time to confirmation.", Buckets: backupBuckets}, kindLabels)
	m.calls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricProviderCalls,
		Help: "Provider API calls made by drivers, by driver method."}, []string{"provider", "call"})
	m.callErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricProviderErrors,
		Help: "Provider API calls that returned an error, by driver method and error class."}, []string{"provider", "call", "class"})
	m.callDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricProviderCallDuration,
		Help: "Provider API call latency, by driver method.", Buckets: callBuckets}, []string{"provider", "call"})
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.started, m.succeeded, m.failed, m.cancelled, m.duration, m.calls, m.callErrors, m.callDuration,
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
	m.sdk = temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                m.provider.Meter("temporal-sdk-go"),
		UseMonotonicCounters: true,
		OnError:              func(error) {}, // a metric the SDK cannot record must never stop a worker
	})
	return m, nil
}

// SDKHandler is the metrics handler for client.Options.MetricsHandler.
func (m *Metrics) SDKHandler() client.MetricsHandler { return m.sdk }

// BackupStarted implements activities.Metrics.
func (m *Metrics) BackupStarted(p string, k backup.Kind) {
	m.started.WithLabelValues(p, string(k)).Inc()
}

// BackupSucceeded implements activities.Metrics.
func (m *Metrics) BackupSucceeded(p string, k backup.Kind, elapsed time.Duration) {
	m.succeeded.WithLabelValues(p, string(k)).Inc()
	if elapsed >= 0 {
		m.duration.WithLabelValues(p, string(k)).Observe(elapsed.Seconds())
	}
}

// BackupFailed implements activities.Metrics.
func (m *Metrics) BackupFailed(p string, k backup.Kind, class provider.Class) {
	m.failed.WithLabelValues(p, string(k), string(class)).Inc()
}

// BackupCancelled implements activities.Metrics.
func (m *Metrics) BackupCancelled(p string, k backup.Kind) {
	m.cancelled.WithLabelValues(p, string(k)).Inc()
}

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
		return "unknown"
	default:
		return string(c)
	}
}
