package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/plan"
	"github.com/backupflow/backupflow/provider"
)

// ListInput is the input of ListBackups.
type ListInput struct {
	Provider string      `json:"provider"`
	Kind     backup.Kind `json:"kind"`
	Resource string      `json:"resource"`
}

// ListOutput is the provider's listing of a resource's backups.
type ListOutput struct {
	Backups []backup.Backup `json:"backups"`
}

// ListBackups lists the backups at a plan target, so retention deletes only
// what the provider confirms is still there as the plan recorded it.
func (a *Activities) ListBackups(ctx context.Context, in ListInput) (ListOutput, error) {
	defer beat(ctx).Stop()
	d, err := a.driver(in.Provider)
	if err != nil {
		return ListOutput{}, toTemporal(ctx, err)
	}
	backups, err := d.List(ctx, in.Kind, in.Resource)
	if err != nil {
		return ListOutput{}, toTemporal(ctx, err)
	}
	for i := range backups {
		backups[i].Record = nil // retention needs identifiers and times only; keep history small
	}
	return ListOutput{Backups: backups}, nil
}

// DeleteInput is the input of DeleteBackup.
type DeleteInput struct {
	Provider string `json:"provider"`
	// Operation is rebuilt from the plan's inventory: the identifiers
	// backupflow's own create or copy answer gave.
	Operation provider.Operation `json:"operation"`
}

// DeleteBackup deletes one backup retention let go. Deleting one already
// gone is no error, so a retried attempt after a lost worker is harmless.
func (a *Activities) DeleteBackup(ctx context.Context, in DeleteInput) error {
	defer beat(ctx).Stop()
	d, err := a.driver(in.Provider)
	if err != nil {
		return toTemporal(ctx, err)
	}
	if err := d.Delete(ctx, in.Operation); err != nil {
		return toTemporal(ctx, err)
	}
	return nil
}

// Inventories hands plan runs' outcomes to the targets' inventory
// workflows. It needs a Temporal client, which the backup activities don't.
type Inventories struct {
	Temporal  client.Client
	TaskQueue string
	Namespace string
}

// TargetRecord is one target's part of RecordInput.
type TargetRecord struct {
	Target string      `json:"target"`
	Record plan.Record `json:"record"`
}

// RecordInput is the input of RecordRun.
type RecordInput struct {
	Plan    string         `json:"plan"`
	Targets []TargetRecord `json:"targets"`
}

// RecordRun signals each target's inventory with its entries, starting the
// inventory on the plan's first run. Inventories drop entries they already
// hold, so a retried attempt records nothing twice; the heartbeat carries
// how far an earlier attempt got.
func (r *Inventories) RecordRun(ctx context.Context, in RecordInput) error {
	hb := beat(ctx)
	defer hb.Stop()
	done := 0
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &done)
	}
	for i := done; i < len(in.Targets); i++ {
		t := in.Targets[i]
		_, err := r.Temporal.SignalWithStartWorkflow(ctx, plan.InventoryID(in.Plan, t.Target), plan.RecordSignal, t.Record,
			client.StartWorkflowOptions{TaskQueue: r.TaskQueue, TypedSearchAttributes: temporal.NewSearchAttributes(plan.PlanKey.ValueSet(in.Plan))},
			plan.InventoryWorkflow, plan.InventoryStart{Plan: in.Plan, Target: t.Target, Policy: t.Record.Policy})
		if err != nil {
			return fmt.Errorf("record plan %s target %s: %w", in.Plan, t.Target, err)
		}
		hb.Record(ctx, i+1)
	}
	return nil
}

// RPOIndexed reports whether the namespace has the BackupRPO search
// attribute, so an inventory sets it only where that cannot fail its task
// (a namespace registered before it existed lacks it until registered).
func (r *Inventories) RPOIndexed(ctx context.Context) (bool, error) {
	resp, err := r.Temporal.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: r.Namespace})
	if err != nil {
		return false, err
	}
	_, ok := resp.GetCustomAttributes()[plan.SearchAttributeRPO]
	return ok, nil
}

// HeldInput is the input of HeldTargets.
type HeldInput struct {
	Plan    string   `json:"plan"`
	Targets []string `json:"targets"`
}

// HeldTargets returns the targets whose inventory holds a target-wide hold
// (a target without an inventory yet has none), so a plan run at the end
// of its completion window does not cancel, and so clean up, their backups.
func (r *Inventories) HeldTargets(ctx context.Context, in HeldInput) ([]string, error) {
	var held []string
	for _, t := range in.Targets {
		v, err := r.Temporal.QueryWorkflow(ctx, plan.InventoryID(in.Plan, t), "", plan.InventoryQuery)
		var nf *serviceerror.NotFound
		switch {
		case errors.As(err, &nf):
			continue
		case err != nil:
			return nil, fmt.Errorf("query the inventory of plan %s target %s: %w", in.Plan, t, err)
		}
		var inv plan.Inventory
		if err := v.Get(&inv); err != nil {
			return nil, fmt.Errorf("decode the inventory of plan %s target %s: %w", in.Plan, t, err)
		}
		if slices.ContainsFunc(inv.Holds, func(h plan.Hold) bool { return h.BackupID == "" }) {
			held = append(held, t)
		}
	}
	return held, nil
}
