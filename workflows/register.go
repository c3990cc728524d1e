package workflows

import (
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/backupflow/backupflow/activities"
	"github.com/backupflow/backupflow/backup"
)

// Register registers both workflows, under their public type names, and the activities.
func Register(r worker.Registry, acts *activities.Activities) {
	r.RegisterWorkflowWithOptions(CreateBackup, workflow.RegisterOptions{Name: backup.CreateBackupWorkflow})
	r.RegisterWorkflowWithOptions(CopyBackup, workflow.RegisterOptions{Name: backup.CopyBackupWorkflow})
	r.RegisterActivityWithOptions(acts, activity.RegisterOptions{})
}
