package plan_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/testenv"
	"github.com/backupflow/backupflow/plan"
)

// nightly is a small valid plan with two memory targets.
func nightly(t *testing.T, name string) plan.Plan {
	t.Helper()
	target := func(db string) plan.Target {
		req, err := backup.NewRequest(&backup.MemoryCreate{Target: db, Name: "nightly-${date}"})
		require.NoError(t, err)
		return plan.Target{Name: db, Request: req}
	}
	return plan.Plan{
		Name:             name,
		Schedule:         plan.Schedule{Cron: "0 3 * * *", TimeZone: "Europe/Berlin"},
		StartWindow:      plan.Duration(time.Hour),
		CompletionWindow: plan.Duration(6 * time.Hour),
		Retention:        plan.Retention{Daily: 7, KeepLastGood: 2},
		Targets:          []plan.Target{target("orders"), target("billing")},
	}
}

func fieldNames(ch plan.Change) []string {
	var names []string
	for _, f := range ch.Fields {
		names = append(names, f.Field)
	}
	return names
}

func startClient(t *testing.T) (*testenv.Env, *plan.Client) {
	t.Helper()
	env := testenv.Start(t, true)
	return env, plan.NewClient(env.Client)
}

func TestApplyCreatesOnceAndThenChangesNothing(t *testing.T) {
	env, pc := startClient(t)
	ctx := testenv.Context(t, time.Minute)
	p := nightly(t, "create-once")

	diff, err := pc.Diff(ctx, p)
	require.NoError(t, err)
	assert.Equal(t, plan.ChangeCreate, diff.Kind)

	applied, err := pc.Apply(ctx, p)
	require.NoError(t, err)
	assert.Equal(t, diff, applied, "diff says what apply does")
	assert.Equal(t, []string{"spec", "timeZone", "jitter", "overlap", "startWindow", "paused", "action",
		"input.completionWindow", "input.name", "input.retention", "input.targets"}, fieldNames(applied))

	again, err := pc.Apply(ctx, p)
	require.NoError(t, err)
	assert.Equal(t, plan.ChangeNone, again.Kind, "%+v", again.Fields)
	assert.Empty(t, again.Fields)

	desc, err := env.Client.ScheduleClient().GetHandle(ctx, plan.ScheduleID(p.Name)).Describe(ctx)
	require.NoError(t, err)
	action := desc.Schedule.Action.(*client.ScheduleWorkflowAction)
	assert.Equal(t, plan.RunWorkflow, action.Workflow)
	assert.Equal(t, "plan-run/create-once", action.ID)
	assert.Equal(t, backup.TaskQueue, action.TaskQueue)
	name, ok := action.TypedSearchAttributes.GetKeyword(plan.PlanKey)
	assert.True(t, ok)
	assert.Equal(t, p.Name, name)
	assert.Equal(t, "Europe/Berlin", desc.Schedule.Spec.TimeZoneName)
	assert.Equal(t, enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, desc.Schedule.Policy.Overlap)
	assert.Equal(t, time.Hour, desc.Schedule.Policy.CatchupWindow)
	assert.False(t, desc.Schedule.State.Paused)

	d, err := pc.Describe(ctx, p.Name)
	require.NoError(t, err)
	assert.Equal(t, "cron 0 3 * * *", d.Spec)
	require.NotNil(t, d.Plan)
	assert.Equal(t, p.Targets, d.Plan.Targets, "the schedule carries the plan")
	require.NotEmpty(t, d.NextRuns)
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	assert.Equal(t, 3, d.NextRuns[0].In(berlin).Hour(), "03:00 in the plan's time zone")
	require.Len(t, d.Inventories, 2)
	for _, inv := range d.Inventories {
		assert.Nil(t, inv.Inventory, "no run yet, so no inventory")
		assert.Empty(t, inv.Error, "a missing inventory is not an error")
	}
}

func TestDiffListsExactlyTheEditedFieldAndApplyAppliesIt(t *testing.T) {
	env, pc := startClient(t)
	ctx := testenv.Context(t, 2*time.Minute)
	cases := map[string]struct {
		edit  func(*plan.Plan)
		field string
		check func(t *testing.T, d *client.ScheduleDescription)
	}{
		"cron": {func(p *plan.Plan) { p.Schedule.Cron = "30 4 * * *" }, "spec", func(t *testing.T, d *client.ScheduleDescription) {
			require.Len(t, d.Schedule.Spec.Calendars, 1)
			assert.Equal(t, "30 4 * * *", plan.CalendarText(d.Schedule.Spec.Calendars[0]))
		}},
		"every": {func(p *plan.Plan) { p.Schedule.Cron, p.Schedule.Every = "", plan.Duration(4*time.Hour) }, "spec", func(t *testing.T, d *client.ScheduleDescription) {
			assert.Equal(t, []client.ScheduleIntervalSpec{{Every: 4 * time.Hour}}, d.Schedule.Spec.Intervals)
			assert.Empty(t, d.Schedule.Spec.Calendars)
		}},
		"time zone": {func(p *plan.Plan) { p.Schedule.TimeZone = "America/New_York" }, "timeZone", func(t *testing.T, d *client.ScheduleDescription) {
			assert.Equal(t, "America/New_York", d.Schedule.Spec.TimeZoneName)
		}},
		"jitter": {func(p *plan.Plan) { p.Schedule.Jitter = plan.Duration(5 * time.Minute) }, "jitter", func(t *testing.T, d *client.ScheduleDescription) {
			assert.Equal(t, 5*time.Minute, d.Schedule.Spec.Jitter)
		}},
		"overlap": {func(p *plan.Plan) { p.Overlap = plan.OverlapBufferOne }, "overlap", func(t *testing.T, d *client.ScheduleDescription) {
			assert.Equal(t, enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE, d.Schedule.Policy.Overlap)
		}},
		"start window": {func(p *plan.Plan) { p.StartWindow = plan.Duration(2 * time.Hour) }, "startWindow", func(t *testing.T, d *client.ScheduleDescription) {
			assert.Equal(t, 2*time.Hour, d.Schedule.Policy.CatchupWindow)
		}},
		"start window below Temporal's minimum": {func(p *plan.Plan) { p.StartWindow = plan.Duration(time.Second) }, "startWindow", func(t *testing.T, d *client.ScheduleDescription) {
			assert.Equal(t, plan.MinCatchupWindow, d.Schedule.Policy.CatchupWindow)
		}},
		"paused": {func(p *plan.Plan) { p.Paused = true }, "paused", func(t *testing.T, d *client.ScheduleDescription) {
			assert.True(t, d.Schedule.State.Paused)
		}},
		"retention":         {func(p *plan.Plan) { p.Retention.Daily = 14 }, "input.retention", nil},
		"targets":           {func(p *plan.Plan) { p.Targets = p.Targets[:1] }, "input.targets", nil},
		"completion window": {func(p *plan.Plan) { p.CompletionWindow = plan.Duration(time.Hour) }, "input.completionWindow", nil},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			p := nightly(t, "edit-"+strings.ReplaceAll(name, " ", "-"))
			_, err := pc.Apply(ctx, p)
			require.NoError(t, err)

			c.edit(&p)
			diff, err := pc.Diff(ctx, p)
			require.NoError(t, err)
			assert.Equal(t, plan.ChangeUpdate, diff.Kind)
			assert.Equal(t, []string{c.field}, fieldNames(diff), "%+v", diff.Fields)

			applied, err := pc.Apply(ctx, p)
			require.NoError(t, err)
			assert.Equal(t, diff, applied, "apply changes exactly what diff listed")

			after, err := pc.Diff(ctx, p)
			require.NoError(t, err)
			assert.Equal(t, plan.ChangeNone, after.Kind, "%+v", after.Fields)

			d, err := pc.Describe(ctx, p.Name)
			require.NoError(t, err)
			require.NotNil(t, d.Plan)
			assert.Equal(t, p.Targets, d.Plan.Targets, "the runs get the edited plan")
			assert.Equal(t, p.Retention, d.Plan.Retention)
			if c.check != nil {
				live, err := env.Client.ScheduleClient().GetHandle(ctx, plan.ScheduleID(p.Name)).Describe(ctx)
				require.NoError(t, err)
				c.check(t, live)
			}
		})
	}
}

func TestPauseResumeAndAChangeOutsideBackupflow(t *testing.T) {
	env, pc := startClient(t)
	ctx := testenv.Context(t, time.Minute)
	p := nightly(t, "pausable")
	_, err := pc.Apply(ctx, p)
	require.NoError(t, err)

	require.NoError(t, pc.Pause(ctx, p.Name, "database migration"))
	d, err := pc.Describe(ctx, p.Name)
	require.NoError(t, err)
	assert.True(t, d.Paused)
	assert.Equal(t, "database migration", d.Note)

	// The plan does not say paused: apply would resume it, and diff says so.
	diff, err := pc.Diff(ctx, p)
	require.NoError(t, err)
	require.Equal(t, []string{"paused"}, fieldNames(diff))
	assert.Equal(t, plan.FieldChange{Field: "paused", From: "true (the applied plan says false)", To: "false"}, diff.Fields[0])

	require.NoError(t, pc.Resume(ctx, p.Name, "migration done"))
	d, err = pc.Describe(ctx, p.Name)
	require.NoError(t, err)
	assert.False(t, d.Paused)
	assert.Equal(t, "migration done", d.Note)

	// A jitter set in the Web UI differs from the plan: apply restores it.
	h := env.Client.ScheduleClient().GetHandle(ctx, plan.ScheduleID(p.Name))
	require.NoError(t, h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		s := in.Description.Schedule
		s.Spec.Jitter = time.Minute
		return &client.ScheduleUpdate{Schedule: &s}, nil
	}}))
	diff, err = pc.Diff(ctx, p)
	require.NoError(t, err)
	assert.Equal(t, []plan.FieldChange{{Field: "jitter", From: "1m (the applied plan says 0s)", To: "0s"}}, diff.Fields)
	_, err = pc.Apply(ctx, p)
	require.NoError(t, err)
	live, err := h.Describe(ctx)
	require.NoError(t, err)
	assert.Zero(t, live.Schedule.Spec.Jitter)
}

func TestTriggerStartsAPlanRun(t *testing.T) {
	env, pc := startClient(t)
	ctx := testenv.Context(t, time.Minute)
	p := nightly(t, "triggered")
	p.Paused = true // a trigger runs a paused plan too
	_, err := pc.Apply(ctx, p)
	require.NoError(t, err)

	require.NoError(t, pc.Trigger(ctx, p.Name))
	var run plan.RunRef
	require.Eventually(t, func() bool {
		d, err := pc.Describe(ctx, p.Name)
		if err != nil || len(d.RecentRuns) == 0 {
			return false
		}
		run = d.RecentRuns[len(d.RecentRuns)-1]
		return true
	}, 30*time.Second, 50*time.Millisecond, "the schedule records the triggered run")
	assert.True(t, strings.HasPrefix(run.WorkflowID, "plan-run/triggered"), run.WorkflowID)

	wf, err := env.Client.DescribeWorkflowExecution(ctx, run.WorkflowID, run.RunID)
	require.NoError(t, err)
	info := wf.GetWorkflowExecutionInfo()
	assert.Equal(t, plan.RunWorkflow, info.GetType().GetName())
	assert.Equal(t, backup.TaskQueue, info.GetTaskQueue())
	name, ok := backup.Keyword(info, plan.SearchAttributePlan)
	assert.True(t, ok, "the run carries the BackupPlan search attribute")
	assert.Equal(t, p.Name, name)

	var nf *plan.NotFoundError
	require.ErrorAs(t, pc.Trigger(ctx, "never-applied"), &nf)
}

func TestDeleteRemovesOnlyTheSchedule(t *testing.T) {
	_, pc := startClient(t)
	ctx := testenv.Context(t, time.Minute)
	keep, gone := nightly(t, "kept"), nightly(t, "deleted")
	for _, p := range []plan.Plan{keep, gone} {
		_, err := pc.Apply(ctx, p)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		list, err := pc.List(ctx)
		return err == nil && len(list) == 2
	}, 30*time.Second, 50*time.Millisecond, "list finds both plans")
	list, err := pc.List(ctx)
	require.NoError(t, err)
	assert.Equal(t, "deleted", list[0].Name)
	assert.Equal(t, "kept", list[1].Name)
	assert.Equal(t, "calendar 0 3 * * * in Europe/Berlin", list[1].Spec)
	require.NotNil(t, list[1].NextRun)

	require.NoError(t, pc.Delete(ctx, gone.Name))
	_, err = pc.Describe(ctx, gone.Name)
	var nf *plan.NotFoundError
	require.ErrorAs(t, err, &nf)
	assert.Equal(t, `plan "deleted" has no schedule backupflow-plan-deleted: it was never applied, or it was deleted`, err.Error())
	require.ErrorAs(t, pc.Delete(ctx, gone.Name), &nf, "deleting twice says it is gone")
	require.ErrorAs(t, pc.Pause(ctx, gone.Name, "x"), &nf)

	diff, err := pc.Diff(ctx, gone)
	require.NoError(t, err)
	assert.Equal(t, plan.ChangeCreate, diff.Kind, "a deleted plan is created again by apply")
	_, err = pc.Describe(ctx, keep.Name)
	require.NoError(t, err, "the other plan is untouched")
}

func TestListShowsOnlyPlans(t *testing.T) {
	env, pc := startClient(t)
	ctx := testenv.Context(t, time.Minute)
	_, err := env.Client.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:     "someone-elses",
		Spec:   client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Hour}}},
		Action: &client.ScheduleWorkflowAction{Workflow: "Other", TaskQueue: "other"},
	})
	require.NoError(t, err)
	p := nightly(t, "hourly")
	p.Schedule = plan.Schedule{Every: plan.Duration(time.Hour)}
	_, err = pc.Apply(ctx, p)
	require.NoError(t, err)
	require.NoError(t, pc.Pause(ctx, p.Name, "quiet"))

	var list []plan.Summary
	require.Eventually(t, func() bool {
		list, err = pc.List(ctx)
		return err == nil && len(list) == 1 && list[0].Paused
	}, 30*time.Second, 50*time.Millisecond)
	assert.Equal(t, "every 1h", list[0].Spec)
	assert.Equal(t, "quiet", list[0].Note)
	assert.Equal(t, plan.ScheduleID("hourly"), list[0].ScheduleID)
}

func TestApplyNamesAnUnregisteredSearchAttribute(t *testing.T) {
	env := testenv.Start(t, false)
	pc := plan.NewClient(env.Client)
	_, err := pc.Apply(testenv.Context(t, time.Minute), nightly(t, "bare"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the namespace has no BackupPlan search attribute; register it "+
		"(temporal operator search-attribute create --name BackupPlan --type Keyword)")
}

func TestApplyRefusesAPlanWithoutASchedule(t *testing.T) {
	pc := plan.NewClient(nil) // refused before Temporal is reached
	ctx := testenv.Context(t, time.Second)
	cases := map[string]struct {
		edit func(*plan.Plan)
		want string
	}{
		"no times": {func(p *plan.Plan) { p.Schedule.Cron = "" }, "cron or every is required"},
		"both":     {func(p *plan.Plan) { p.Schedule.Every = plan.Duration(time.Hour) }, "give cron or every, not both"},
		"overlap":  {func(p *plan.Plan) { p.Overlap = "allowAll" }, `overlap: must be skip or bufferOne, got "allowAll"`},
		"nameless": {func(p *plan.Plan) { p.Name = "" }, "name is required"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			p := nightly(t, "bad")
			c.edit(&p)
			_, err := pc.Apply(ctx, p)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			_, err = pc.Diff(ctx, p)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestCalendarText(t *testing.T) {
	cases := map[string]client.ScheduleCalendarSpec{
		"0 3 * * *": {Minute: []client.ScheduleRange{{Start: 0}}, Hour: []client.ScheduleRange{{Start: 3}},
			DayOfMonth: []client.ScheduleRange{{Start: 1, End: 31}}, Month: []client.ScheduleRange{{Start: 1, End: 12}},
			DayOfWeek: []client.ScheduleRange{{Start: 0, End: 6}}},
		"30 0-12/2 1,15 * 1-5": {Minute: []client.ScheduleRange{{Start: 30}}, Hour: []client.ScheduleRange{{Start: 0, End: 12, Step: 2}},
			DayOfMonth: []client.ScheduleRange{{Start: 1}, {Start: 15}}, Month: []client.ScheduleRange{{Start: 1, End: 12, Step: 1}},
			DayOfWeek: []client.ScheduleRange{{Start: 1, End: 5}}},
		"15 0 0 1 1 * 2030": {Second: []client.ScheduleRange{{Start: 15}}, Month: []client.ScheduleRange{{Start: 1}},
			DayOfMonth: []client.ScheduleRange{{Start: 1}}, DayOfWeek: []client.ScheduleRange{{Start: 0, End: 6}},
			Year: []client.ScheduleRange{{Start: 2030}}},
	}
	for want, cal := range cases {
		assert.Equal(t, want, plan.CalendarText(cal))
	}
}
