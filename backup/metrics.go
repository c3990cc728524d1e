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
// name or MetricUnknown, a Kind, and for failures an error class
// (provider.Class), FailureTimeout or FailureCleanup.
const (
	MetricLabelProvider = "provider"
	MetricLabelKind     = "kind"
	MetricLabelClass    = "class"
	// MetricUnknown stands for a provider or class outside the known set, so
	// a bad request cannot put its text into a label.
	MetricUnknown = "unknown"
)

// Failure classes beyond provider.Class, for the class label.
const (
	// FailureTimeout: an activity ran out of its schedule-to-close time (the
	// resource stayed busy past the start limit, or a backup outlived WaitLimit).
	FailureTimeout = "Timeout"
	// FailureCleanup: the backup was cancelled, but removing what the
	// provider held for it failed. Also the type of the workflow's error then.
	FailureCleanup = "CleanupFailed"
)
