package workflows

import (
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/backupflow/backupflow/activities"
	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/plan"
)

// Register registers the workflows, under their public type names, and the activities.
func Register(r worker.Registry, acts *activities.Activities, inventories *activities.Inventories, notifier *activities.Notifier) {
	r.RegisterWorkflowWithOptions(CreateBackup, workflow.RegisterOptions{Name: backup.CreateBackupWorkflow})
	r.RegisterWorkflowWithOptions(CopyBackup, workflow.RegisterOptions{Name: backup.CopyBackupWorkflow})
	r.RegisterWorkflowWithOptions(PlanRun, workflow.RegisterOptions{Name: plan.RunWorkflow})
	r.RegisterWorkflowWithOptions(PlanInventory, workflow.RegisterOptions{Name: plan.InventoryWorkflow})
	r.RegisterActivityWithOptions(acts, activity.RegisterOptions{})
	r.RegisterActivityWithOptions(inventories, activity.RegisterOptions{})
	r.RegisterWorkflowWithOptions(Notify, workflow.RegisterOptions{Name: activities.NotifyWorkflow})
	r.RegisterActivityWithOptions(notifier, activity.RegisterOptions{})
}

// RegisterProviderActivities registers only the provider activities, for a
// worker on a provider's task queue (backup.ProviderTaskQueue).
func RegisterProviderActivities(r worker.ActivityRegistry, acts *activities.Activities) {
	r.RegisterActivityWithOptions(acts, activity.RegisterOptions{})
}
