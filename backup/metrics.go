package backup

// Outcome metrics. The workflows emit them through the Temporal SDK's metrics
// handler (workflow.GetMetricsHandler, which is silent during replay), so
// each backup counts once, on whichever worker runs its workflow, including
// outcomes no activity sees: a start or poll that runs out of time, a cleanup
// that fails after a cancel. The worker serves the counters on /metrics with
// Prometheus's _total suffix, and the duration as a histogram in seconds.
const (
	MetricBackupsStarted   = "backupflow_backups_started"
	MetricBackupsSucceeded = "backupflow_backups_succeeded"
	MetricBackupsFailed    = "backupflow_backups_failed"
	MetricBackupsCancelled = "backupflow_backups_cancelled"
	// MetricBackupDuration is the provider's run time of a successful backup,
	// from the provider's start time to the workflow seeing it done.
	MetricBackupDuration = "backupflow_backup_duration_seconds"
)

// Labels of the outcome metrics. Every value is bounded: a known provider
// name or MetricUnknown, a Kind, and for failures a known Class or
// MetricUnknown.
const (
	MetricLabelProvider = "provider"
	MetricLabelKind     = "kind"
	MetricLabelClass    = "class"
	// MetricUnknown stands for a provider or class outside the known set, so
	// a bad request cannot put its text into a label.
	MetricUnknown = "unknown"
)

// MetricProvider is the provider label for name: name when it is a known
// provider, else MetricUnknown.
func MetricProvider(name string) string {
	if IsProvider(name) {
		return name
	}
	return MetricUnknown
}
