package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/backupflow/backupflow/backup"
)

// Output is what a command prints: text for people, or one JSON document.
type Output interface {
	exitCode() int
	// errorText is the message for stderr, empty when the command succeeded.
	errorText() string
	writeText(w io.Writer)
}

// Statuses of a backup workflow, as the CLI reports them. The terminal ones
// match backup.State where Temporal and backupflow agree.
const (
	StatusRunning    = "RUNNING"
	StatusSucceeded  = string(backup.StateSucceeded)
	StatusFailed     = string(backup.StateFailed)
	StatusCancelled  = string(backup.StateCancelled)
	StatusTerminated = "TERMINATED"
	StatusTimedOut   = "TIMED_OUT"
)

// Report is the outcome of create, copy, watch, cancel and describe.
type Report struct {
	WorkflowID   string `json:"workflowId,omitempty"`
	RunID        string `json:"runId,omitempty"`
	WorkflowType string `json:"workflowType,omitempty"`
	// Attached: the start found the identical backup already running and follows it.
	Attached        bool `json:"attached,omitempty"`
	CancelRequested bool `json:"cancelRequested,omitempty"`
	// Status is RUNNING, SUCCEEDED, FAILED, CANCELLED, TERMINATED or TIMED_OUT.
	Status    string     `json:"status,omitempty"`
	StartTime *time.Time `json:"startTime,omitempty"`
	CloseTime *time.Time `json:"closeTime,omitempty"`
	// Progress is the workflow's answer to the progress query.
	Progress      *backup.Progress `json:"progress,omitempty"`
	ProgressError string           `json:"progressError,omitempty"`
	Result        *backup.Result   `json:"result,omitempty"`
	Failure       *Failure         `json:"failure,omitempty"`
	// Cleanup says what was removed after a cancel (or a failure).
	Cleanup *backup.CleanupReport `json:"cleanup,omitempty"`
	// Error is the command's own error: bad input, conflict, connection.
	Error string `json:"error,omitempty"`
	// Field is the request field at fault, for bad input.
	Field    string `json:"field,omitempty"`
	Hint     string `json:"hint,omitempty"`
	ExitCode int    `json:"exitCode"`
}

// Failure is why a backup did not succeed, as backup.FailureOf reads it.
type Failure struct {
	Message string `json:"message"`
	// Type is the error class (InvalidArgument, NotFound, Permission,
	// BackupFailed, Timeout, CleanupFailed, ...; see backup.Class).
	Type backup.Class `json:"type,omitempty"`
}

func (r *Report) exitCode() int { return r.ExitCode }

func (r *Report) errorText() string {
	var parts []string
	if r.Error != "" {
		parts = append(parts, r.Error)
	}
	if r.ExitCode != ExitOK && r.Error == "" && r.Failure != nil {
		parts = append(parts, r.Failure.Message)
	}
	if r.Hint != "" {
		parts = append(parts, r.Hint)
	}
	return strings.Join(parts, "\n")
}

func (r *Report) writeText(w io.Writer) {
	if r.WorkflowID == "" {
		return // only an error, already on stderr
	}
	if r.Status == StatusRunning && r.Progress == nil {
		if r.Error == "" {
			fmt.Fprintf(w, "follow it with: backupflow watch %s\n", r.WorkflowID)
		}
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t%s\n", k, fmt.Sprintf(format, args...)) }
	row("workflow", "%s", r.WorkflowID)
	if r.RunID != "" {
		row("run", "%s", r.RunID)
	}
	if r.WorkflowType != "" {
		row("type", "%s", r.WorkflowType)
	}
	row("status", "%s", r.Status)
	if p := r.Progress; p != nil {
		row("state", "%s %d%%", p.State, percent(*p))
		if p.Resource != "" {
			row("resource", "%s/%s", p.Provider, p.Resource)
		}
		if p.Operation != "" {
			row("operation", "%s", p.Operation)
		}
		if p.BackupID != "" && r.Result == nil {
			row("backup", "%s", p.BackupID)
		}
		if p.Attempts > 0 {
			row("attempts", "%d", p.Attempts)
		}
		if p.Waiting != "" {
			row("waiting", "%s", p.Waiting)
		}
		if p.NextCheck != nil {
			row("next check", "%s", p.NextCheck.Local().Format(time.RFC3339))
		}
		if p.LastError != "" {
			row("last error", "%s", p.LastError)
		}
		if p.CancelReason != "" {
			row("cancel reason", "%s", p.CancelReason)
		}
	} else if r.ProgressError != "" {
		row("state", "unknown (%s)", r.ProgressError)
	}
	if r.StartTime != nil {
		row("started", "%s", r.StartTime.Local().Format(time.RFC3339))
	}
	if r.CloseTime != nil {
		row("closed", "%s", r.CloseTime.Local().Format(time.RFC3339))
	}
	if res := r.Result; res != nil {
		b := res.Backup
		desc := b.ID
		if b.Name != "" && b.Name != b.ID {
			desc += " (" + b.Name + ")"
		}
		if b.State != "" {
			desc += ", " + b.State
		}
		if b.SizeBytes != nil {
			desc += fmt.Sprintf(", %d bytes", *b.SizeBytes)
		}
		row("backup", "%s", desc)
		if b.ExpireTime != nil {
			row("expires", "%s", b.ExpireTime.Local().Format(time.RFC3339))
		}
		row("elapsed", "%s in %d attempts", time.Duration(res.Elapsed).Round(time.Millisecond), res.Attempts)
	}
	if f := r.Failure; f != nil {
		row("failure", "%s", f.Message)
	}
	if c := r.Cleanup; c != nil {
		desc := fmt.Sprintf("created=%t cancelledAtProvider=%t", c.Created, c.CancelledAtProvider)
		if len(c.Deleted) > 0 {
			desc += " deleted=" + strings.Join(c.Deleted, ",")
		}
		for _, k := range c.Kept {
			desc += fmt.Sprintf(" kept=%s (%s)", k.ID, k.Reason)
		}
		if c.Note != "" {
			desc += " (" + c.Note + ")"
		}
		row("cleanup", "%s", desc)
	}
	_ = tw.Flush()
}

// errorReport is the outcome of a command that failed before or without a workflow outcome.
func errorReport(err error) *Report {
	rep := &Report{Error: err.Error(), ExitCode: ExitError}
	var in *InputError
	switch {
	case errors.As(err, &in):
		rep.ExitCode, rep.Field = ExitBadInput, in.Field
	case isNotFound(err):
		rep.ExitCode = ExitBadInput
	}
	return rep
}

func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}

// Classify maps what waiting for a workflow returned to a status and an exit
// code, from its class (backup.FailureOf). A refused request (InvalidArgument:
// a provider rule the CLI cannot check, such as a name format or an
// expireTime window; Unsupported: no such API) is bad input.
func Classify(err error) (status string, code int) {
	if err == nil {
		return StatusSucceeded, ExitOK
	}
	var wee *temporal.WorkflowExecutionError
	isWorkflow := errors.As(err, &wee)
	class, _ := backup.FailureOf(err)
	switch class {
	case backup.Cancelled:
		return StatusCancelled, ExitCancelled
	case backup.Terminated:
		return StatusTerminated, ExitFailed
	case backup.Timeout:
		if workflowTimedOut(err, wee) {
			return StatusTimedOut, ExitFailed
		}
	case backup.InvalidArgument, backup.Unsupported:
		return StatusFailed, ExitBadInput
	}
	switch {
	case isWorkflow:
		return StatusFailed, ExitFailed
	case isNotFound(err):
		return "", ExitBadInput
	}
	return "", ExitError
}

// workflowTimedOut tells the workflow's own timeout (Temporal's TIMED_OUT
// status) from a step's, which fails the workflow: it is how the workflow
// ended, not what an activity saw on the way.
func workflowTimedOut(err error, wee *temporal.WorkflowExecutionError) bool {
	top := err
	if wee != nil {
		top = wee.Unwrap()
	}
	_, ok := top.(*temporal.TimeoutError)
	return ok
}

// settle records a workflow's outcome in the report.
func settle(rep *Report, res backup.Result, err error) {
	status, code := Classify(err)
	rep.ExitCode = code
	if status == "" { // not an outcome: we stopped waiting, or could not ask
		rep.Error = err.Error()
		if errors.Is(err, converter.ErrEncodingIsNotSupported) { // an encrypted result, read without the codec
			rep.Hint = "the workers encrypt payloads: set BACKUPFLOW_CODEC_KEY_FILE to their key file"
		}
		return
	}
	rep.Status = status
	switch {
	case err == nil:
		rep.Result = &res
	case status == StatusCancelled:
		if report, ok := backup.CleanupOf(err); ok {
			rep.Cleanup = &report
		}
	default:
		class, msg := backup.FailureOf(err)
		rep.Failure = &Failure{Message: msg, Type: class}
		if code == ExitBadInput {
			rep.Field = fieldOf(err)
		}
	}
	if rep.Cleanup == nil && rep.Progress != nil && rep.Progress.Cleanup != nil {
		rep.Cleanup = rep.Progress.Cleanup
	}
}

// fieldOf reads the field a provider rule names from the error's details
// (the activities attach the classified provider error).
func fieldOf(err error) string {
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || !app.HasDetails() {
		return ""
	}
	var d struct {
		Field string `json:"field"`
	}
	if app.Details(&d) != nil {
		return ""
	}
	return d.Field
}

// statusOf names a Temporal execution status the way the CLI reports outcomes.
func statusOf(s enumspb.WorkflowExecutionStatus) string {
	switch s {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return StatusRunning
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return StatusSucceeded
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
		return StatusFailed
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return StatusCancelled
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return StatusTerminated
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return StatusTimedOut
	}
	return strings.TrimPrefix(s.String(), "WORKFLOW_EXECUTION_STATUS_")
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
