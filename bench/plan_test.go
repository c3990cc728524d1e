package main

import (
	"errors"
	"testing"
)

func TestRecordPlanKeepsTheLastCompletedSizeNextToFailures(t *testing.T) {
	var r report
	r.recordPlan(&planResult{Targets: 10000, PlanBytes: 1 << 20}, errors.New("stuck"), "big")
	done := &planResult{Targets: 1000, Rounds: []planRound{{Label: "run 1"}}}
	r.recordPlan(done, nil, "small")
	if r.Plan != done || len(r.PlanFailures) != 1 || r.PlanFailures[0].Targets != 10000 || r.PlanFailures[0].Err != "stuck" {
		t.Fatalf("a completed size must not drop another size's failure: plan %+v, failures %+v", r.Plan, r.PlanFailures)
	}
	r.recordPlan(&planResult{Targets: 1000}, errors.New("later failure"), "small again")
	if r.Plan != done || len(r.PlanFailures) != 2 {
		t.Fatalf("a failed run must keep the earlier measurement and add its failure: plan %+v, failures %+v", r.Plan, r.PlanFailures)
	}
	r.recordPlan(&planResult{Targets: 10000, Rounds: []planRound{{Label: "run 1"}}}, nil, "big again")
	if r.Plan.Targets != 10000 || len(r.PlanFailures) != 1 || r.PlanFailures[0].Targets != 1000 {
		t.Fatalf("a size that completes replaces its own failure only: plan %+v, failures %+v", r.Plan, r.PlanFailures)
	}
}

func TestHistoryCountMinusIsWhatARunAdded(t *testing.T) {
	before := historyCount{Events: 7, WorkflowStarts: 1, Signals: 1, Timers: 2, WorkflowTasks: 1}
	after := historyCount{Events: 25, WorkflowStarts: 1, Signals: 2, Timers: 3, ActivityAttempts: 2, WorkflowTasks: 4}
	after.minus(before)
	want := historyCount{Events: 18, Signals: 1, Timers: 1, ActivityAttempts: 2, WorkflowTasks: 3}
	if after != want {
		t.Fatalf("got %+v, want %+v", after, want)
	}
	if after.actions() != 4 {
		t.Fatalf("actions of the difference: got %d, want 4 (signal, timer, two activities)", after.actions())
	}
}

func TestChildRunsSplitsAboveOneBatch(t *testing.T) {
	for targets, want := range map[int]int{1: 0, 100: 0, 101: 2, 1000: 10, 10000: 100} {
		if got := childRuns(targets); got != want {
			t.Errorf("childRuns(%d) = %d, want %d", targets, got, want)
		}
	}
}
