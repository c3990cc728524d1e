// Package alirds is backupflow's driver for Alibaba Cloud ApsaraDB RDS,
// built on the official SDK github.com/aliyun/alibaba-cloud-sdk-go
// (services/rds, API version 2014-08-15).
//
// A backup is CreateBackup (no client token, no cancel), polled through
// DescribeBackupTasks by BackupJobId and confirmed through DescribeBackups.
// The request section mirrors CreateBackup's parameters (backup.AliRDSCreate);
// rules.go maps every documented constraint to a check, errors.go maps every
// Alibaba error into the provider taxonomy.
//
// The SDK's calls take no context: each runs under provider.Call (the
// activity's deadline and cancellation) and the SDK client's own connect and
// read timeouts. SDK auto-retry stays off; Temporal retries.
package alirds

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/rds"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
)

// Driver is the ApsaraDB RDS driver. It is safe for concurrent use.
type Driver struct {
	cfg       Config
	endpoint  endpoint
	secret    provider.Secret
	transport http.RoundTripper
	// now is the driver's clock (the day of the 20-per-day rule, Find's window).
	now func() time.Time
}

var _ provider.Driver = (*Driver)(nil)

// The SDK fills rds.EndpointMap lazily, unsynchronized, on the first client;
// fill it once here so concurrent first calls do not race.
var _ = rds.GetEndpointMap()

// New returns a driver for the configuration, or an error naming every
// missing or malformed environment variable.
func New(cfg Config) (*Driver, error) {
	ep, err := cfg.check()
	if err != nil {
		return nil, fmt.Errorf("alirds: %w", err)
	}
	return &Driver{
		cfg:       cfg,
		endpoint:  ep,
		secret:    provider.SecretFrom(cfg.AccessKeySecret, cfg.AccessKeySecretFile),
		transport: newTransport(cfg),
		now:       time.Now,
	}, nil
}

func (*Driver) Name() string       { return backup.ProviderAliRDS }
func (*Driver) SupportsCopy() bool { return false }

// client returns a fresh SDK client over the driver's shared transport. The
// SDK client mutates itself on every call (timeouts), so one per call keeps
// concurrent activities race-free; connections are pooled by the transport.
func (d *Driver) client() (*rds.Client, error) {
	conf := sdk.NewConfig()
	conf.AutoRetry = false // Temporal retries, with the taxonomy's backoff
	conf.Scheme = d.endpoint.scheme
	conf.Transport = d.transport
	c, err := rds.NewClientWithOptions(d.cfg.Region, conf, credentials.NewAccessKeyCredential(d.cfg.AccessKeyID, d.secret.Reveal()))
	if err != nil {
		return nil, classify(err)
	}
	c.SetConnectTimeout(d.cfg.ConnectTimeout)
	c.SetReadTimeout(d.cfg.ReadTimeout)
	if d.endpoint.host != "" {
		c.Domain = d.endpoint.host
	}
	return c, nil
}

// call runs one SDK call under ctx and classifies its error.
func call[T any](ctx context.Context, d *Driver, fn func(*rds.Client) (T, error)) (T, error) {
	var zero T
	c, err := d.client()
	if err != nil {
		return zero, err
	}
	v, err := provider.Call(ctx, func() (T, error) { return fn(c) })
	if err != nil {
		return zero, classify(err)
	}
	return v, nil
}

func (d *Driver) Validate(kind backup.Kind, section json.RawMessage, _ time.Time) (provider.Target, error) {
	s, err := parse(kind, section)
	if err != nil {
		return provider.Target{}, err
	}
	return provider.Target{Resource: s.raw.DBInstanceID}, nil
}

// terminalStates never return to Running: waiting for them is pointless.
var terminalStates = map[string]bool{"Deleting": true, "Released": true}

// Preflight checks CreateBackup's documented preconditions (see rules.go):
// the instance is Running and unlocked, the engine-dependent field rules
// hold, the instance has the databases the request needs, no backup task is
// ongoing, and fewer than 20 backup sets exist today.
func (d *Driver) Preflight(ctx context.Context, job provider.Job) error {
	s, err := parse(job.Kind, job.Section)
	if err != nil {
		return err
	}
	id := s.raw.DBInstanceID
	attr, err := d.instance(ctx, id)
	if err != nil {
		return err
	}
	if attr.LockMode != "" && attr.LockMode != "Unlock" {
		return &provider.Error{Class: provider.Permission, Provider: backup.ProviderAliRDS, Field: field("DBInstanceId"),
			Message: fmt.Sprintf("instance %s is locked (LockMode %s: %s); the account owner must unlock it", id, attr.LockMode, attr.LockReason)}
	}
	if attr.DBInstanceStatus != "Running" {
		if terminalStates[attr.DBInstanceStatus] {
			return provider.Invalid(field("DBInstanceId"), "instance %s is %s and will never be Running again", id, attr.DBInstanceStatus)
		}
		return &provider.Error{Class: provider.Busy, Provider: backup.ProviderAliRDS, Field: field("DBInstanceId"),
			Message: fmt.Sprintf("instance %s is %s, not Running; a backup can start once it is Running", id, attr.DBInstanceStatus)}
	}
	if err := s.engineRules(id, attr.Engine); err != nil {
		return err
	}
	if s.needsDatabases() {
		dbs, err := d.databases(ctx, id)
		if err != nil {
			return err
		}
		if err := s.databaseRules(id, dbs); err != nil {
			return err
		}
	}
	tasks, err := d.unfinishedTasks(ctx, id, "")
	if err != nil {
		return err
	}
	if len(tasks) > 0 {
		t := tasks[0]
		return &provider.Error{Class: provider.Busy, Provider: backup.ProviderAliRDS, Field: field("DBInstanceId"),
			Message: fmt.Sprintf("instance %s has an ongoing %s backup task %s (%s, %s%%); one task runs at a time", id, t.JobMode, t.BackupJobId, t.BackupStatus, t.Process)}
	}
	n, err := d.backupsToday(ctx, id)
	if err != nil {
		return err
	}
	if n >= dailyLimit {
		return &provider.Error{Class: provider.Quota, Provider: backup.ProviderAliRDS, Field: field("DBInstanceId"),
			Message: fmt.Sprintf("instance %s already has %d backup sets today (UTC); at most %d a day", id, n, dailyLimit)}
	}
	return nil
}

// dailyLimit is the documented number of backup sets per instance per day.
const dailyLimit = 20

func (d *Driver) instance(ctx context.Context, id string) (rds.DBInstanceAttribute, error) {
	resp, err := call(ctx, d, func(c *rds.Client) (*rds.DescribeDBInstanceAttributeResponse, error) {
		req := rds.CreateDescribeDBInstanceAttributeRequest()
		req.DBInstanceId = id
		return c.DescribeDBInstanceAttribute(req)
	})
	if err != nil {
		return rds.DBInstanceAttribute{}, err
	}
	if len(resp.Items.DBInstanceAttribute) == 0 {
		return rds.DBInstanceAttribute{}, &provider.Error{Class: provider.NotFound, Provider: backup.ProviderAliRDS, RequestID: resp.RequestId,
			Field: field("DBInstanceId"), Message: fmt.Sprintf("instance %s is not found", id)}
	}
	return resp.Items.DBInstanceAttribute[0], nil
}

func (d *Driver) databases(ctx context.Context, id string) (map[string]bool, error) {
	dbs := map[string]bool{}
	for page := 1; page <= 100; page++ {
		resp, err := call(ctx, d, func(c *rds.Client) (*rds.DescribeDatabasesResponse, error) {
			req := rds.CreateDescribeDatabasesRequest()
			req.DBInstanceId = id
			req.PageSize = requests.NewInteger(100)
			req.PageNumber = requests.NewInteger(page)
			return c.DescribeDatabases(req)
		})
		if err != nil {
			return nil, err
		}
		for _, db := range resp.Databases.Database {
			dbs[db.DBName] = true
		}
		if len(resp.Databases.Database) < 100 {
			break
		}
	}
	return dbs, nil
}

// unfinishedTasks lists the instance's backup tasks that have not ended
// (DescribeBackupTasks without BackupJobId: NoStart and Progressing), of
// one mode (Manual, Automated) or any.
func (d *Driver) unfinishedTasks(ctx context.Context, id, mode string) ([]rds.BackupJob, error) {
	resp, err := call(ctx, d, func(c *rds.Client) (*rds.DescribeBackupTasksResponse, error) {
		req := rds.CreateDescribeBackupTasksRequest()
		req.DBInstanceId = id
		req.BackupMode = mode
		return c.DescribeBackupTasks(req)
	})
	if err != nil {
		return nil, err
	}
	var out []rds.BackupJob
	for _, j := range resp.Items.BackupJob {
		if (mode == "" || j.JobMode == mode) && !taskEnded(j.BackupStatus) {
			out = append(out, j)
		}
	}
	sort.Slice(out, func(i, j int) bool { return jobNumber(out[i].BackupJobId) < jobNumber(out[j].BackupJobId) })
	return out, nil
}

func taskEnded(status string) bool { return status == "Finished" || status == "Failed" }

func jobNumber(id string) int64 { n, _ := strconv.ParseInt(id, 10, 64); return n }

// task returns one backup task by its BackupJobId (any state), or nil.
func (d *Driver) task(ctx context.Context, instanceID, jobID string) (*rds.BackupJob, error) {
	if _, err := strconv.ParseInt(jobID, 10, 64); err != nil {
		return nil, &provider.Error{Class: provider.Internal, Provider: backup.ProviderAliRDS,
			Message: fmt.Sprintf("operation ID %q is not a BackupJobId", jobID)}
	}
	resp, err := call(ctx, d, func(c *rds.Client) (*rds.DescribeBackupTasksResponse, error) {
		req := rds.CreateDescribeBackupTasksRequest()
		req.DBInstanceId = instanceID
		req.BackupJobId = requests.Integer(jobID)
		return c.DescribeBackupTasks(req)
	})
	if err != nil {
		return nil, err
	}
	for _, j := range resp.Items.BackupJob {
		if j.BackupJobId == jobID {
			return &j, nil
		}
	}
	return nil, nil
}

// Wire time formats: DescribeBackups windows are to the minute, backup times to the second.
const (
	windowFormat = "2006-01-02T15:04Z"
	timeFormat   = "2006-01-02T15:04:05Z"
)

// backups lists backup sets of an instance (DescribeBackups), all pages.
func (d *Driver) backups(ctx context.Context, id string, tune func(*rds.DescribeBackupsRequest)) ([]rds.Backup, int, error) {
	var out []rds.Backup
	total := 0
	for page := 1; page <= 50; page++ {
		resp, err := call(ctx, d, func(c *rds.Client) (*rds.DescribeBackupsResponse, error) {
			req := rds.CreateDescribeBackupsRequest()
			req.DBInstanceId = id
			req.PageSize = requests.NewInteger(100)
			req.PageNumber = requests.NewInteger(page)
			tune(req)
			return c.DescribeBackups(req)
		})
		if err != nil {
			return nil, 0, err
		}
		total, _ = strconv.Atoi(resp.TotalRecordCount)
		out = append(out, resp.Items.Backup...)
		if len(resp.Items.Backup) < 100 || len(out) >= total {
			break
		}
	}
	return out, max(total, len(out)), nil
}

// backupsToday counts the instance's backup sets started on the current UTC day.
func (d *Driver) backupsToday(ctx context.Context, id string) (int, error) {
	day := d.now().UTC().Truncate(24 * time.Hour)
	resp, err := call(ctx, d, func(c *rds.Client) (*rds.DescribeBackupsResponse, error) {
		req := rds.CreateDescribeBackupsRequest()
		req.DBInstanceId = id
		req.StartTime = day.Format(windowFormat)
		req.EndTime = day.Add(24*time.Hour - time.Minute).Format(windowFormat)
		req.PageSize = requests.NewInteger(30)
		return c.DescribeBackups(req)
	})
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(resp.TotalRecordCount)
	if err != nil {
		return len(resp.Items.Backup), nil
	}
	return n, nil
}

// Find returns the backup this job's owner started earlier, or nil.
//
// CreateBackup takes no client token and backup tasks carry no start time or
// tag, so "ours" is decided from what the API does show:
//
//  1. An unfinished Manual task on the instance (DescribeBackupTasks,
//     BackupMode Manual) is ours. The API runs one task per instance at a
//     time and our Preflight, which ran after Owner.StartedAt, found none
//     ongoing, so that task began after our workflow did. The residual risk
//     is someone else starting a manual backup between our Preflight and our
//     CreateBackup (ours would then have failed with BackupJobExists); we
//     would adopt a backup of the same instance made after our request,
//     which still serves the request, and never start a second one.
//  2. Else a finished Manual backup set (DescribeBackups, BackupMode Manual)
//     whose BackupStartTime is at or after Owner.StartedAt (to the second)
//     and whose BackupMethod (and BackupDBNames, when DBName is set) match
//     the request is ours: our task ended before the retry looked. The
//     earliest such set wins. An adopted set has no BackupJobId, so its
//     Operation carries the BackupId as both ID and BackupID.
//
// Automated tasks and sets (the backup policy) are never ours.
func (d *Driver) Find(ctx context.Context, job provider.Job) (*provider.Operation, error) {
	s, err := parse(job.Kind, job.Section)
	if err != nil {
		return nil, err
	}
	id := s.raw.DBInstanceID
	tasks, err := d.unfinishedTasks(ctx, id, "Manual")
	if err != nil {
		return nil, err
	}
	if len(tasks) > 0 {
		op := operation(id, tasks[0].BackupJobId)
		return &op, nil
	}
	if job.Owner.StartedAt.IsZero() {
		return nil, nil // no way to tell our sets from older ones
	}
	since := job.Owner.StartedAt.UTC().Truncate(time.Second)
	sets, _, err := d.backups(ctx, id, func(r *rds.DescribeBackupsRequest) {
		r.BackupMode = "Manual"
		r.StartTime = since.Truncate(time.Minute).Format(windowFormat)
		r.EndTime = d.now().UTC().Add(24 * time.Hour).Format(windowFormat)
	})
	if err != nil {
		return nil, err
	}
	var best *rds.Backup
	var bestStart time.Time
	for i, b := range sets {
		start, err := time.Parse(timeFormat, b.BackupStartTime)
		if err != nil || start.Before(since) || b.BackupMode != "Manual" || b.BackupMethod != s.method {
			continue
		}
		if len(s.dbNames) > 0 && !sameNames(b.BackupDBNames, s.dbNames) {
			continue
		}
		if best == nil || start.Before(bestStart) {
			best, bestStart = &sets[i], start
		}
	}
	if best == nil {
		return nil, nil
	}
	op := provider.Operation{ID: best.BackupId, BackupID: best.BackupId, Resource: id, Kind: backup.KindCreate, StartedAt: &bestStart}
	return &op, nil
}

func sameNames(list string, want []string) bool {
	got := strings.Split(list, ",")
	if len(got) != len(want) {
		return false
	}
	a, b := append([]string(nil), got...), append([]string(nil), want...)
	sort.Strings(a)
	sort.Strings(b)
	for i := range a {
		if strings.TrimSpace(a[i]) != b[i] {
			return false
		}
	}
	return true
}

func operation(instanceID, jobID string) provider.Operation {
	return provider.Operation{ID: jobID, Resource: instanceID, Kind: backup.KindCreate}
}

// Start adopts what Find finds, else calls CreateBackup. The request is sent
// as written: fields left out take the provider's documented defaults.
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
	resp, err := call(ctx, d, func(c *rds.Client) (*rds.CreateBackupResponse, error) {
		req := rds.CreateCreateBackupRequest()
		req.DBInstanceId = s.raw.DBInstanceID
		req.BackupMethod = s.raw.BackupMethod
		req.BackupStrategy = s.raw.BackupStrategy
		req.DBName = s.raw.DBName
		req.BackupType = s.raw.BackupType
		return c.CreateBackup(req)
	})
	if err != nil {
		return provider.Operation{}, err
	}
	if resp.BackupJobId == "" {
		return provider.Operation{}, &provider.Error{Class: provider.Internal, Provider: backup.ProviderAliRDS, RequestID: resp.RequestId,
			Message: "CreateBackup answered without a BackupJobId"}
	}
	return operation(s.raw.DBInstanceID, resp.BackupJobId), nil
}

// Poll makes one call: DescribeBackupTasks by BackupJobId, or, for a backup
// set adopted by Find, DescribeBackups by BackupId.
func (d *Driver) Poll(ctx context.Context, op provider.Operation) (provider.Status, error) {
	if op.BackupID != "" {
		b, err := d.backupSet(ctx, op.Resource, op.BackupID)
		if err != nil {
			return provider.Status{}, err
		}
		if b == nil {
			return provider.Status{Phase: provider.PhaseGone, Percent: -1, ProviderState: "NotFound"}, nil
		}
		st := provider.Status{Phase: provider.PhaseSucceeded, Percent: 100, ProviderState: b.BackupStatus, StartedAt: op.StartedAt}
		if b.BackupStatus != "Success" {
			st.Phase, st.Message = provider.PhaseFailed, fmt.Sprintf("backup set %s is %s", b.BackupId, b.BackupStatus)
		}
		return st, nil
	}
	t, err := d.task(ctx, op.Resource, op.ID)
	if err != nil {
		return provider.Status{}, err
	}
	if t == nil {
		return provider.Status{Phase: provider.PhaseGone, Percent: -1, ProviderState: "NotFound"}, nil
	}
	st := provider.Status{Phase: provider.PhaseRunning, Percent: -1, ProviderState: t.BackupStatus, StartedAt: op.StartedAt}
	if p, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(t.Process), "%"), 64); err == nil && p >= 0 && p <= 100 {
		st.Percent = p
	}
	switch t.BackupStatus {
	case "Finished":
		st.Phase, st.Percent = provider.PhaseSucceeded, 100
	case "Failed":
		st.Phase, st.Message = provider.PhaseFailed, fmt.Sprintf("backup task %s of instance %s failed", t.BackupJobId, op.Resource)
	}
	return st, nil
}

// Cancel reports false: RDS has no API to stop a backup task. The caller
// waits for the task to end and then deletes its backup set.
func (*Driver) Cancel(context.Context, provider.Operation) (bool, error) { return false, nil }

// backupIDOf resolves the backup set an operation made: the adopted set, or
// the BackupId DescribeBackupTasks reports once the task is Finished. It
// returns "" (and no error) when there is no set: the task is gone or failed.
func (d *Driver) backupIDOf(ctx context.Context, op provider.Operation) (string, error) {
	if op.BackupID != "" {
		return op.BackupID, nil
	}
	t, err := d.task(ctx, op.Resource, op.ID)
	if err != nil || t == nil {
		return "", err
	}
	switch t.BackupStatus {
	case "Finished":
		if t.BackupId == "" {
			return "", &provider.Error{Class: provider.Busy, Provider: backup.ProviderAliRDS,
				Message: fmt.Sprintf("backup task %s is Finished but reports no BackupId yet", t.BackupJobId)}
		}
		return t.BackupId, nil
	case "Failed":
		return "", nil
	}
	return "", &provider.Error{Class: provider.Busy, Provider: backup.ProviderAliRDS, Code: t.BackupStatus,
		Message: fmt.Sprintf("backup task %s is still %s (%s%%); RDS cannot stop it, so its backup set can be deleted only once it ends", t.BackupJobId, t.BackupStatus, t.Process)}
}

// Delete deletes the operation's backup set (DeleteBackup) once the task
// has ended; a task still running is Busy; a set already gone is no error.
func (d *Driver) Delete(ctx context.Context, op provider.Operation) error {
	id, err := d.backupIDOf(ctx, op)
	if err != nil || id == "" {
		return err
	}
	_, err = call(ctx, d, func(c *rds.Client) (*rds.DeleteBackupResponse, error) {
		req := rds.CreateDeleteBackupRequest()
		req.DBInstanceId = op.Resource
		req.BackupId = id
		return c.DeleteBackup(req)
	})
	if provider.IsClass(err, provider.NotFound) {
		return nil
	}
	return err
}

func (d *Driver) backupSet(ctx context.Context, instanceID, backupID string) (*rds.Backup, error) {
	resp, err := call(ctx, d, func(c *rds.Client) (*rds.DescribeBackupsResponse, error) {
		req := rds.CreateDescribeBackupsRequest()
		req.DBInstanceId = instanceID
		req.BackupId = backupID
		return c.DescribeBackups(req)
	})
	if err != nil {
		return nil, err
	}
	for _, b := range resp.Items.Backup {
		if b.BackupId == backupID {
			return &b, nil
		}
	}
	return nil, nil
}

// Describe confirms the backup set through DescribeBackups and returns it;
// Record is the DescribeBackups item as JSON.
func (d *Driver) Describe(ctx context.Context, op provider.Operation) (backup.Backup, error) {
	id, err := d.backupIDOf(ctx, op)
	if err != nil {
		return backup.Backup{}, err
	}
	if id == "" {
		return backup.Backup{}, &provider.Error{Class: provider.NotFound, Provider: backup.ProviderAliRDS,
			Message: fmt.Sprintf("backup task %s of instance %s left no backup set (it failed or is gone)", op.ID, op.Resource)}
	}
	b, err := d.backupSet(ctx, op.Resource, id)
	if err != nil {
		return backup.Backup{}, err
	}
	if b == nil {
		// The task says Finished; DescribeBackups can lag it for a while.
		return backup.Backup{}, &provider.Error{Class: provider.Busy, Provider: backup.ProviderAliRDS, RetryAfter: 20 * time.Second,
			Message: fmt.Sprintf("DescribeBackups does not list backup set %s of instance %s yet", id, op.Resource)}
	}
	rec, err := json.Marshal(b)
	if err != nil {
		return backup.Backup{}, &provider.Error{Class: provider.Internal, Provider: backup.ProviderAliRDS, Message: err.Error(), Err: err}
	}
	out := backup.Backup{ID: b.BackupId, State: b.BackupStatus, Record: rec}
	if t, err := time.Parse(timeFormat, b.BackupStartTime); err == nil {
		out.CreateTime = &t
	}
	if b.BackupSize > 0 {
		size := b.BackupSize
		out.SizeBytes = &size
	}
	return out, nil
}
