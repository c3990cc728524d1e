// Package otcrds drives manual backups of Open Telekom Cloud RDS (v3 API)
// through the official Huawei Cloud SDK, huaweicloud-sdk-go-v3
// services/rds/v3, pointed at an OTC endpoint, with the code it shares with
// the taurusdb driver in provider/huaweicloud. Every code, state, unit and
// rule the driver relies on, with its public source or marked as a guess, is
// in docs/providers/otcrds.md.
//
// The files: driver.go, the Driver and its methods; config.go, the
// environment, its check and New; errors.go, classify (every SDK and IAM
// error into the provider taxonomy); rules.go, the documented request
// constraints and the instance states Preflight reads; signer.go and
// token.go, OTC's two ways to authenticate.
//
// # API calls
//
// Create is CreateManualBackup (instance_id, name, description, and
// databases for SQL Server partial backups); it returns the backup but no
// job ID, so the operation ID is the backup ID and ListBackups is both poll
// and final record (BUILDING, COMPLETED, FAILED, DELETING). Preflight looks
// the instance up (ListInstances by id). Delete is DeleteManualBackup, by
// backup ID alone. List is ListBackups of the instance's manual backups,
// every page.
// Authentication is OTC's IAM token (POST /v3/auth/tokens, token.go;
// the default) or an AK/SK signature in OTC's own form (signer.go).
//
// # Idempotency and ownership
//
// Every create sends a description carrying the owner's marker, but OTC's
// backup list does not return the description, so only the backup ID the
// create returned proves a backup ours. Start never adopts: Find refuses
// (provider.NotOurs) a backup of the requested name on the requested
// instance, so a lost create answer fails the workflow and leaves the backup
// to a person instead of making a second one.
//
// # Cancel
//
// OTC has no API to stop a backup being built: Cancel reports false; the
// caller waits for the end and deletes the backup (Delete; a backup still
// building is Busy, one being deleted already is done).
//
// # Errors
//
// classify (errors.go) maps every SDK error through huaweicloud.MapError,
// the family's code table (OTC adds no codes of its own): a code wins over
// the HTTP status; Retry-After is kept as the retry hint. IAM answers are
// classified by iamError. A 401 drops the cached token and the call is tried
// once more with a new one.
//
// # Limits
//
// Backup names are unique in the whole project; read replicas take no manual
// backups; partial backups (databases) are for SQL Server only; names 4 to
// 64 characters, descriptions at most 224 so that the marker fits the API's
// 256 (rules.go). OTC reports no progress: Poll estimates it from the
// backup's age and ExpectedDuration.
package otcrds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	rds "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/rds/v3"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/rds/v3/model"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/huaweicloud"
)

const name = backup.ProviderOTCRDS

// Backup states the driver reads beyond the family's BUILDING, COMPLETED and FAILED.
const stateDeleting = "DELETING"

// Driver is the OTC RDS driver.
type Driver struct {
	newClient func(rt http.RoundTripper) (*rds.RdsClient, error)
	client    *rds.RdsClient
	transport http.RoundTripper
	tokens    *tokenSource // nil with AK/SK
	expected  time.Duration
	now       func() time.Time
}

var _ provider.Driver = (*Driver)(nil)

func (*Driver) Name() string       { return name }
func (*Driver) SupportsCopy() bool { return false }

// Validate enforces the documented rules locally, with no provider call
// (validate, the registered validation).
func (d *Driver) Validate(kind backup.Kind, section json.RawMessage, now time.Time) (provider.Target, error) {
	return validate(kind, section, now)
}

// call runs one SDK call under ctx (huaweicloud.Run) and classifies its
// error. With token authentication it first makes
// sure a fresh token is cached (under ctx), and when the provider answers 401
// it drops the token and tries once more with a new one.
func call[T any](ctx context.Context, d *Driver, fn func() (T, error)) (T, error) {
	for attempt := 0; ; attempt++ {
		used := ""
		if d.tokens != nil {
			tok, err := d.tokens.Token(ctx)
			if err != nil {
				var zero T
				return zero, classify(err)
			}
			used = tok
		}
		v, err := huaweicloud.Run(ctx, name, fn)
		err = classify(err)
		if d.tokens != nil && attempt == 0 && huaweicloud.IsUnauthorized(err) {
			d.tokens.invalidate(used)
			continue
		}
		return v, err
	}
}

// Preflight looks the instance up and refuses, before anything is created:
// an unknown instance (NotFound), a read replica (InvalidArgument on
// otcrds.instance_id: read replicas do not support manual backups),
// databases on an instance that is not Microsoft SQL Server (InvalidArgument
// on otcrds.databases: only SQL Server supports partial backups), and an
// instance in a transient state (Busy).
func (d *Driver) Preflight(ctx context.Context, job provider.Job) error {
	s, err := parse(job.Kind, job.Section)
	if err != nil {
		return err
	}
	req := &model.ListInstancesRequest{Id: &s.InstanceID}
	resp, err := call(ctx, d, func() (*model.ListInstancesResponse, error) { return d.client.ListInstances(req) })
	if err != nil {
		return err
	}
	var in *model.InstanceResponse
	if resp.Instances != nil {
		for i := range *resp.Instances {
			if (*resp.Instances)[i].Id == s.InstanceID {
				in = &(*resp.Instances)[i]
			}
		}
	}
	if in == nil {
		return &provider.Error{Class: provider.NotFound, Provider: name, Field: fieldInstanceID,
			Message: fmt.Sprintf("ListInstances shows no instance %s in the project", s.InstanceID)}
	}
	if in.Type == "Replica" {
		return provider.Invalid(fieldInstanceID, "%s is a read replica; read replicas do not support manual backup creation", s.InstanceID)
	}
	engine := ""
	if in.Datastore != nil {
		engine = in.Datastore.Type.Value()
	}
	if len(s.Databases) > 0 && engine != engineSQLServer {
		return provider.Invalid(fieldDatabases, "partial backups (databases) are supported on Microsoft SQL Server instances only; %s is %s", s.InstanceID, engine)
	}
	switch instanceStates[in.Status] {
	case provider.Busy:
		return &provider.Error{Class: provider.Busy, Provider: name, Field: fieldInstanceID,
			Message: fmt.Sprintf("instance %s is %s; a backup can start once it is ACTIVE", s.InstanceID, in.Status)}
	case provider.FailedPrecondition:
		return &provider.Error{Class: provider.FailedPrecondition, Provider: name, Field: fieldInstanceID,
			Message: fmt.Sprintf("instance %s is %s; it must be started or repaired (ACTIVE) before it can be backed up", s.InstanceID, in.Status)}
	}
	return nil
}

// Start creates the backup, its description carrying the owner's marker.
// The backup ID the create returns is the only proof OTC gives that the
// backup is the owner's (see Find): Start never adopts.
func (d *Driver) Start(ctx context.Context, job provider.Job) (provider.Operation, error) {
	s, err := parse(job.Kind, job.Section)
	if err != nil {
		return provider.Operation{}, err
	}
	return huaweicloud.StartOrAdopt(ctx, name, nameUniqueRule, job, d.Find, func() (provider.Operation, error) {
		description := huaweicloud.MarkedDescription(s.Description, job.Owner)
		body := &model.CreateManualBackupRequestBody{InstanceId: s.InstanceID, Name: s.Name, Description: &description}
		if len(s.Databases) > 0 {
			dbs := make([]model.BackupDatabase, 0, len(s.Databases))
			for _, db := range s.Databases {
				dbs = append(dbs, model.BackupDatabase{Name: db.Name})
			}
			body.Databases = &dbs
		}
		req := &model.CreateManualBackupRequest{Body: body}
		resp, err := call(ctx, d, func() (*model.CreateManualBackupResponse, error) { return d.client.CreateManualBackup(req) })
		if err != nil {
			return provider.Operation{}, err
		}
		if resp.Backup == nil || resp.Backup.Id == "" {
			return provider.Operation{}, huaweicloud.Errorf(name, provider.Internal, "the create answer holds no backup ID")
		}
		// OTC has no job ID for a manual backup: the operation ID is the backup ID.
		ref := huaweicloud.BackupRef{ID: resp.Backup.Id, Name: s.Name, InstanceID: s.InstanceID, BeginTime: resp.Backup.BeginTime}
		return ref.Operation(job.Kind), nil
	})
}

// Find reports what may be this owner's earlier backup, and never adopts it.
//
// OTC stores the description (with the owner's marker) but its backup list
// does not return it (docs/providers/otcrds.md, "Ownership"), so nothing
// listed can be proven the owner's: only the ID its own create returned
// proves that. A backup of the request's name on the request's instance is
// therefore NotOurs, even when an earlier attempt of the owner made it (a
// lost create response); Find returns nil when there is none. Names are
// unique in the project (nameUniqueRule), so one on another instance is
// never ours and Find need not look there. ListBackups has no name filter
// and needs an instance, so Find pages through the instance's manual backups.
func (d *Driver) Find(ctx context.Context, job provider.Job) (*provider.Operation, error) {
	s, err := parse(job.Kind, job.Section)
	if err != nil {
		return nil, err
	}
	b, err := huaweicloud.FindInPages(d.manualBackups(ctx, s.InstanceID),
		func(b model.BackupForList) bool { return b.Name == s.Name && b.InstanceId == s.InstanceID })
	if err != nil || b == nil {
		return nil, err
	}
	return nil, huaweicloud.NotOurs(name, b.Id, fmt.Sprintf(
		"it is named %q on instance %s, and OTC's backup list returns no description, so no backupflow marker can be read; "+
			"if this workflow made it, its description ends with %s", s.Name, s.InstanceID, job.Owner.Marker()))
}

// manualBackups pages through the instance's manual backups (ListBackups
// with backup_type manual): automated, fragment and incremental backups are
// the backup policy's, never backupflow's.
func (d *Driver) manualBackups(ctx context.Context, instanceID string) huaweicloud.ListPage[model.BackupForList] {
	manual := model.GetListBackupsRequestBackupTypeEnum().MANUAL
	return func(offset int) (*[]model.BackupForList, int, error) {
		req := &model.ListBackupsRequest{InstanceId: instanceID, BackupType: &manual,
			Offset: ptr(int32(offset)), Limit: ptr(int32(huaweicloud.PageSize))}
		resp, err := call(ctx, d, func() (*model.ListBackupsResponse, error) { return d.client.ListBackups(req) })
		if err != nil {
			return nil, 0, err
		}
		return resp.Backups, huaweicloud.TotalCount(resp.TotalCount), nil
	}
}

// List returns the instance's manual backups, every page. A backup being
// deleted (DELETING) is left out: it is on its way out, and nothing may be
// done with it any more.
func (d *Driver) List(ctx context.Context, kind backup.Kind, instanceID string) ([]backup.Backup, error) {
	all, err := huaweicloud.ListBackups(name, kind, instanceID, d.manualBackups(ctx, instanceID), summary)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, b := range all {
		if b.State != stateDeleting {
			out = append(out, b)
		}
	}
	return out, nil
}

// backupByID reads one backup from ListBackups through client; nil when it
// does not exist.
func (d *Driver) backupByID(ctx context.Context, client *rds.RdsClient, op provider.Operation) (*model.BackupForList, error) {
	req := &model.ListBackupsRequest{InstanceId: op.Resource, BackupId: ptr(op.BackupID)}
	resp, err := call(ctx, d, func() (*model.ListBackupsResponse, error) { return client.ListBackups(req) })
	if err != nil {
		return nil, huaweicloud.IgnoreNotFound(err)
	}
	return huaweicloud.First(resp.Backups, func(b model.BackupForList) bool { return b.Id == op.BackupID }), nil
}

// Poll reads the backup's status from ListBackups. OTC reports no progress
// figure, so Percent is an estimate that rises with the backup's age and
// never reaches 100 before COMPLETED: 100·elapsed/(elapsed+ExpectedDuration).
// elapsed is measured on the provider's clock (the answer's Date header minus
// begin_time), so worker clock skew does not distort it; the poll policy
// bounds detection delay by elapsed time anyway.
func (d *Driver) Poll(ctx context.Context, op provider.Operation) (provider.Status, error) {
	capture := &huaweicloud.HeaderCapture{Base: d.transport}
	client, err := d.newClient(capture)
	if err != nil {
		return provider.Status{}, huaweicloud.Errorf(name, provider.Internal, "build SDK client: %v", err)
	}
	b, err := d.backupByID(ctx, client, op)
	if err != nil {
		return provider.Status{}, err
	}
	if b == nil {
		return huaweicloud.MissingBackupStatus(op, d.now()), nil
	}
	st := huaweicloud.ListedBackupStatus(op, b.Status.Value(), b.BeginTime)
	switch {
	case st.ProviderState == stateDeleting:
		// Somebody is deleting the backup: it will not be kept, so it is no
		// success; it is gone for the workflow (cleanup has nothing to delete).
		st.Phase, st.Percent = provider.PhaseGone, -1
		st.Message = "the backup is being deleted"
	case st.Phase == provider.PhaseRunning && st.StartedAt != nil: // BUILDING
		now, ok := capture.ServerTime()
		if !ok {
			now = d.now()
		}
		st.Percent = estimatePercent(now.Sub(*st.StartedAt), d.expected)
	}
	return st, nil
}

// estimatePercent is 100·elapsed/(elapsed+expected): 50 % at the expected
// duration, rising towards (never reaching) 100.
func estimatePercent(elapsed, expected time.Duration) float64 {
	if elapsed < 0 {
		elapsed = 0
	}
	return 100 * float64(elapsed) / float64(elapsed+expected)
}

// Cancel reports false: OTC has no API to stop a backup being built.
func (d *Driver) Cancel(context.Context, provider.Operation) (bool, error) { return false, nil }

// Delete deletes the backup; already gone or being deleted (RDS.3016) is
// success, still building is Busy.
func (d *Driver) Delete(ctx context.Context, op provider.Operation) error {
	return huaweicloud.DeleteBackup(op, func() error {
		req := &model.DeleteManualBackupRequest{BackupId: op.BackupID}
		_, err := call(ctx, d, func() (*model.DeleteManualBackupResponse, error) { return d.client.DeleteManualBackup(req) })
		var pe *provider.Error
		if errors.As(err, &pe) && pe.Code == codeBackupDeleting {
			return nil
		}
		return err
	})
}

// Describe returns the final record, as ListBackups shows it.
func (d *Driver) Describe(ctx context.Context, op provider.Operation) (backup.Backup, error) {
	b, err := d.backupByID(ctx, d.client, op)
	return huaweicloud.Describe(name, op, b, err, summary)
}

// summary is a ListBackups entry as Describe and List report it.
func summary(b *model.BackupForList) backup.Backup {
	out := backup.Backup{ID: b.Id, Name: b.Name, State: b.Status.Value(), CreateTime: huaweicloud.ParseTimePtr(b.BeginTime)}
	if b.Status.Value() == "COMPLETED" {
		size := b.Size * 1024 // ListBackups reports kB (docs/providers/otcrds.md, "Units")
		out.SizeBytes = &size
	}
	return out
}

func ptr[T any](v T) *T { return &v }
