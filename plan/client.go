package plan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/backupflow/backupflow/backup"
)

// MinCatchupWindow is the shortest catch-up window Temporal applies: a
// schedule asking for less gets this. A plan's StartWindow becomes its
// schedule's catch-up window, so a start window below this lets a run start
// up to this late when Temporal was unavailable at its time.
const MinCatchupWindow = 10 * time.Second

// InventoryQueryTimeout bounds one inventory query: a query needs a worker,
// and describing a plan must not hang when none is running.
const InventoryQueryTimeout = 5 * time.Second

// PlanKey is the BackupPlan search attribute, set on every run a plan's
// schedule starts so the Web UI and list queries can filter on the plan.
var PlanKey = temporal.NewSearchAttributeKeyKeyword(SearchAttributePlan)

// RPOKey is the BackupRPO search attribute of inventories (RPOMet, RPOBreached).
var RPOKey = temporal.NewSearchAttributeKeyKeyword(SearchAttributeRPO)

// Client applies plans as Temporal Schedules and reads and changes their
// inventories, for the backupflow CLI and other Go services. It talks to
// Temporal: never use it inside workflow code.
type Client struct {
	Temporal client.Client
	// TaskQueue is where the schedule starts plan runs.
	TaskQueue string
	// DataConverter must match the Temporal client's (a payload codec, for
	// example) so the plan a schedule carries can be read; nil means
	// Temporal's default.
	DataConverter converter.DataConverter
}

// NewClient returns a client on the default task queue.
func NewClient(c client.Client) *Client { return &Client{Temporal: c, TaskQueue: backup.TaskQueue} }

func (c *Client) dataConverter() converter.DataConverter {
	if c.DataConverter != nil {
		return c.DataConverter
	}
	return converter.GetDefaultDataConverter()
}

// NotFoundError means a plan has no schedule: it was never applied, or it
// was deleted.
type NotFoundError struct {
	Plan string
	Err  error
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("plan %q has no schedule %s: it was never applied, or it was deleted", e.Plan, ScheduleID(e.Plan))
}

func (e *NotFoundError) Unwrap() error { return e.Err }

// scheduleError names the plan and its schedule in err, and makes a missing
// schedule a *NotFoundError.
func scheduleError(name, verb string, err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return &NotFoundError{Plan: name, Err: err}
	}
	return fmt.Errorf("%s schedule %s of plan %q: %w", verb, ScheduleID(name), name, err)
}

// ChangeKind says what Apply does (or did) to a plan's schedule.
type ChangeKind string

const (
	ChangeNone   ChangeKind = "none"
	ChangeCreate ChangeKind = "create"
	ChangeUpdate ChangeKind = "update"
)

// Names of the schedule fields a Change lists. The plan's own fields that
// no schedule field carries are listed as "input.<json name>" (the
// schedule's action input is the plan: "input.targets", "input.retention").
const (
	FieldSpec     = "spec"
	FieldTimeZone = "timeZone"
	FieldJitter   = "jitter"
	FieldOverlap  = "overlap"
	// FieldStartWindow is the schedule's catch-up window and the run's start window.
	FieldStartWindow = "startWindow"
	FieldPaused      = "paused"
	// FieldAction is what the schedule starts: workflow type, workflow ID,
	// task queue and the BackupPlan search attribute.
	FieldAction = "action"
)

// FieldChange is one field a Change sets. From is empty for a create.
type FieldChange struct {
	Field string `json:"field"`
	From  string `json:"from,omitempty"`
	To    string `json:"to"`
}

// Change is what Apply does to one plan's schedule; Diff computes it
// without applying.
type Change struct {
	Plan       string        `json:"plan"`
	ScheduleID string        `json:"scheduleId"`
	Kind       ChangeKind    `json:"kind"`
	Fields     []FieldChange `json:"fields,omitempty"`
}

// Diff reports what Apply would change: ChangeCreate with every field when
// the plan has no schedule, ChangeUpdate with the fields that differ, or
// ChangeNone. Apply compares the same way, so it changes exactly this.
func (c *Client) Diff(ctx context.Context, p Plan) (Change, error) {
	want, err := c.settingsOf(p)
	if err != nil {
		return Change{}, err
	}
	desc, err := c.describe(ctx, p.Name)
	var nf *NotFoundError
	switch {
	case errors.As(err, &nf):
		return created(p.Name, want), nil
	case err != nil:
		return Change{}, err
	}
	return compare(p.Name, c.liveSettings(desc), want), nil
}

// Apply creates the plan's schedule, or updates it to match the plan, and
// returns what it changed; applying the same plan again changes nothing.
// Every field comes from the plan, paused included: a schedule paused with
// Pause runs again once a plan that does not say paused is applied.
//
// Apply does not validate the plan (File.Validate does) beyond what it needs
// to build the schedule.
func (c *Client) Apply(ctx context.Context, p Plan) (Change, error) {
	want, err := c.settingsOf(p)
	if err != nil {
		return Change{}, err
	}
	handle := c.Temporal.ScheduleClient().GetHandle(ctx, ScheduleID(p.Name))
	if _, err := c.describe(ctx, p.Name); err != nil {
		var nf *NotFoundError
		if !errors.As(err, &nf) {
			return Change{}, err
		}
		_, err := c.Temporal.ScheduleClient().Create(ctx, client.ScheduleOptions{
			ID:            ScheduleID(p.Name),
			Spec:          want.spec,
			Action:        want.action,
			Overlap:       want.overlap,
			CatchupWindow: want.catchupWindow,
			Paused:        want.paused,
			Note:          want.note,
		})
		if err == nil {
			return created(p.Name, want), nil
		}
		if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
			return Change{}, c.applyError(p.Name, "create", err)
		}
		// Created by a concurrent apply since we looked: update it instead.
	}
	var change Change
	err = handle.Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			change = compare(p.Name, c.liveSettings(&in.Description), want)
			if change.Kind == ChangeNone {
				return nil, temporal.ErrSkipScheduleUpdate
			}
			return &client.ScheduleUpdate{Schedule: &client.Schedule{
				Action: want.action,
				Spec:   &want.spec,
				Policy: &client.SchedulePolicies{Overlap: want.overlap, CatchupWindow: want.catchupWindow},
				State:  &client.ScheduleState{Paused: want.paused, Note: want.note},
			}}, nil
		},
	})
	if err != nil {
		return Change{}, c.applyError(p.Name, "update", err)
	}
	return change, nil
}

// applyError explains a refused create or update; an unregistered BackupPlan
// search attribute is the likely one on a namespace set up before plans.
func (c *Client) applyError(name, verb string, err error) error {
	var invalid *serviceerror.InvalidArgument
	if errors.As(err, &invalid) && strings.Contains(invalid.Message, SearchAttributePlan) {
		return fmt.Errorf("%s schedule of plan %q: the namespace has no %s search attribute; register it "+
			"(temporal operator search-attribute create --name %s --type Keyword): %w",
			verb, name, SearchAttributePlan, SearchAttributePlan, err)
	}
	return scheduleError(name, verb, err)
}

// settings is a schedule as Apply writes it, and as text per Change field.
type settings struct {
	spec          client.ScheduleSpec
	action        *client.ScheduleWorkflowAction
	overlap       enumspb.ScheduleOverlapPolicy
	catchupWindow time.Duration
	paused        bool
	note          string
	// fields are the Change fields' values, in Change order.
	fields []FieldChange
}

// settingsOf maps a plan to its schedule.
func (c *Client) settingsOf(p Plan) (settings, error) {
	var s settings
	if p.Name == "" {
		return s, errors.New("plan: name is required")
	}
	sc := p.Schedule
	switch {
	case sc.Cron != "" && sc.Every != 0:
		return s, fmt.Errorf("plan %q: schedule: give cron or every, not both", p.Name)
	case sc.Cron != "":
		s.spec.CronExpressions = []string{sc.Cron}
	case sc.Every > 0:
		s.spec.Intervals = []client.ScheduleIntervalSpec{{Every: time.Duration(sc.Every)}}
	default:
		return s, fmt.Errorf("plan %q: schedule: cron or every is required", p.Name)
	}
	s.spec.TimeZoneName = sc.TimeZone
	s.spec.Jitter = time.Duration(sc.Jitter)
	switch p.Overlap {
	case "", OverlapSkip:
		s.overlap = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
	case OverlapBufferOne:
		s.overlap = enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE
	default:
		return s, fmt.Errorf("plan %q: overlap: must be %s or %s, got %q", p.Name, OverlapSkip, OverlapBufferOne, p.Overlap)
	}
	s.catchupWindow = max(time.Duration(p.StartWindow), MinCatchupWindow)
	s.paused = p.Paused
	if p.Paused {
		s.note = "paused by the plan (paused: true)"
	}
	s.action = &client.ScheduleWorkflowAction{
		ID:                    "plan-run/" + p.Name,
		Workflow:              RunWorkflow,
		Args:                  []any{Run{Plan: p}},
		TaskQueue:             c.TaskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(PlanKey.ValueSet(p.Name)),
	}
	input, err := inputFields(p)
	if err != nil {
		return s, err
	}
	s.fields = append([]FieldChange{
		{Field: FieldSpec, To: specText(p.Schedule)},
		{Field: FieldTimeZone, To: timeZoneText(sc.TimeZone)},
		{Field: FieldJitter, To: sc.Jitter.String()},
		{Field: FieldOverlap, To: overlapText(s.overlap)},
		{Field: FieldStartWindow, To: startWindowText(p.StartWindow)},
		{Field: FieldPaused, To: strconv.FormatBool(p.Paused)},
		{Field: FieldAction, To: actionText(RunWorkflow, s.action.ID, c.TaskQueue, p.Name)},
	}, input...)
	return s, nil
}

// liveSettings reads a schedule's fields. Temporal rewrites a cron string
// into calendars, so the spec is read from the plan the schedule carries
// when the calendars are there; every other field is read from the schedule
// itself, with the carried plan's value added where the two disagree (the
// schedule was changed outside backupflow), so such a schedule differs from
// every plan and the next apply rewrites it.
func (c *Client) liveSettings(desc *client.ScheduleDescription) settings {
	var s settings
	sch := desc.Schedule
	spec := sch.Spec
	if spec == nil {
		spec = &client.ScheduleSpec{}
	}
	action, _ := sch.Action.(*client.ScheduleWorkflowAction)
	applied, planErr := c.appliedPlan(action)
	if sch.Policy != nil {
		s.overlap, s.catchupWindow = sch.Policy.Overlap, max(sch.Policy.CatchupWindow, MinCatchupWindow)
	}
	if sch.State != nil {
		s.paused = sch.State.Paused
	}
	// agree shows the live value, noting the carried plan's when it differs.
	agree := func(live, planned string) string {
		if planErr != nil || live == planned {
			return live
		}
		return live + " (the applied plan says " + planned + ")"
	}
	liveSpec := liveSpecText(*spec)
	if planErr == nil && specMatches(*spec, applied.Schedule) {
		liveSpec = specText(applied.Schedule)
	}
	startWindow := "catch-up window " + Duration(s.catchupWindow).String()
	if planErr == nil && max(time.Duration(applied.StartWindow), MinCatchupWindow) == s.catchupWindow {
		startWindow = startWindowText(applied.StartWindow)
	}
	s.fields = []FieldChange{
		{Field: FieldSpec, To: liveSpec},
		{Field: FieldTimeZone, To: agree(timeZoneText(spec.TimeZoneName), timeZoneText(applied.Schedule.TimeZone))},
		{Field: FieldJitter, To: agree(Duration(spec.Jitter).String(), applied.Schedule.Jitter.String())},
		{Field: FieldOverlap, To: agree(overlapText(s.overlap), overlapText(overlapOf(applied.Overlap)))},
		{Field: FieldStartWindow, To: startWindow},
		{Field: FieldPaused, To: agree(strconv.FormatBool(s.paused), strconv.FormatBool(applied.Paused))},
	}
	if action == nil {
		s.fields = append(s.fields, FieldChange{Field: FieldAction, To: "not a workflow"})
	} else {
		name, _ := action.TypedSearchAttributes.GetKeyword(PlanKey)
		workflow, _ := action.Workflow.(string)
		s.fields = append(s.fields, FieldChange{Field: FieldAction, To: actionText(workflow, action.ID, action.TaskQueue, name)})
	}
	if planErr != nil {
		s.fields = append(s.fields, FieldChange{Field: "input", To: "unreadable: " + planErr.Error()})
		return s
	}
	input, err := inputFields(applied)
	if err != nil {
		input = []FieldChange{{Field: "input", To: "unreadable: " + err.Error()}}
	}
	s.fields = append(s.fields, input...)
	return s
}

// appliedPlan decodes the plan a schedule's action carries.
func (c *Client) appliedPlan(action *client.ScheduleWorkflowAction) (Plan, error) {
	if action == nil || len(action.Args) != 1 {
		return Plan{}, errors.New("the schedule does not start a plan run")
	}
	payload, ok := action.Args[0].(*commonpb.Payload)
	if !ok {
		return Plan{}, fmt.Errorf("unexpected action input %T", action.Args[0])
	}
	var run Run
	if err := c.dataConverter().FromPayload(payload, &run); err != nil {
		return Plan{}, fmt.Errorf("decode the plan run's input: %w", err)
	}
	return run.Plan, nil
}

// scheduleCarried are the plan's JSON fields the schedule's own fields
// report (spec, time zone, jitter, overlap, start window, paused); the rest
// only travel in the action input and are compared there.
var scheduleCarried = []string{"schedule", "startWindow", "overlap", "paused"}

// inputFields lists the plan's other top-level fields as compact JSON, one
// "input.<name>" each, sorted by name.
func inputFields(p Plan) ([]FieldChange, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("plan %q: encode: %w", p.Name, err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("plan %q: encode: %w", p.Name, err)
	}
	var out []FieldChange
	for name, value := range fields {
		if !slices.Contains(scheduleCarried, name) {
			out = append(out, FieldChange{Field: "input." + name, To: string(value)})
		}
	}
	slices.SortFunc(out, func(a, b FieldChange) int { return strings.Compare(a.Field, b.Field) })
	return out, nil
}

// created is the Change of a create: every field, set.
func created(name string, want settings) Change {
	return Change{Plan: name, ScheduleID: ScheduleID(name), Kind: ChangeCreate, Fields: want.fields}
}

// compare lists the fields whose values differ, in want's order (fields
// only live has, such as an input field the plan no longer has, follow).
func compare(name string, live, want settings) Change {
	ch := Change{Plan: name, ScheduleID: ScheduleID(name), Kind: ChangeNone}
	liveValue := map[string]string{}
	for _, f := range live.fields {
		liveValue[f.Field] = f.To
	}
	seen := map[string]bool{}
	for _, f := range want.fields {
		seen[f.Field] = true
		if from, ok := liveValue[f.Field]; !ok || from != f.To {
			ch.Fields = append(ch.Fields, FieldChange{Field: f.Field, From: from, To: f.To})
		}
	}
	for _, f := range live.fields {
		if !seen[f.Field] {
			ch.Fields = append(ch.Fields, FieldChange{Field: f.Field, From: f.To, To: ""})
		}
	}
	if len(ch.Fields) > 0 {
		ch.Kind = ChangeUpdate
	}
	return ch
}

func specText(s Schedule) string {
	if s.Cron != "" {
		return "cron " + s.Cron
	}
	return "every " + s.Every.String()
}

// specMatches reports whether a live spec has the shape the plan's schedule
// gives it: the interval itself, or calendars (what a cron string becomes).
func specMatches(live client.ScheduleSpec, s Schedule) bool {
	if len(live.CronExpressions) > 0 || len(live.Skip) > 0 || !live.StartAt.IsZero() || !live.EndAt.IsZero() {
		return false
	}
	if s.Cron != "" {
		return len(live.Calendars) > 0 && len(live.Intervals) == 0 ||
			strings.HasPrefix(s.Cron, "@every") && len(live.Calendars) == 0 && len(live.Intervals) == 1
	}
	return len(live.Calendars) == 0 && len(live.Intervals) == 1 &&
		live.Intervals[0] == client.ScheduleIntervalSpec{Every: time.Duration(s.Every)}
}

// liveSpecText describes a spec as Temporal holds it.
func liveSpecText(spec client.ScheduleSpec) string {
	var parts []string
	for _, c := range spec.Calendars {
		parts = append(parts, "calendar "+CalendarText(c))
	}
	for _, i := range spec.Intervals {
		t := "every " + Duration(i.Every).String()
		if i.Offset != 0 {
			t += " offset " + Duration(i.Offset).String()
		}
		parts = append(parts, t)
	}
	for _, c := range spec.CronExpressions {
		parts = append(parts, "cron "+c)
	}
	if len(spec.Skip) > 0 {
		parts = append(parts, fmt.Sprintf("%d skip rules", len(spec.Skip)))
	}
	if len(parts) == 0 {
		return "no times"
	}
	return strings.Join(parts, "; ")
}

// CalendarText writes a calendar as cron-like fields: second (when not 0),
// minute, hour, day of month, month, day of week (0 is Sunday), and year
// when limited.
func CalendarText(c client.ScheduleCalendarSpec) string {
	fields := []string{
		rangesText(c.Minute, 0, 59),
		rangesText(c.Hour, 0, 23),
		rangesText(c.DayOfMonth, 1, 31),
		rangesText(c.Month, 1, 12),
		rangesText(c.DayOfWeek, 0, 6),
	}
	if sec := rangesText(c.Second, 0, 59); sec != "0" {
		fields = append([]string{sec}, fields...)
	}
	if len(c.Year) > 0 {
		fields = append(fields, rangesText(c.Year, 0, 0))
	}
	return strings.Join(fields, " ")
}

func rangesText(rs []client.ScheduleRange, lo, hi int) string {
	var parts []string
	for _, r := range rs {
		end, step := max(r.End, r.Start), max(r.Step, 1)
		switch {
		case r.Start == lo && end == hi && step == 1 && hi > 0:
			parts = append(parts, "*")
		case end == r.Start:
			parts = append(parts, strconv.Itoa(r.Start))
		case step == 1:
			parts = append(parts, fmt.Sprintf("%d-%d", r.Start, end))
		default:
			parts = append(parts, fmt.Sprintf("%d-%d/%d", r.Start, end, step))
		}
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, ",")
}

// timeZoneText names a zone; Temporal reads no zone as UTC.
func timeZoneText(tz string) string {
	if tz == "" {
		return "UTC"
	}
	return tz
}

func overlapOf(o Overlap) enumspb.ScheduleOverlapPolicy {
	if o == OverlapBufferOne {
		return enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE
	}
	return enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
}

func overlapText(o enumspb.ScheduleOverlapPolicy) string {
	switch o {
	case enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, enumspb.SCHEDULE_OVERLAP_POLICY_UNSPECIFIED:
		return string(OverlapSkip)
	case enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE:
		return string(OverlapBufferOne)
	}
	return strings.TrimPrefix(o.String(), "SCHEDULE_OVERLAP_POLICY_")
}

func startWindowText(d Duration) string {
	t := d.String()
	if d.Std() < MinCatchupWindow {
		t += " (catch-up window " + Duration(MinCatchupWindow).String() + ", Temporal's minimum)"
	}
	return t
}

func actionText(workflow, id, taskQueue, plan string) string {
	return fmt.Sprintf("start %s %s on task queue %s with %s=%s", workflow, id, taskQueue, SearchAttributePlan, plan)
}

// describe fetches a plan's schedule.
func (c *Client) describe(ctx context.Context, name string) (*client.ScheduleDescription, error) {
	desc, err := c.Temporal.ScheduleClient().GetHandle(ctx, ScheduleID(name)).Describe(ctx)
	if err != nil {
		return nil, scheduleError(name, "describe", err)
	}
	return desc, nil
}

// RunRef is one plan run a schedule started.
type RunRef struct {
	// ScheduledAt is the run's nominal time plus jitter; StartedAt when
	// Temporal started it (a manual trigger's are equal).
	ScheduledAt time.Time `json:"scheduledAt"`
	StartedAt   time.Time `json:"startedAt"`
	WorkflowID  string    `json:"workflowId,omitempty"`
	RunID       string    `json:"runId,omitempty"`
}

func runRefs(actions []client.ScheduleActionResult) []RunRef {
	refs := make([]RunRef, 0, len(actions))
	for _, a := range actions {
		r := RunRef{ScheduledAt: a.ScheduleTime, StartedAt: a.ActualTime}
		if w := a.StartWorkflowResult; w != nil {
			r.WorkflowID, r.RunID = w.WorkflowID, w.FirstExecutionRunID
		}
		refs = append(refs, r)
	}
	return refs
}

// Summary is one applied plan, as List reports it.
type Summary struct {
	Name       string `json:"name"`
	ScheduleID string `json:"scheduleId"`
	// Spec is the schedule's times as Temporal holds them (a cron string
	// reads as the calendar it became).
	Spec    string     `json:"spec"`
	Paused  bool       `json:"paused"`
	Note    string     `json:"note,omitempty"`
	NextRun *time.Time `json:"nextRun,omitempty"`
	LastRun *RunRef    `json:"lastRun,omitempty"`
}

// List returns every applied plan: the schedules whose ID starts with
// ScheduleID's prefix, sorted by name. Schedule listing goes through
// Temporal visibility, so a schedule just created or deleted may show (or
// remain) a moment later.
func (c *Client) List(ctx context.Context) ([]Summary, error) {
	prefix := ScheduleID("")
	it, err := c.Temporal.ScheduleClient().List(ctx, client.ScheduleListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	out := []Summary{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("list schedules: %w", err)
		}
		name, ok := strings.CutPrefix(e.ID, prefix)
		if !ok {
			continue
		}
		s := Summary{Name: name, ScheduleID: e.ID, Paused: e.Paused, Note: e.Note, Spec: "unknown"}
		if e.Spec != nil {
			s.Spec = liveSpecText(*e.Spec)
			if tz := e.Spec.TimeZoneName; tz != "" {
				s.Spec += " in " + tz
			}
		}
		if len(e.NextActionTimes) > 0 {
			s.NextRun = &e.NextActionTimes[0]
		}
		if recent := runRefs(e.RecentActions); len(recent) > 0 {
			s.LastRun = &recent[len(recent)-1]
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Summary) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Description is one applied plan in full, as Describe reports it.
type Description struct {
	Name       string `json:"name"`
	ScheduleID string `json:"scheduleId"`
	// Spec is as the applied plan wrote it when the schedule still has that
	// shape, otherwise as Temporal holds it.
	Spec          string      `json:"spec"`
	TimeZone      string      `json:"timeZone"`
	Jitter        Duration    `json:"jitter,omitempty"`
	Overlap       string      `json:"overlap"`
	CatchupWindow Duration    `json:"catchupWindow"`
	Paused        bool        `json:"paused"`
	Note          string      `json:"note,omitempty"`
	NextRuns      []time.Time `json:"nextRuns"`
	// RecentRuns are the latest runs started (by the schedule or a
	// trigger), oldest first; Running those still running.
	RecentRuns []RunRef  `json:"recentRuns"`
	Running    []RunRef  `json:"running,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt,omitzero"`
	// Plan is the plan as applied (what every run gets); PlanError says
	// why it could not be read.
	Plan      *Plan  `json:"plan,omitempty"`
	PlanError string `json:"planError,omitempty"`
	// Inventories has one entry per target of the applied plan.
	Inventories []TargetInventory `json:"inventories,omitempty"`
}

// TargetInventory is one target's inventory, when it can be read.
type TargetInventory struct {
	Target string `json:"target"`
	// Inventory is nil when the target has none yet (its first run makes
	// it) or it could not be read (Error says why).
	Inventory *Inventory `json:"inventory,omitempty"`
	Error     string     `json:"error,omitempty"`
}

// Describe returns a plan's schedule, the plan as applied and each target's
// inventory. Inventories are queried (a worker must be running); one that
// does not exist yet is left out, one that cannot be read says why.
func (c *Client) Describe(ctx context.Context, name string) (*Description, error) {
	desc, err := c.describe(ctx, name)
	if err != nil {
		return nil, err
	}
	d := &Description{
		Name:       name,
		ScheduleID: ScheduleID(name),
		NextRuns:   desc.Info.NextActionTimes,
		RecentRuns: runRefs(desc.Info.RecentActions),
		CreatedAt:  desc.Info.CreatedAt,
		UpdatedAt:  desc.Info.LastUpdateAt,
	}
	for _, w := range desc.Info.RunningWorkflows {
		d.Running = append(d.Running, RunRef{WorkflowID: w.WorkflowID, RunID: w.FirstExecutionRunID})
	}
	sch := desc.Schedule
	spec := sch.Spec
	if spec == nil {
		spec = &client.ScheduleSpec{}
	}
	d.TimeZone, d.Jitter, d.Spec = timeZoneText(spec.TimeZoneName), Duration(spec.Jitter), liveSpecText(*spec)
	if sch.Policy != nil {
		d.Overlap, d.CatchupWindow = overlapText(sch.Policy.Overlap), Duration(sch.Policy.CatchupWindow)
	}
	if sch.State != nil {
		d.Paused, d.Note = sch.State.Paused, sch.State.Note
	}
	action, _ := sch.Action.(*client.ScheduleWorkflowAction)
	applied, err := c.appliedPlan(action)
	if err != nil {
		d.PlanError = err.Error()
		return d, nil
	}
	d.Plan = &applied
	if specMatches(*spec, applied.Schedule) {
		d.Spec = specText(applied.Schedule)
	}
	for _, t := range applied.Targets {
		ti := TargetInventory{Target: t.Name}
		inv, found, err := c.inventory(ctx, name, t.Name)
		switch {
		case err != nil:
			ti.Error = err.Error()
		case found:
			ti.Inventory = &inv
		}
		d.Inventories = append(d.Inventories, ti)
	}
	return d, nil
}

// inventory queries one target's inventory; found is false when the target
// has none.
func (c *Client) inventory(ctx context.Context, plan, target string) (inv Inventory, found bool, err error) {
	qctx, cancel := context.WithTimeout(ctx, InventoryQueryTimeout)
	defer cancel()
	v, err := c.Temporal.QueryWorkflow(qctx, InventoryID(plan, target), "", InventoryQuery)
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return inv, false, nil
	case err != nil:
		return inv, false, fmt.Errorf("query inventory %s (is a worker running?): %w", InventoryID(plan, target), err)
	}
	if err := v.Get(&inv); err != nil {
		return inv, false, fmt.Errorf("decode inventory %s: %w", InventoryID(plan, target), err)
	}
	return inv, true, nil
}

// Pause stops the plan's scheduled runs until Resume (or an Apply of the
// plan without paused); note says why, in the schedule.
func (c *Client) Pause(ctx context.Context, name, note string) error {
	err := c.Temporal.ScheduleClient().GetHandle(ctx, ScheduleID(name)).Pause(ctx, client.SchedulePauseOptions{Note: note})
	if err != nil {
		return scheduleError(name, "pause", err)
	}
	return nil
}

// Resume lets a paused plan's runs start again; note says why.
func (c *Client) Resume(ctx context.Context, name, note string) error {
	err := c.Temporal.ScheduleClient().GetHandle(ctx, ScheduleID(name)).Unpause(ctx, client.ScheduleUnpauseOptions{Note: note})
	if err != nil {
		return scheduleError(name, "resume", err)
	}
	return nil
}

// Trigger starts a run of the plan now, paused or not, under the schedule's
// overlap policy (a run already running may make it skip or wait).
func (c *Client) Trigger(ctx context.Context, name string) error {
	err := c.Temporal.ScheduleClient().GetHandle(ctx, ScheduleID(name)).Trigger(ctx, client.ScheduleTriggerOptions{})
	if err != nil {
		return scheduleError(name, "trigger", err)
	}
	return nil
}

// Delete removes the plan's schedule, so no further run starts. It deletes
// no backup and no inventory: runs already started go on, and the backups
// the plan made stay, with their inventories, until retention or an
// operator removes them.
func (c *Client) Delete(ctx context.Context, name string) error {
	if err := c.Temporal.ScheduleClient().GetHandle(ctx, ScheduleID(name)).Delete(ctx); err != nil {
		return scheduleError(name, "delete", err)
	}
	return nil
}

// Hold adds (or, with change.Remove, removes) a hold on one target's
// backups, or on every target of the plan as applied when target is empty,
// and returns the inventories as they are afterwards. A hold is an update
// of the target's inventory: a worker must be running, and the inventory
// must exist (the plan's first run creates it). Hold.At defaults to now.
func (c *Client) Hold(ctx context.Context, plan, target string, change HoldChange) ([]Inventory, error) {
	targets, err := c.targets(ctx, plan, target)
	if err != nil {
		return nil, err
	}
	if change.Hold.At.IsZero() {
		change.Hold.At = time.Now().UTC()
	}
	var out []Inventory
	for _, t := range targets {
		handle, err := c.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID:   InventoryID(plan, t),
			UpdateName:   HoldUpdate,
			Args:         []any{change},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		var inv Inventory
		if err == nil {
			err = handle.Get(ctx, &inv)
		}
		var nf *serviceerror.NotFound
		switch {
		case errors.As(err, &nf):
			return out, fmt.Errorf("plan %q target %q has no inventory (%s) yet: the plan's first run creates it: %w",
				plan, t, InventoryID(plan, t), err)
		case err != nil:
			return out, fmt.Errorf("hold on plan %q target %q (%s): %w", plan, t, InventoryID(plan, t), err)
		}
		out = append(out, inv)
	}
	return out, nil
}

// TargetHolds are one target's holds.
type TargetHolds struct {
	Target string `json:"target"`
	Holds  []Hold `json:"holds"`
}

// Holds lists the holds on every target of the plan as applied (a target
// without an inventory has none). A worker must be running.
func (c *Client) Holds(ctx context.Context, plan string) ([]TargetHolds, error) {
	targets, err := c.targets(ctx, plan, "")
	if err != nil {
		return nil, err
	}
	out := make([]TargetHolds, 0, len(targets))
	for _, t := range targets {
		inv, _, err := c.inventory(ctx, plan, t)
		if err != nil {
			return nil, err
		}
		out = append(out, TargetHolds{Target: t, Holds: append([]Hold{}, inv.Holds...)})
	}
	return out, nil
}

// targets is the one target named, or every target of the plan as applied.
func (c *Client) targets(ctx context.Context, plan, target string) ([]string, error) {
	if target != "" {
		return []string{target}, nil
	}
	desc, err := c.describe(ctx, plan)
	if err != nil {
		return nil, err
	}
	action, _ := desc.Schedule.Action.(*client.ScheduleWorkflowAction)
	applied, err := c.appliedPlan(action)
	if err != nil {
		return nil, fmt.Errorf("plan %q: read the applied plan for its targets (name one instead): %w", plan, err)
	}
	names := make([]string, 0, len(applied.Targets))
	for _, t := range applied.Targets {
		names = append(names, t.Name)
	}
	return names, nil
}

// TargetRetention is one target's retention pass, as Retain ran it.
type TargetRetention struct {
	Target string          `json:"target"`
	Report RetentionReport `json:"report"`
}

// Retain runs a retention pass on the plan's targets (or on target only)
// and returns what each decided and did. With req.DryRun nothing is
// deleted; with a dry run and under set, each target is judged by under's
// retention instead of the applied one (what would this file delete?).
func (c *Client) Retain(ctx context.Context, name, target string, req RetainRequest, under *Plan) ([]TargetRetention, error) {
	targets, err := c.targets(ctx, name, target)
	if err != nil {
		return nil, err
	}
	out := make([]TargetRetention, 0, len(targets))
	for _, t := range targets {
		r := req
		if under != nil && r.DryRun {
			i := slices.IndexFunc(under.Targets, func(x Target) bool { return x.Name == t })
			if i < 0 {
				return out, fmt.Errorf("plan %q in the file has no target %q", under.Name, t)
			}
			pol := under.PolicyOf(under.Targets[i])
			r.Policy = &pol
		}
		handle, err := c.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID:   InventoryID(name, t),
			UpdateName:   RetainUpdate,
			Args:         []any{r},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		var rep RetentionReport
		if err == nil {
			err = handle.Get(ctx, &rep)
		}
		var nf *serviceerror.NotFound
		switch {
		case errors.As(err, &nf):
			return out, fmt.Errorf("plan %q target %q has no inventory (%s) yet: the plan's first run creates it: %w",
				name, t, InventoryID(name, t), err)
		case err != nil:
			return out, fmt.Errorf("retention of plan %q target %q: %w", name, t, err)
		}
		out = append(out, TargetRetention{Target: t, Report: rep})
	}
	return out, nil
}
