// Package otcrds drives manual backups of Open Telekom Cloud RDS (v3 API)
// through the official Huawei Cloud SDK, huaweicloud-sdk-go-v3
// services/rds/v3, pointed at an OTC endpoint.
//
// Create is CreateManualBackup (instance_id, name, description, and databases
// for SQL Server partial backups); it returns the backup but no job ID, so the
// operation ID is the backup ID and ListBackups is both poll and final record
// (BUILDING, COMPLETED, FAILED, DELETING). Preflight looks the instance up
// (ListInstances by id) to refuse read replicas and partial backups of
// non-SQL Server instances. OTC has no API to stop a backup: Cancel reports
// false; Delete is DeleteManualBackup (a backup still building is Busy).
// Authentication is OTC's IAM token (default) or an AK/SK signature in OTC's
// own form (signer.go). Every code, state, unit and rule the driver relies
// on, with its source, is in docs/providers/otcrds.md.
package otcrds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth"
	rds "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/rds/v3"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/rds/v3/model"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/huaweicloud"
)

const name = backup.ProviderOTCRDS

// Field names in errors: "otcrds.<json field>".
const (
	fieldInstanceID = name + ".instance_id"
	fieldDatabases  = name + ".databases"
)

// engineSQLServer is the datastore type of Microsoft SQL Server instances.
const engineSQLServer = "SQLServer"

// instanceStates is what Preflight does with an instance status OTC documents
// (docs/providers/otcrds.md, "Instance states"): Busy for work that ends by
// itself, FailedPrecondition for a state only a person can change. ACTIVE
// passes, and so does BACKING UP: the create answers a backup in progress
// itself, and the backup may be this workflow's own. A status not listed
// passes too, and the create decides.
var instanceStates = map[string]provider.Class{
	"BUILD":                   provider.Busy,
	"MODIFYING":               provider.Busy,
	"REBOOTING":               provider.Busy,
	"RESTORING":               provider.Busy,
	"MIGRATING":               provider.Busy,
	"SWITCHOVER":              provider.Busy,
	"MODIFYING INSTANCE TYPE": provider.Busy,
	"MODIFYING DATABASE PORT": provider.Busy,
	"SHUTDOWN":                provider.FailedPrecondition, // stopped
	"FAILED":                  provider.FailedPrecondition, // abnormal
	"CREATE FAIL":             provider.FailedPrecondition,
}

// Backup states the driver reads beyond the family's BUILDING, COMPLETED and FAILED.
const stateDeleting = "DELETING"

// codeBackupDeleting is OTC's answer to deleting a backup already being
// deleted: for Delete, that is done.
const codeBackupDeleting = "RDS.3016"

// nameUniqueRule is where OTC requires a backup name to be unique: in the
// whole project, not only on the instance (docs/providers/otcrds.md, "Backup
// names"). A same-name backup on another instance is never ours, so Find need
// only look on the request's instance; a create refused for a name Find does
// not see there names this rule.
const nameUniqueRule = "backup names are unique among all backups of the project, on every instance"

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

// New builds a driver from the configuration; errors name each bad variable.
func New(cfg Config) (*Driver, error) {
	r, err := cfg.resolve()
	if err != nil {
		return nil, fmt.Errorf("otcrds configuration: %w", err)
	}
	timeout := cfg.CallTimeout
	if timeout == 0 {
		timeout = huaweicloud.DefaultCallTimeout
	}
	d := &Driver{transport: huaweicloud.NewTransport(), expected: cfg.ExpectedDuration, now: time.Now}
	if d.expected == 0 {
		d.expected = 10 * time.Minute
	}
	var cred auth.ICredential
	credType := ""
	if cfg.Auth == AuthAKSK {
		// Signed with the wall clock: the gateway compares X-Sdk-Date with its own.
		cred = &akskCredentials{accessKey: cfg.AccessKey, secretKey: provider.Secret(r.secretKey), projectID: cfg.ProjectID, now: time.Now}
		credType = akskCredentialsType
	} else {
		d.tokens = &tokenSource{
			url:  r.iamEndpoint + "/v3/auth/tokens",
			user: cfg.Username, password: r.password, domain: cfg.Domain, projectID: cfg.ProjectID,
			client: &http.Client{Transport: d.transport, Timeout: timeout, CheckRedirect: refuseRedirect},
			now:    func() time.Time { return d.now() },
		}
		cred = &tokenCredentials{source: d.tokens, projectID: cfg.ProjectID, timeout: timeout}
		credType = tokenCredentialsType
	}
	d.newClient = func(rt http.RoundTripper) (*rds.RdsClient, error) {
		hc, err := huaweicloud.BuildClient(rds.RdsClientBuilder(), huaweicloud.ClientOptions{
			Endpoint: r.endpoint, EndpointVar: "BACKUPFLOW_OTCRDS_ENDPOINT", Credential: cred, CredentialType: credType, Timeout: timeout, Transport: rt,
		})
		if err != nil {
			return nil, err
		}
		return rds.NewRdsClient(hc), nil
	}
	if d.client, err = d.newClient(d.transport); err != nil {
		return nil, fmt.Errorf("otcrds: %w", err)
	}
	return d, nil
}

func (*Driver) Name() string       { return name }
func (*Driver) SupportsCopy() bool { return false }

// parse decodes the section strictly and enforces every documented rule of
// the create API (docs/providers/otcrds.md, "Request constraints") that needs
// no provider call (replicas and the engine of partial backups are
// checked in Preflight).
func parse(kind backup.Kind, raw json.RawMessage) (backup.OTCRDSCreate, error) {
	var s backup.OTCRDSCreate
	if err := huaweicloud.DecodeCreate(name, kind, raw, &s, fmt.Sprintf("OTC RDS has no per-backup %s API", kind)); err != nil {
		return s, err
	}
	// OTC documents no instance ID format: only presence is checked here; an
	// ID the provider does not know is its own NotFound answer.
	if s.InstanceID == "" {
		return s, provider.Invalid(fieldInstanceID, "is required: the ID of the DB instance to back up")
	}
	if err := huaweicloud.ValidateNameAndDescription(name, s.Name, s.Description); err != nil {
		return s, err
	}
	for i, db := range s.Databases {
		if db.Name == "" {
			return s, provider.Invalid(fmt.Sprintf("%s[%d].name", fieldDatabases, i), "is required: the name of a self-built SQL Server database")
		}
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

// call runs one SDK call under ctx. With token authentication it first makes
// sure a fresh token is cached (under ctx), and when the provider answers 401
// it drops the token and tries once more with a new one.
func call[T any](ctx context.Context, d *Driver, fn func() (T, error)) (T, error) {
	for attempt := 0; ; attempt++ {
		used := ""
		if d.tokens != nil {
			tok, err := d.tokens.Token(ctx)
			if err != nil {
				var zero T
				return zero, huaweicloud.MapError(name, err)
			}
			used = tok
		}
		v, err := huaweicloud.Invoke(ctx, name, fn)
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
	manual := model.GetListBackupsRequestBackupTypeEnum().MANUAL
	b, err := huaweicloud.FindInPages(func(offset int) (*[]model.BackupForList, error) {
		req := &model.ListBackupsRequest{InstanceId: s.InstanceID, BackupType: &manual,
			Offset: ptr(int32(offset)), Limit: ptr(int32(huaweicloud.PageSize))}
		resp, err := call(ctx, d, func() (*model.ListBackupsResponse, error) { return d.client.ListBackups(req) })
		if err != nil {
			return nil, err
		}
		return resp.Backups, nil
	}, func(b model.BackupForList) bool { return b.Name == s.Name && b.InstanceId == s.InstanceID })
	if err != nil || b == nil {
		return nil, err
	}
	return nil, huaweicloud.NotOurs(name, b.Id, fmt.Sprintf(
		"it is named %q on instance %s, and OTC's backup list returns no description, so no backupflow marker can be read; "+
			"if this workflow made it, its description ends with %s", s.Name, s.InstanceID, job.Owner.Marker()))
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
	return huaweicloud.Describe(name, op, b, err, func(b *model.BackupForList) backup.Backup {
		out := backup.Backup{ID: b.Id, Name: b.Name, State: b.Status.Value(), CreateTime: huaweicloud.ParseTimePtr(b.BeginTime)}
		if b.Status.Value() == "COMPLETED" {
			size := b.Size * 1024 // ListBackups reports kB (docs/providers/otcrds.md, "Units")
			out.SizeBytes = &size
		}
		return out
	})
}

func ptr[T any](v T) *T { return &v }
