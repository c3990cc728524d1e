package main

import (
	"context"
	"time"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/plan"
)

// demoPlanSeed picks the fixture resources of the demo plan: not the demo
// backups' (a run would conflict with a demo backup of the same database).
const demoPlanSeed = 2

// demoPlan backs up one database per simulated provider every few minutes
// and keeps the last three backups of each, with a 10-minute RPO: the Web
// UI's Schedules page shows it running, `backupflow plan describe demo` its
// inventories and `backupflow status` whether each database is protected.
func (st *stack) demoPlan() plan.Plan {
	p := plan.Plan{
		Name:             "demo",
		Schedule:         plan.Schedule{Every: plan.Duration(3 * time.Minute)},
		StartWindow:      plan.Duration(time.Minute),
		CompletionWindow: plan.Duration(2 * time.Minute),
		Overlap:          plan.OverlapSkip,
		Retention:        plan.Retention{KeepLast: 3, KeepLastGood: 1},
		RPO:              plan.Duration(10 * time.Minute),
	}
	for _, c := range st.clouds {
		if c.PlanSection == nil {
			continue
		}
		p.Targets = append(p.Targets, plan.Target{Name: c.Provider,
			Request: backup.Request{Provider: c.Provider, Section: c.PlanSection(demoPlanSeed)}})
	}
	return p
}

// applyDemoPlan applies the demo plan's schedule (again, unchanged, on a
// restart) and says where to watch it.
func (st *stack) applyDemoPlan(ctx context.Context) {
	pc := plan.NewClient(st.client)
	pc.DataConverter = st.dataConverter
	p := st.demoPlan()
	if _, err := pc.Apply(ctx, p); err != nil {
		st.out.printf("demo plan: not applied: %v\n", err)
		return
	}
	st.out.printf("demo plan applied: schedule %s backs up %d databases every %s and keeps 3 of each (RPO %s)\n"+
		"  watch it on the Web UI's Schedules page, or: go run ./starter plan describe demo; go run ./starter status\n",
		plan.ScheduleID(p.Name), len(p.Targets), time.Duration(p.Schedule.Every), p.RPO)
}
