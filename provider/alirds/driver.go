// Package alirds is backupflow's driver for Alibaba Cloud ApsaraDB RDS,
// built on the official SDK github.com/aliyun/alibaba-cloud-sdk-go
// (services/rds, API version 2014-08-15). Every provider fact the driver
// relies on, with its public source or marked as a guess, is in
// docs/providers/alirds.md.
//
// The files: driver.go, the Driver and its methods; config.go, the
// environment, its check and New; errors.go, classify (every SDK error into
// the provider taxonomy) and its code table; rules.go, every documented
// constraint of CreateBackup and the instance states and locks Preflight reads.
//
// # API calls
//
// A backup is CreateBackup (no client token, no cancel), polled through
// DescribeBackupTasks by BackupJobId and confirmed through DescribeBackups.
// Preflight reads the instance (DescribeDBInstanceAttribute), its databases
// (DescribeDatabases), its unfinished tasks (DescribeBackupTasks) and today's
// backup sets (DescribeBackups). Delete is DeleteBackup, by the BackupId an
// operation carries (one rebuilt from a Result does) or the one its task
// reports. List is DescribeBackups of the instance's manual sets, every page. The request section
// mirrors CreateBackup's parameters (backup.AliRDSCreate), sent as written.
//
// # Idempotency and ownership
//
// ApsaraDB RDS keeps nothing a caller sets with a backup, so the BackupJobId
// CreateBackup returns is the only proof that a backup is ours (see
// ProofByCreateResponseOnly). Start never adopts; Find lists every manual
// task and set that could be an earlier attempt's and refuses them all
// (provider.NotOurs), so a lost CreateBackup answer fails the workflow and
// leaves the backup to a person instead of making a second one.
//
// # Cancel
//
// RDS has no API to stop a backup task: Cancel reports false, the caller
// waits for the task to end and then deletes its backup set.
//
// # Errors
//
// classify (errors.go) is the only place Alibaba errors are interpreted: the
// error code by its table, else by rule and HTTP status, keeping the code,
// request ID and a Retry-After hint, and never the signed request. The SDK's
// calls take no context: each runs under provider.Call (the activity's
// deadline and cancellation) and the SDK client's own connect and read
// timeouts. SDK auto-retry stays off; Temporal retries.
//
// # Limits
//
// One backup task runs on an instance at a time (another is Busy until it
// ends); at most 20 backup sets per instance per day (Quota, not retried);
// the instance must be Running and unlocked. rules.go maps every documented
// constraint to a check.
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
	// now is the driver's clock (the day of the 20-per-day rule, the end
	// of Find's window).
	now func() time.Time
}

var _ provider.Driver = (*Driver)(nil)

// The SDK fills rds.EndpointMap lazily, unsynchronized, on the first client;
// fill it once here so concurrent first calls do not race.
var _ = rds.GetEndpointMap()

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

// Validate enforces the rules that need nothing but the request (validate,
// rules.go, the registered validation).
func (d *Driver) Validate(kind backup.Kind, section json.RawMessage, now time.Time) (provider.Target, error) {
	return validate(kind, section, now)
}

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
	if err := lockRule(id, attr.LockMode, attr.LockReason); err != nil {
		return err
	}
	if err := stateRule(id, attr.DBInstanceStatus); err != nil {
		return err
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
		return instanceError(provider.Busy, "instance %s has an ongoing %s backup task %s (%s, %s%%); waiting until it ends, one task runs at a time",
			id, t.JobMode, t.BackupJobId, t.BackupStatus, t.Process)
	}
	n, err := d.backupsToday(ctx, id)
	if err != nil {
		return err
	}
	if n >= dailyLimit {
		return instanceError(provider.Quota, "instance %s already has %d backup sets today (UTC); at most %d a day", id, n, dailyLimit)
	}
	return nil
}

// instanceError is a Preflight refusal about the instance (alirds.DBInstanceId).
func instanceError(class provider.Class, format string, args ...any) *provider.Error {
	return &provider.Error{Class: class, Provider: backup.ProviderAliRDS, Field: field("DBInstanceId"), Message: fmt.Sprintf(format, args...)}
}

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

// backups lists backup sets of an instance (DescribeBackups), every page:
// PageNumber rises until the sets read reach TotalRecordCount, a page is
// empty (a server may hold fewer a page than asked for) or brings no set not
// seen before (a server that ignores PageNumber). A set seen twice, as the
// newest-first list shifts under the paging, is kept once.
func (d *Driver) backups(ctx context.Context, id string, tune func(*rds.DescribeBackupsRequest)) ([]rds.Backup, error) {
	var out []rds.Backup
	seen := map[string]bool{}
	for page, read := 1, 0; ; page++ {
		resp, err := call(ctx, d, func(c *rds.Client) (*rds.DescribeBackupsResponse, error) {
			req := rds.CreateDescribeBackupsRequest()
			req.DBInstanceId = id
			req.PageSize = requests.NewInteger(maxPageSize)
			req.PageNumber = requests.NewInteger(page)
			tune(req)
			return c.DescribeBackups(req)
		})
		if err != nil {
			return nil, err
		}
		before := len(out)
		for _, b := range resp.Items.Backup {
			if !seen[b.BackupId] {
				seen[b.BackupId] = true
				out = append(out, b)
			}
		}
		read += len(resp.Items.Backup)
		total, err := strconv.Atoi(resp.TotalRecordCount)
		if len(out) == before || err == nil && read >= total {
			return out, nil
		}
	}
}

// maxPageSize is DescribeBackups' largest PageSize (30 to 100 are allowed).
const maxPageSize = 100

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

// ProofByCreateResponseOnly says ApsaraDB RDS keeps nothing a caller sets
// with a backup (CreateBackup takes no name, description or client token),
// so only the BackupJobId CreateBackup returns proves a backup is ours: a
// backup whose CreateBackup answer was lost can never be adopted. The
// conformance harness and the test clouds read it from here.
const ProofByCreateResponseOnly = true

// clockSkew widens Find's window before the owner's start, so a backup of
// ours is a candidate even when Alibaba's clock is behind the workflow's.
// It only adds candidates (which are refused, never adopted).
const clockSkew = 5 * time.Minute

// notOursWhy ends Find's refusal: why nothing it found can be proven ours.
const notOursWhy = "ApsaraDB RDS keeps nothing a caller sets with a backup, so only the BackupJobId " +
	"returned by backupflow's own CreateBackup proves ownership, and this workflow holds none: " +
	"the backup may be this workflow's, its CreateBackup answer lost, or somebody else's"

// Find looks for what this job's owner could have started without knowing
// it (a CreateBackup whose answer was lost). Nothing proves ownership here
// (see ProofByCreateResponseOnly), so Find never returns an operation: it
// lists the instance's manual backups that could be the owner's, the
// unfinished Manual tasks (tasks show no start time) and the Manual sets
// that began at or after Owner.StartedAt less clockSkew, and refuses them
// all with provider.NotOurs. With none, it returns nil: nothing of ours can
// exist, so a retry may create. Automated tasks and sets (the backup
// policy) are never candidates.
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
	sets, err := d.backups(ctx, id, func(r *rds.DescribeBackupsRequest) {
		r.BackupMode = "Manual"
		if !job.Owner.StartedAt.IsZero() {
			r.StartTime = job.Owner.StartedAt.UTC().Add(-clockSkew).Truncate(time.Minute).Format(windowFormat)
			r.EndTime = d.now().UTC().Add(24 * time.Hour).Format(windowFormat)
		}
	})
	if err != nil {
		return nil, err
	}
	var ids, seen []string
	for _, t := range tasks {
		ids = append(ids, t.BackupJobId)
		seen = append(seen, fmt.Sprintf("running manual task %s", t.BackupJobId))
	}
	since := job.Owner.StartedAt.UTC().Add(-clockSkew).Truncate(time.Second)
	for _, b := range sets {
		start, err := time.Parse(timeFormat, b.BackupStartTime)
		if b.BackupMode != "Manual" || err == nil && start.Before(since) {
			continue // an unreadable start time stays a candidate
		}
		ids = append(ids, b.BackupId)
		seen = append(seen, fmt.Sprintf("manual set %s begun at %s", b.BackupId, b.BackupStartTime))
	}
	if len(ids) == 0 {
		return nil, nil
	}
	why := fmt.Sprintf("instance %s has %s, which this workflow may have started; %s", id, strings.Join(seen, " and "), notOursWhy)
	return nil, provider.NotOurs(backup.ProviderAliRDS, ids, why)
}

// Start calls CreateBackup and returns its BackupJobId as the operation,
// the only proof of ownership RDS offers. It never adopts: a retried start
// calls Find first (the StartOperation activity does), which refuses any
// manual backup that could be an earlier attempt's. The request is sent as
// written: fields left out take the provider's documented defaults.
func (d *Driver) Start(ctx context.Context, job provider.Job) (provider.Operation, error) {
	s, err := parse(job.Kind, job.Section)
	if err != nil {
		return provider.Operation{}, err
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
	if _, err := strconv.ParseInt(resp.BackupJobId, 10, 64); err != nil {
		return provider.Operation{}, &provider.Error{Class: provider.Internal, Provider: backup.ProviderAliRDS, RequestID: resp.RequestId,
			Message: fmt.Sprintf("CreateBackup answered without a usable BackupJobId (%q)", resp.BackupJobId)}
	}
	return provider.Operation{ID: resp.BackupJobId, Resource: s.raw.DBInstanceID, Kind: backup.KindCreate}, nil
}

// phaseOf is the phase of a task's BackupStatus ("States read" in docs/providers/alirds.md).
func phaseOf(backupStatus string) provider.Phase {
	switch backupStatus {
	case "Finished":
		return provider.PhaseSucceeded
	case "Failed":
		return provider.PhaseFailed
	}
	return provider.PhaseRunning
}

// Poll makes one call: DescribeBackupTasks by the operation's BackupJobId
// (DescribeBackups by BackupId for an operation that carries one). A task
// that is not listed is waited for (RUNNING, provider state NotListed),
// never matched to a backup set by time: see "A task that is not listed" in
// docs/providers/alirds.md.
func (d *Driver) Poll(ctx context.Context, op provider.Operation) (provider.Status, error) {
	if op.BackupID != "" {
		b, err := d.backupSet(ctx, op.Resource, op.BackupID)
		if err != nil {
			return provider.Status{}, err
		}
		if b == nil {
			return provider.Status{Phase: provider.PhaseGone, Percent: -1, ProviderState: "NotFound", StartedAt: op.StartedAt}, nil
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
		return provider.Status{Phase: provider.PhaseRunning, Percent: -1, ProviderState: "NotListed", StartedAt: op.StartedAt,
			Message: fmt.Sprintf("backup task %s of instance %s is not listed by DescribeBackupTasks; waiting for it to be listed again", op.ID, op.Resource)}, nil
	}
	st := provider.Status{Phase: phaseOf(t.BackupStatus), Percent: percent(t.Process), ProviderState: t.BackupStatus, StartedAt: op.StartedAt}
	switch st.Phase {
	case provider.PhaseSucceeded:
		st.Percent = 100
	case provider.PhaseFailed:
		st.Message = fmt.Sprintf("backup task %s of instance %s failed (at %s)", t.BackupJobId, op.Resource, t.BackupProgressStatus)
	}
	return st, nil
}

// percent reads Process, a percentage as a decimal string ("25"); -1 when it is not one.
func percent(process string) float64 {
	p, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(process), "%"), 64)
	if err != nil || p < 0 || p > 100 {
		return -1
	}
	return p
}

// Cancel reports false: RDS has no API to stop a backup task. The caller
// waits for the task to end and then deletes its backup set.
func (*Driver) Cancel(context.Context, provider.Operation) (bool, error) { return false, nil }

// backupIDOf resolves the backup set an operation made, only through its
// own BackupJobId (or the BackupId it carries). It returns "" (and no
// error) when the task failed and left no set.
func (d *Driver) backupIDOf(ctx context.Context, op provider.Operation) (string, error) {
	if op.BackupID != "" {
		return op.BackupID, nil
	}
	t, err := d.task(ctx, op.Resource, op.ID)
	if err != nil {
		return "", err
	}
	if t == nil {
		return "", &provider.Error{Class: provider.Busy, Provider: backup.ProviderAliRDS, RetryAfter: 20 * time.Second,
			Message: fmt.Sprintf("backup task %s of instance %s is not listed by DescribeBackupTasks; its backup set is known only from the task, so waiting for it to be listed again", op.ID, op.Resource)}
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
	out := summary(*b)
	out.Record = rec
	return out, nil
}

// summary is a backup set as Describe and List report it. A set has no name.
func summary(b rds.Backup) backup.Backup {
	out := backup.Backup{ID: b.BackupId, State: b.BackupStatus}
	if t, err := time.Parse(timeFormat, b.BackupStartTime); err == nil {
		out.CreateTime = &t
	}
	if b.BackupSize > 0 {
		size := b.BackupSize
		out.SizeBytes = &size
	}
	return out
}

// List returns the instance's manual backup sets (DescribeBackups with
// BackupMode Manual, every page). Automated sets are the backup policy's,
// never backupflow's; a task still running has no set yet, so it is not
// listed until it finishes.
func (d *Driver) List(ctx context.Context, kind backup.Kind, instanceID string) ([]backup.Backup, error) {
	if kind != backup.KindCreate {
		return nil, &provider.Error{Class: provider.Unsupported, Provider: backup.ProviderAliRDS, Field: "kind", Rule: "create only",
			Message: fmt.Sprintf("ApsaraDB RDS has no per-backup %s API, so there are no %s backups to list", kind, kind)}
	}
	if instanceID == "" {
		return nil, provider.Invalid(field("DBInstanceId"), "is required: the instance whose backup sets are listed")
	}
	sets, err := d.backups(ctx, instanceID, func(r *rds.DescribeBackupsRequest) { r.BackupMode = "Manual" })
	if err != nil {
		return nil, err
	}
	out := make([]backup.Backup, 0, len(sets))
	for _, b := range sets {
		out = append(out, summary(b))
	}
	return out, nil
}
