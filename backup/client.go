package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

// memoRequest holds a fingerprint of the request in the workflow's memo, so an
// identical re-submission can be told from a conflicting one.
const memoRequest = "backupflow.request"

// Client starts and follows backups for other Go services.
type Client struct {
	Temporal  client.Client
	TaskQueue string
	// DataConverter must match the one the Temporal client uses (a payload
	// codec, for example) so memos and progress details can be read; nil
	// means Temporal's default.
	DataConverter converter.DataConverter
}

func (c *Client) dataConverter() converter.DataConverter {
	if c.DataConverter != nil {
		return c.DataConverter
	}
	return converter.GetDefaultDataConverter()
}

// NewClient returns a client on the default task queue.
func NewClient(c client.Client) *Client { return &Client{Temporal: c, TaskQueue: TaskQueue} }

// ConflictError means the resource already has a backup running for a different request.
type ConflictError struct {
	WorkflowID, RunID string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("a different backup of this resource is already running: workflow %s (run %s); "+
		"wait for it, or cancel it with the %q signal", e.WorkflowID, e.RunID, CancelSignal)
}

// StartCreate starts CreateBackup. An identical request for a resource whose
// backup is running attaches to it (Handle.Attached); a different one fails
// with *ConflictError naming the running workflow.
func (c *Client) StartCreate(ctx context.Context, req Request) (*Handle, error) {
	return c.Start(ctx, KindCreate, req)
}

// StartCopy starts CopyBackup, with the same rules as StartCreate.
func (c *Client) StartCopy(ctx context.Context, req Request) (*Handle, error) {
	return c.Start(ctx, KindCopy, req)
}

// Start starts the workflow of kind (CreateBackup or CopyBackup), with the
// rules of StartCreate.
func (c *Client) Start(ctx context.Context, kind Kind, req Request) (*Handle, error) {
	s, err := req.Typed(kind)
	if err != nil {
		return nil, err
	}
	id, err := req.workflowIDOf(kind, s)
	if err != nil {
		return nil, err
	}
	fp, err := fingerprint(req)
	if err != nil {
		return nil, err
	}
	opts := client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                c.TaskQueue,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		Memo:                                     map[string]any{memoRequest: fp},
		// Set at the start, so the workflow need not write them itself (a
		// visibility write each) and a backup that fails early is still found.
		TypedSearchAttributes: temporal.NewSearchAttributes(
			ProviderKey.ValueSet(req.Provider),
			ResourceKey.ValueSet(s.Resource()),
			StateKey.ValueSet(string(StateRunning)),
		),
	}
	run, err := c.Temporal.ExecuteWorkflow(ctx, opts, kind.WorkflowType(), req)
	if searchAttributesUndefined(err) {
		// The namespace lacks them (the worker warns about it): start without.
		opts.TypedSearchAttributes = temporal.SearchAttributes{}
		run, err = c.Temporal.ExecuteWorkflow(ctx, opts, kind.WorkflowType(), req)
	}
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return c.attach(ctx, id, started.RunId, fp)
	}
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", kind.WorkflowType(), err)
	}
	return &Handle{client: c, WorkflowID: id, RunID: run.GetRunID()}, nil
}

// searchAttributesUndefined reports whether a start was refused because the
// namespace has not registered backupflow's search attributes.
func searchAttributesUndefined(err error) bool {
	var invalid *serviceerror.InvalidArgument
	if !errors.As(err, &invalid) {
		return false
	}
	// "search attribute X is not defined", or with SQL visibility
	// "Namespace N has no mapping defined for search attribute X".
	for _, name := range SearchAttributeNames {
		if strings.Contains(invalid.Message, "search attribute "+name) {
			return true
		}
	}
	return false
}

func (c *Client) attach(ctx context.Context, id, runID, fp string) (*Handle, error) {
	desc, err := c.Temporal.DescribeWorkflowExecution(ctx, id, runID)
	if err != nil {
		return nil, fmt.Errorf("describe running workflow %s: %w", id, err)
	}
	var running string
	if p, ok := desc.GetWorkflowExecutionInfo().GetMemo().GetFields()[memoRequest]; ok {
		_ = c.dataConverter().FromPayload(p, &running)
	}
	if running != fp {
		return nil, &ConflictError{WorkflowID: id, RunID: runID}
	}
	return &Handle{client: c, WorkflowID: id, RunID: runID, Attached: true}, nil
}

// fingerprint identifies a request regardless of JSON formatting.
func fingerprint(req Request) (string, error) {
	var section bytes.Buffer
	if err := json.Compact(&section, req.Section); err != nil {
		return "", fmt.Errorf("%s section is not valid JSON: %w", req.Provider, err)
	}
	sum := sha256.Sum256([]byte(req.Provider + "\x00" + section.String()))
	return hex.EncodeToString(sum[:12]), nil
}

// Handle follows one backup workflow.
type Handle struct {
	client            *Client
	WorkflowID, RunID string
	// Attached is true when the start found an identical backup already running.
	Attached bool
}

// Handle returns a handle on an existing workflow (RunID may be empty: the latest run).
func (c *Client) Handle(workflowID, runID string) *Handle {
	return &Handle{client: c, WorkflowID: workflowID, RunID: runID}
}

// Progress reports where the backup is. While it runs, the workflow answers
// the progress query (a worker is needed), with the live figures of its
// pending steps (see Progress.WithPending). Once it has ended, the progress
// comes from the outcome Temporal stored, with no worker needed.
func (h *Handle) Progress(ctx context.Context) (Progress, error) {
	var p Progress
	desc, err := h.client.Temporal.DescribeWorkflowExecution(ctx, h.WorkflowID, h.RunID)
	if err != nil {
		return p, fmt.Errorf("describe %s: %w", h.WorkflowID, err)
	}
	if info := desc.GetWorkflowExecutionInfo(); info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return h.endedProgress(ctx, info)
	}
	v, err := h.client.Temporal.QueryWorkflow(ctx, h.WorkflowID, h.RunID, ProgressQuery)
	if err != nil {
		return p, fmt.Errorf("query %s: %w", h.WorkflowID, err)
	}
	return p, v.Get(&p)
}

// WithPending returns p with what the backup's pending activities (from
// DescribeWorkflowExecution) say that its history does not: the percent of
// the last poll that found the backup unfinished, and, for a step retrying
// after a busy or unfinished answer, what it waits for (the last attempt's
// message) and when it looks again. Waiting steps are kept out of history so
// that it stays flat; the worker answers the progress query with this.
func (p Progress) WithPending(pending []*workflowpb.PendingActivityInfo, dc converter.DataConverter) Progress {
	if p.State.Terminal() {
		return p
	}
	for _, pa := range pending {
		p.Attempts = max(p.Attempts, int(pa.GetAttempt()))
		failure := pa.GetLastFailure()
		if failure == nil {
			continue
		}
		var poll PollProgress
		if details := failure.GetApplicationFailureInfo().GetDetails(); details != nil && p.State == StateRunning &&
			dc.FromPayloads(details, &poll) == nil {
			p.Percent = max(p.Percent, poll.Percent)
		}
		p.Waiting, p.NextCheck = failureMessage(failure, dc), nil
		if next := pa.GetNextAttemptScheduleTime(); next != nil && pa.GetState() == enumspb.PENDING_ACTIVITY_STATE_SCHEDULED {
			t := next.AsTime()
			p.NextCheck = &t
		}
	}
	return p
}

// failureMessage is a raw failure's message. Under a payload codec the
// message is encoded (converter.EncodeCommonFailureAttributes) and the
// failure only says "Encoded failure"; dc decodes it, on a copy.
func failureMessage(f *failurepb.Failure, dc converter.DataConverter) string {
	if f.GetEncodedAttributes() == nil {
		return f.GetMessage()
	}
	decoded := &failurepb.Failure{Message: f.GetMessage(), EncodedAttributes: f.GetEncodedAttributes()}
	converter.DecodeCommonFailureAttributes(dc, decoded)
	return decoded.GetMessage()
}

// endedProgress is an ended backup's progress, read from its result or
// failure; provider and resource come from the search attributes when the
// outcome does not carry them.
func (h *Handle) endedProgress(ctx context.Context, info *workflowpb.WorkflowExecutionInfo) (Progress, error) {
	var p Progress
	p.Provider, _ = Keyword(info, SearchAttributeProvider)
	p.Resource, _ = Keyword(info, SearchAttributeResource)
	res, err := h.client.Handle(h.WorkflowID, info.GetExecution().GetRunId()).Result(ctx)
	var ended *temporal.WorkflowExecutionError
	var canceled *temporal.CanceledError
	var app *temporal.ApplicationError
	switch {
	case err == nil:
		p.State, p.Percent = StateSucceeded, 100
		p.Provider, p.Resource, p.Operation, p.BackupID, p.Attempts = res.Provider, res.Resource, res.OperationID, res.Backup.ID, res.Attempts
	case errors.As(err, &canceled):
		p.State = StateCancelled
		if report, ok := CleanupOf(err); ok {
			p.Cleanup, p.CancelReason = &report, report.Reason
		}
	case errors.As(err, &ended):
		p.State = StateFailed
		var class Class
		class, p.LastError = FailureOf(err)
		if errors.As(err, &app) {
			// A failure after cleanup carries the report (every report has
			// its reason; a provider error's details decode without one).
			var report CleanupReport
			if app.HasDetails() && app.Details(&report) == nil && report.Reason != "" {
				p.Cleanup = &report
				if class == CleanupFailed { // the cancel's cleanup failed
					p.CancelReason = report.Reason
				}
			}
		}
	default: // not an outcome: the result could not be read
		return p, fmt.Errorf("result of %s: %w", h.WorkflowID, err)
	}
	return p, nil
}

// Keyword reads a Keyword search attribute of a described or listed
// workflow; ok is false when the workflow has not set it. (Search attributes
// are never encoded by a payload codec.)
func Keyword(info *workflowpb.WorkflowExecutionInfo, name string) (v string, ok bool) {
	p, ok := info.GetSearchAttributes().GetIndexedFields()[name]
	if !ok {
		return "", false
	}
	return v, converter.GetDefaultDataConverter().FromPayload(p, &v) == nil
}

// ProgressQueryTimeout bounds one progress query in Watch: a query needs a
// worker, and a watcher must not hang when none is running.
const ProgressQueryTimeout = 5 * time.Second

// Watch waits for the backup to end and returns what Result returns. Until
// then it passes the backup's progress to onProgress at once and every
// interval (a query that fails is skipped). The percent it passes never goes
// down: between the last poll and the workflow recording 100 % there is no
// live figure, and Progress briefly reports the recorded one.
func (h *Handle) Watch(ctx context.Context, interval time.Duration, onProgress func(Progress)) (Result, error) {
	type outcome struct {
		res Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := h.Result(ctx)
		done <- outcome{res, err}
	}()
	var shown float64
	report := func() {
		qctx, cancel := context.WithTimeout(ctx, ProgressQueryTimeout)
		defer cancel()
		if p, err := h.Progress(qctx); err == nil {
			shown = max(shown, p.Percent)
			p.Percent = shown
			onProgress(p)
		}
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case o := <-done:
			return o.res, o.err
		default:
			report()
		}
		select {
		case o := <-done:
			return o.res, o.err
		case <-tick.C:
		}
	}
}

// Cancel asks the backup to stop and clean up; it ends CANCELLED with a CleanupReport.
func (h *Handle) Cancel(ctx context.Context, reason string) error {
	return h.client.Temporal.SignalWorkflow(ctx, h.WorkflowID, h.RunID, CancelSignal, CancelRequest{Reason: reason})
}

// Result waits for the backup to end. A cancelled backup returns an error for
// which CleanupOf reports what was cleaned.
func (h *Handle) Result(ctx context.Context) (Result, error) {
	var r Result
	err := h.client.Temporal.GetWorkflow(ctx, h.WorkflowID, h.RunID).Get(ctx, &r)
	return r, err
}

// CleanupOf returns the cleanup report of a cancelled backup's error.
func CleanupOf(err error) (CleanupReport, bool) {
	var canceled *temporal.CanceledError
	var report CleanupReport
	if errors.As(err, &canceled) && canceled.HasDetails() && canceled.Details(&report) == nil {
		return report, true
	}
	return report, false
}
