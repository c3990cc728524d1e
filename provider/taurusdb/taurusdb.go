// Package taurusdb drives manual backups of Huawei Cloud TaurusDB (GaussDB for
// MySQL) through the official SDK, huaweicloud-sdk-go-v3 services/gaussdb/v3.
//
// Create is CreateGaussMySqlBackup (instance_id, name, description and the
// X-Language header); progress comes from the job API (ShowGaussMySqlJobInfo:
// status and process percent); the final record is confirmed through
// ShowGaussMySqlBackupList. TaurusDB has no API to stop a backup: Cancel
// reports false and the caller waits for the end, then Delete
// (DeleteGaussMySqlBackup; a backup still building cannot be deleted, Busy).
package taurusdb

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	gaussdb "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/gaussdb/v3"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/gaussdb/v3/model"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/huaweicloud"
)

const name = backup.ProviderTaurusDB

// Field names in errors: "taurusdb.<json field>".
const (
	fieldInstanceID  = name + ".instance_id"
	fieldName        = name + ".name"
	fieldDescription = name + ".description"
	fieldLanguage    = name + ".X-Language"
)

// extraLanguage keeps the request's X-Language in the Operation so every
// later call speaks the same language.
const extraLanguage = "X-Language"

// instanceIDRule is the documented instance ID: 36 letters and digits ending in07.
var instanceIDRule = regexp.MustCompile(`^[A-Za-z0-9]{32}in07$`)

// Driver is the TaurusDB driver.
type Driver struct {
	client *gaussdb.GaussDBClient
	now    func() time.Time
}

var _ provider.Driver = (*Driver)(nil)

// New builds a driver from the configuration; errors name each bad variable.
func New(cfg Config) (*Driver, error) {
	endpoint, sk, err := cfg.resolve()
	if err != nil {
		return nil, fmt.Errorf("taurusdb configuration: %w", err)
	}
	cred, err := basic.NewCredentialsBuilder().WithAk(cfg.AccessKey).WithSk(sk).WithProjectId(cfg.ProjectID).SafeBuild()
	if err != nil {
		return nil, fmt.Errorf("taurusdb credentials: %w", err)
	}
	hc, err := huaweicloud.BuildClient(gaussdb.GaussDBClientBuilder(), huaweicloud.ClientOptions{
		Endpoint: endpoint, Credential: cred, Timeout: cfg.CallTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("taurusdb: %w", err)
	}
	return &Driver{client: gaussdb.NewGaussDBClient(hc), now: time.Now}, nil
}

func (*Driver) Name() string       { return name }
func (*Driver) SupportsCopy() bool { return false }

// parse decodes the section strictly and enforces every rule of seed 002.
func parse(kind backup.Kind, raw json.RawMessage) (backup.TaurusDBCreate, error) {
	var s backup.TaurusDBCreate
	if kind != backup.KindCreate {
		return s, &provider.Error{Class: provider.Unsupported, Provider: name, Field: "kind", Rule: "create only",
			Message: fmt.Sprintf("TaurusDB has no per-backup %s API (only a cross-region backup policy)", kind)}
	}
	if err := backup.DecodeStrict(raw, &s); err != nil {
		return s, provider.Invalid(name, "%v", err)
	}
	switch {
	case s.InstanceID == "":
		return s, provider.Invalid(fieldInstanceID, "is required: 36 letters and digits ending in07")
	case len(s.InstanceID) != 36:
		return s, provider.Invalid(fieldInstanceID, "%q is %d characters long; an instance ID is 36 letters and digits ending in07", s.InstanceID, len(s.InstanceID))
	case !instanceIDRule.MatchString(s.InstanceID):
		return s, provider.Invalid(fieldInstanceID, "%q: an instance ID is 36 letters and digits ending in07", s.InstanceID)
	}
	if err := huaweicloud.ValidateBackupName(fieldName, s.Name); err != nil {
		return s, err
	}
	if err := huaweicloud.ValidateDescription(fieldDescription, s.Description); err != nil {
		return s, err
	}
	if err := huaweicloud.ValidateLanguage(fieldLanguage, s.Language); err != nil {
		return s, err
	}
	return s, nil
}

// Validate enforces the documented rules locally, with no provider call.
func (d *Driver) Validate(kind backup.Kind, section json.RawMessage, _ time.Time) (provider.Target, error) {
	s, err := parse(kind, section)
	if err != nil {
		return provider.Target{}, err
	}
	return provider.Target{Resource: s.InstanceID, BackupName: s.Name}, nil
}

// Preflight re-validates. TaurusDB documents no remote precondition a call
// could check cheaply: a busy instance or a backup in progress is answered by
// the create itself (409, Busy, retried).
func (d *Driver) Preflight(_ context.Context, job provider.Job) error {
	_, err := parse(job.Kind, job.Section)
	return err
}

// optional returns nil for an empty string, so the SDK omits the field.
func optional(v string) *string {
	if v == "" {
		return nil
	}
	return &v
}

func opLang(op provider.Operation) *string { return optional(op.Extra[extraLanguage]) }

func invoke[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	return huaweicloud.Invoke(ctx, name, fn)
}

// Start creates the backup, or adopts the one this owner created earlier.
func (d *Driver) Start(ctx context.Context, job provider.Job) (provider.Operation, error) {
	s, err := parse(job.Kind, job.Section)
	if err != nil {
		return provider.Operation{}, err
	}
	if op, err := d.Find(ctx, job); err != nil || op != nil {
		if err != nil {
			return provider.Operation{}, err
		}
		return *op, nil
	}
	req := &model.CreateGaussMySqlBackupRequest{
		XLanguage: optional(s.Language),
		Body:      &model.MysqlCreateBackupRequest{InstanceId: s.InstanceID, Name: s.Name, Description: optional(s.Description)},
	}
	resp, err := invoke(ctx, func() (*model.CreateGaussMySqlBackupResponse, error) { return d.client.CreateGaussMySqlBackup(req) })
	if provider.IsClass(err, provider.AlreadyExists) {
		// The name appeared between Find and create: adopt it if it is ours.
		op, ferr := d.Find(ctx, job)
		if ferr != nil {
			return provider.Operation{}, ferr
		}
		if op != nil {
			return *op, nil
		}
		return provider.Operation{}, huaweicloud.WithField(err, fieldName)
	}
	if err != nil {
		return provider.Operation{}, err
	}
	if resp.Backup == nil || resp.Backup.Id == nil {
		return provider.Operation{}, huaweicloud.Errorf(name, provider.Internal, "the create answer holds no backup ID")
	}
	op := provider.Operation{
		ID:         deref(resp.JobId),
		BackupID:   *resp.Backup.Id,
		BackupName: s.Name,
		Resource:   s.InstanceID,
		Kind:       job.Kind,
		StartedAt:  huaweicloud.ParseTimePtr(deref(resp.Backup.BeginTime)),
	}
	if op.ID == "" {
		op.ID = op.BackupID // no job ID: poll through the backup list
	}
	if s.Language != "" {
		op.Extra = map[string]string{extraLanguage: s.Language}
	}
	return op, nil
}

// Find returns the backup this owner created earlier, if any.
//
// "Ours" (see huaweicloud.Ours): the request's name, on the request's
// instance, begun no earlier than the workflow started less a minute of clock
// skew. A same-name backup that began earlier belongs to someone else and is
// an AlreadyExists error on taurusdb.name: names are unique per instance.
// The job ID is recovered from the immediate-jobs list (the job of that
// instance whose creation is closest to the backup's begin time); without it
// the operation falls back to the backup ID and is polled through the list.
func (d *Driver) Find(ctx context.Context, job provider.Job) (*provider.Operation, error) {
	s, err := parse(job.Kind, job.Section)
	if err != nil {
		return nil, err
	}
	b, err := d.findByName(ctx, s)
	if err != nil || b == nil {
		return nil, err
	}
	if !huaweicloud.Ours(deref(b.BeginTime), job.Owner) {
		return nil, &provider.Error{Class: provider.AlreadyExists, Provider: name, Field: fieldName, Rule: "unique per instance",
			Message: fmt.Sprintf("a backup named %q (%s, begun %s) already exists on instance %s and was not created by this workflow",
				s.Name, deref(b.Id), deref(b.BeginTime), s.InstanceID)}
	}
	op := provider.Operation{
		ID:         deref(b.Id),
		BackupID:   deref(b.Id),
		BackupName: s.Name,
		Resource:   s.InstanceID,
		Kind:       job.Kind,
		StartedAt:  huaweicloud.ParseTimePtr(deref(b.BeginTime)),
	}
	if s.Language != "" {
		op.Extra = map[string]string{extraLanguage: s.Language}
	}
	if op.StartedAt != nil {
		jobID, err := d.findJob(ctx, s, *op.StartedAt)
		if err != nil {
			return nil, err
		}
		if jobID != "" {
			op.ID = jobID
		}
	}
	return &op, nil
}

const pageSize = 100

func (d *Driver) findByName(ctx context.Context, s backup.TaurusDBCreate) (*model.Backups, error) {
	for offset := 0; ; offset += pageSize {
		req := &model.ShowGaussMySqlBackupListRequest{
			XLanguage:  optional(s.Language),
			InstanceId: &s.InstanceID,
			Name:       &s.Name,
			Offset:     ptr(strconv.Itoa(offset)),
			Limit:      ptr(strconv.Itoa(pageSize)),
		}
		resp, err := invoke(ctx, func() (*model.ShowGaussMySqlBackupListResponse, error) { return d.client.ShowGaussMySqlBackupList(req) })
		if err != nil {
			return nil, err
		}
		var page []model.Backups
		if resp.Backups != nil {
			page = *resp.Backups
		}
		for i := range page {
			b := page[i]
			if deref(b.Name) == s.Name && (b.InstanceId == nil || *b.InstanceId == s.InstanceID) {
				return &b, nil
			}
		}
		if len(page) < pageSize {
			return nil, nil
		}
	}
}

// findJob recovers the backup job's ID from the immediate-jobs list. The job
// name of a backup is not documented: any job whose name mentions "backup"
// qualifies (best guess, kept here).
func (d *Driver) findJob(ctx context.Context, s backup.TaurusDBCreate, begin time.Time) (string, error) {
	const layout = "2006-01-02T15:04:05-0700"
	req := &model.ListImmediateJobsRequest{
		XLanguage: optional(s.Language),
		StartTime: ptr(begin.Add(-huaweicloud.ClockSkew).UTC().Format(layout)),
		EndTime:   ptr(begin.Add(huaweicloud.ClockSkew).UTC().Format(layout)),
		Limit:     ptr(strconv.Itoa(pageSize)),
	}
	resp, err := invoke(ctx, func() (*model.ListImmediateJobsResponse, error) { return d.client.ListImmediateJobs(req) })
	if err != nil {
		if provider.ClassOf(err).Retryable() {
			return "", err
		}
		return "", nil // no job list here: poll through the backup list
	}
	best, bestGap := "", time.Duration(math.MaxInt64)
	if resp.Jobs != nil {
		for _, j := range *resp.Jobs {
			if deref(j.InstanceId) != s.InstanceID || !strings.Contains(strings.ToLower(deref(j.JobName)), "backup") {
				continue
			}
			created, err := huaweicloud.ParseTime(deref(j.CreatedTime))
			if err != nil {
				continue
			}
			gap := created.Sub(begin).Abs()
			if gap <= huaweicloud.ClockSkew && gap < bestGap {
				best, bestGap = deref(j.JobId), gap
			}
		}
	}
	return best, nil
}

// Poll reads the job: status and process percent. A job that is not visible
// yet (the documentation warns new job IDs take seconds to appear) is not an
// error: Poll then reads the backup list, and reports Running with an unknown
// percent (-1) while the backup is listed as building, or while neither is
// visible within huaweicloud.VisibilityGrace of the backup's begin time; after that, Gone.
func (d *Driver) Poll(ctx context.Context, op provider.Operation) (provider.Status, error) {
	if op.ID == "" || op.ID == op.BackupID {
		return d.pollBackup(ctx, op)
	}
	req := &model.ShowGaussMySqlJobInfoRequest{XLanguage: opLang(op), Id: op.ID}
	resp, err := invoke(ctx, func() (*model.ShowGaussMySqlJobInfoResponse, error) { return d.client.ShowGaussMySqlJobInfo(req) })
	if provider.IsClass(err, provider.NotFound) {
		return d.pollBackup(ctx, op)
	}
	if err != nil {
		return provider.Status{}, err
	}
	if resp.Job == nil {
		return provider.Status{}, huaweicloud.Errorf(name, provider.Internal, "the job answer holds no job")
	}
	return jobStatus(resp.Job, op), nil
}

func jobStatus(j *model.GetJobInfoDetail, op provider.Operation) provider.Status {
	state := j.Status.Value()
	st := provider.Status{ProviderState: state, Percent: -1, StartedAt: op.StartedAt}
	if t := huaweicloud.ParseTimePtr(j.Created); t != nil {
		st.StartedAt = t
	}
	pct, known := huaweicloud.ParsePercent(deref(j.Process))
	switch state {
	case "Pending":
		st.Phase, st.Percent = provider.PhaseRunning, 0
	case "Running":
		st.Phase = provider.PhaseRunning
		if known {
			st.Percent = math.Min(pct, 99.9) // 100 only once the job says Completed
		}
	case "Completed":
		st.Phase, st.Percent = provider.PhaseSucceeded, 100
	case "Failed", "Canceled", "Unauthorized":
		// A cancelled or unauthorized job may still leave a backup record:
		// report failure so the caller cleans up whatever exists.
		st.Phase, st.Percent = provider.PhaseFailed, 100
		st.Message = deref(j.FailReason)
		if st.Message == "" {
			st.Message = "the backup job ended " + state
		}
	default:
		st.Phase = provider.PhaseRunning // a state this driver does not know yet: keep waiting
	}
	return st
}

func (d *Driver) pollBackup(ctx context.Context, op provider.Operation) (provider.Status, error) {
	b, err := d.backupByID(ctx, op)
	if err != nil {
		return provider.Status{}, err
	}
	if b == nil {
		if op.StartedAt != nil && d.now().Sub(*op.StartedAt) < huaweicloud.VisibilityGrace {
			return provider.Status{Phase: provider.PhaseRunning, Percent: -1, ProviderState: "NOT_VISIBLE_YET", StartedAt: op.StartedAt}, nil
		}
		return provider.Status{Phase: provider.PhaseGone, Percent: -1, ProviderState: "DELETED", StartedAt: op.StartedAt}, nil
	}
	state := deref(b.Status)
	st := provider.Status{ProviderState: state, Percent: -1, StartedAt: op.StartedAt}
	if t := huaweicloud.ParseTimePtr(deref(b.BeginTime)); t != nil {
		st.StartedAt = t
	}
	switch state {
	case "COMPLETED", "AVAILABLE":
		st.Phase, st.Percent = provider.PhaseSucceeded, 100
	case "FAILED":
		st.Phase, st.Percent, st.Message = provider.PhaseFailed, 100, "the backup ended FAILED"
	default: // BUILDING
		st.Phase = provider.PhaseRunning
	}
	return st, nil
}

// backupByID reads one backup from the list; nil when it does not exist.
func (d *Driver) backupByID(ctx context.Context, op provider.Operation) (*model.Backups, error) {
	req := &model.ShowGaussMySqlBackupListRequest{XLanguage: opLang(op), BackupId: ptr(op.BackupID)}
	if op.Resource != "" {
		req.InstanceId = ptr(op.Resource)
	}
	resp, err := invoke(ctx, func() (*model.ShowGaussMySqlBackupListResponse, error) { return d.client.ShowGaussMySqlBackupList(req) })
	if provider.IsClass(err, provider.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if resp.Backups != nil {
		for i := range *resp.Backups {
			if b := (*resp.Backups)[i]; deref(b.Id) == op.BackupID {
				return &b, nil
			}
		}
	}
	return nil, nil
}

// Cancel reports false: TaurusDB has no API to stop a backup being built.
func (d *Driver) Cancel(context.Context, provider.Operation) (bool, error) { return false, nil }

// Delete deletes the backup; already gone is success, still building is Busy.
func (d *Driver) Delete(ctx context.Context, op provider.Operation) error {
	if op.BackupID == "" {
		return nil
	}
	req := &model.DeleteGaussMySqlBackupRequest{XLanguage: opLang(op), BackupId: op.BackupID}
	_, err := invoke(ctx, func() (*model.DeleteGaussMySqlBackupResponse, error) { return d.client.DeleteGaussMySqlBackup(req) })
	if provider.IsClass(err, provider.NotFound) {
		return nil
	}
	return err
}

// Describe returns the final record, as the backup list shows it.
func (d *Driver) Describe(ctx context.Context, op provider.Operation) (backup.Backup, error) {
	b, err := d.backupByID(ctx, op)
	if err != nil {
		return backup.Backup{}, err
	}
	if b == nil {
		return backup.Backup{}, &provider.Error{Class: provider.NotFound, Provider: name,
			Message: fmt.Sprintf("backup %s is not in the backup list of instance %s", op.BackupID, op.Resource)}
	}
	rec, err := json.Marshal(b)
	if err != nil {
		return backup.Backup{}, huaweicloud.Errorf(name, provider.Internal, "encode backup record: %v", err)
	}
	out := backup.Backup{ID: deref(b.Id), Name: deref(b.Name), State: deref(b.Status), Record: rec,
		CreateTime: huaweicloud.ParseTimePtr(deref(b.BeginTime))}
	if b.Size != nil {
		// The list reports size in KB (documented for the RDS family; best guess for TaurusDB).
		size := int64(*b.Size * 1024)
		out.SizeBytes = &size
	}
	return out, nil
}

func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

func ptr[T any](v T) *T { return &v }
