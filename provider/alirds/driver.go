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
	"sync"
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
	// now is the driver's clock (the day of the 20-per-day rule, Find's
	// window, the grace for a task that is not listed).
	now func() time.Time

	// unlisted remembers when Poll first found a task missing from
	// DescribeBackupTasks, by operation (see notListedGrace).
	mu       sync.Mutex
	unlisted map[string]time.Time
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
		unlisted:  map[string]time.Time{},
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

// What Preflight does with each DBInstanceStatus but Running, as the table
// "States read" of docs/providers/alirds.md says. States that pass by
// themselves are Busy (retried with a long back-off); states only a person
// changes are FailedPrecondition (not retried), with what to do.
var (
	passingStates = map[string]bool{
		"Creating": true, "Rebooting": true, "DBInstanceClassChanging": true, "TRANSING": true,
		"EngineVersionUpgrading": true, "TransingToOthers": true, "GuardDBInstanceCreating": true,
		"Restoring": true, "Importing": true, "ImportingFromOthers": true, "DBInstanceNetTypeChanging": true,
		"GuardSwitching": true, "INS_CLONING": true, "TempDBInstanceCreating": true,
	}
	personStates = map[string]string{
		"Stopping": "it is being stopped: start it once it is Stopped, then retry",
		"Stopped":  "start it, then retry",
		"Deleting": "it is being deleted and will never run again",
		"Released": "it is released and will never run again",
	}
)

// stateRule is the "The instance is in the running state" precondition.
func stateRule(id, status string) error {
	switch {
	case status == "Running":
		return nil
	case personStates[status] != "":
		return instanceError(provider.FailedPrecondition, "instance %s is %s; %s", id, status, personStates[status])
	case passingStates[status]:
		return instanceError(provider.Busy, "instance %s is %s; waiting until it is Running", id, status)
	}
	// A state Alibaba added since: assume it passes, as most do, and say so.
	return instanceError(provider.Busy, "instance %s is %s (a state backupflow does not know); waiting until it is Running", id, status)
}

// What Preflight does with each LockMode but Unlock ("States read" in
// docs/providers/alirds.md): a lock lifted by a person, with what to do, or
// the one lock that lifts by itself.
var (
	personLocks = map[string]string{
		"ManualLock":                  "have the account owner unlock it",
		"LockByExpiration":            "renew it",
		"LockByDiskQuota":             "free or add storage",
		"LockReadInstanceByDiskQuota": "free or add storage",
	}
	passingLocks = map[string]bool{"LockByRestoration": true}
)

func lockRule(id, mode, reason string) error {
	if mode == "" || mode == "Unlock" {
		return nil
	}
	why := "LockMode " + mode
	if reason != "" {
		why += ": " + reason
	}
	if passingLocks[mode] {
		return instanceError(provider.Busy, "instance %s is locked (%s); waiting until it is unlocked", id, why)
	}
	advice := personLocks[mode]
	if advice == "" {
		advice = "have the account owner unlock it" // a lock backupflow does not know
	}
	return instanceError(provider.FailedPrecondition, "instance %s is locked (%s); %s, then retry", id, why, advice)
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

// ours is what tells the backup set a request of ours made from others:
// a Manual set of the requested method (and databases) that started at or
// after createdAt, the provider's time of our CreateBackup. It travels in
// Operation.Extra so any worker can use it.
type ours struct {
	createdAt time.Time
	method    string
	dbNames   []string
}

const (
	extraCreatedAt = "createdAt"
	extraMethod    = "backupMethod"
	extraDBNames   = "dbNames"
)

func (o ours) extra() map[string]string {
	return map[string]string{
		extraCreatedAt: o.createdAt.UTC().Truncate(time.Second).Format(time.RFC3339),
		extraMethod:    o.method,
		extraDBNames:   strings.Join(o.dbNames, ","),
	}
}

// oursOf reads the extra of an operation; ok is false for an operation
// recorded without it (then no set can be matched to it).
func oursOf(op provider.Operation) (o ours, ok bool) {
	t, err := time.Parse(time.RFC3339, op.Extra[extraCreatedAt])
	if err != nil || op.Extra[extraMethod] == "" {
		return ours{}, false
	}
	o = ours{createdAt: t, method: op.Extra[extraMethod]}
	if n := op.Extra[extraDBNames]; n != "" {
		o.dbNames = strings.Split(n, ",")
	}
	return o, true
}

// providerTime is the Date of an answer: the provider's clock. ok is false
// when the answer has none.
func providerTime(headers map[string][]string) (t time.Time, ok bool) {
	t, err := http.ParseTime(http.Header(headers).Get("Date"))
	return t.UTC(), err == nil
}

// earliestSet returns the earliest backup set that is ours (see ours), or nil.
// Tasks run one at a time per instance, so no other manual set can start
// between our CreateBackup and our task's start: the earliest match is ours.
func (d *Driver) earliestSet(ctx context.Context, instanceID string, o ours) (*rds.Backup, time.Time, error) {
	since := o.createdAt.UTC().Truncate(time.Second)
	sets, _, err := d.backups(ctx, instanceID, func(r *rds.DescribeBackupsRequest) {
		r.BackupMode = "Manual"
		r.StartTime = since.Truncate(time.Minute).Format(windowFormat)
		r.EndTime = d.now().UTC().Add(24 * time.Hour).Format(windowFormat)
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	var best *rds.Backup
	var bestStart time.Time
	for i, b := range sets {
		start, err := time.Parse(timeFormat, b.BackupStartTime)
		if err != nil || start.Before(since) || b.BackupMode != "Manual" || b.BackupMethod != o.method {
			continue
		}
		if len(o.dbNames) > 0 && !sameNames(b.BackupDBNames, o.dbNames) {
			continue
		}
		if best == nil || start.Before(bestStart) {
			best, bestStart = &sets[i], start
		}
	}
	return best, bestStart, nil
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
		// An adopted task carries no creation time: our CreateBackup's own
		// answer was lost, and a time guessed from the workflow's start would
		// let a set somebody else made be taken for ours once the task is no
		// longer listed. So an adopted task is only ever found by its job ID.
		op := provider.Operation{ID: tasks[0].BackupJobId, Resource: id, Kind: backup.KindCreate}
		return &op, nil
	}
	if job.Owner.StartedAt.IsZero() {
		return nil, nil // no way to tell our sets from older ones
	}
	o := ours{createdAt: job.Owner.StartedAt, method: s.method, dbNames: s.dbNames}
	best, start, err := d.earliestSet(ctx, id, o)
	if err != nil || best == nil {
		return nil, err
	}
	op := provider.Operation{ID: best.BackupId, BackupID: best.BackupId, Resource: id, Kind: backup.KindCreate, StartedAt: &start}
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

func operation(instanceID, jobID string, o ours) provider.Operation {
	return provider.Operation{ID: jobID, Resource: instanceID, Kind: backup.KindCreate, Extra: o.extra()}
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
	created, ok := providerTime(resp.GetHttpHeaders())
	if !ok {
		// Without the provider's own clock, matching sets by time could take
		// an older set for ours: the task is then found by its job ID only.
		return provider.Operation{ID: resp.BackupJobId, Resource: s.raw.DBInstanceID, Kind: backup.KindCreate}, nil
	}
	return operation(s.raw.DBInstanceID, resp.BackupJobId, ours{createdAt: created, method: s.method, dbNames: s.dbNames}), nil
}

// notListedGrace is how long a task may be missing from DescribeBackupTasks
// (even queried by its BackupJobId) before backupflow takes it as gone. A
// task that has just ended may stop being listed, and DescribeBackups may
// show its set only a little later (docs/providers/alirds.md, "A task that
// stops being listed"): five minutes covers several polls and that lag.
const notListedGrace = 5 * time.Minute

// sighting is what the provider shows of an operation: its task, else the
// backup set it made, else nothing (waiting: still within notListedGrace).
type sighting struct {
	task    *rds.BackupJob
	set     *rds.Backup
	waiting time.Duration // > 0: not listed for this long, within the grace
}

// look finds an operation's task or set. A task that is not listed is
// looked for in DescribeBackups; while neither shows, the grace runs, timed
// from the first look that missed it (in this worker's memory: a restart
// starts it again, which lengthens it and never shortens it).
func (d *Driver) look(ctx context.Context, op provider.Operation) (sighting, error) {
	if op.BackupID != "" {
		b, err := d.backupSet(ctx, op.Resource, op.BackupID)
		return sighting{set: b}, err
	}
	t, err := d.task(ctx, op.Resource, op.ID)
	if err != nil {
		return sighting{}, err
	}
	key := op.Resource + "/" + op.ID
	if t != nil {
		d.seen(key)
		return sighting{task: t}, nil
	}
	if o, ok := oursOf(op); ok {
		b, _, err := d.earliestSet(ctx, op.Resource, o)
		if err != nil {
			return sighting{}, err
		}
		if b != nil {
			d.seen(key)
			return sighting{set: b}, nil
		}
	}
	if missing := d.missingFor(key); missing < notListedGrace {
		return sighting{waiting: max(missing, time.Nanosecond)}, nil
	}
	return sighting{}, nil
}

// missingFor records that the operation's task is not listed and reports
// for how long it has not been.
func (d *Driver) missingFor(key string) time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	for k, since := range d.unlisted {
		if now.Sub(since) > 24*time.Hour {
			delete(d.unlisted, k) // operations nobody polls any more
		}
	}
	since, ok := d.unlisted[key]
	if !ok {
		d.unlisted[key] = now
		return 0
	}
	return now.Sub(since)
}

func (d *Driver) seen(key string) {
	d.mu.Lock()
	delete(d.unlisted, key)
	d.mu.Unlock()
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

// Poll makes one look (see look): DescribeBackupTasks by BackupJobId, and
// DescribeBackups when the task is not listed or for a set adopted by Find.
func (d *Driver) Poll(ctx context.Context, op provider.Operation) (provider.Status, error) {
	sight, err := d.look(ctx, op)
	if err != nil {
		return provider.Status{}, err
	}
	switch {
	case sight.task != nil:
		t := sight.task
		st := provider.Status{Phase: phaseOf(t.BackupStatus), Percent: percent(t.Process), ProviderState: t.BackupStatus, StartedAt: op.StartedAt}
		switch st.Phase {
		case provider.PhaseSucceeded:
			st.Percent = 100
		case provider.PhaseFailed:
			st.Message = fmt.Sprintf("backup task %s of instance %s failed (at %s)", t.BackupJobId, op.Resource, t.BackupProgressStatus)
		}
		return st, nil
	case sight.set != nil:
		b := sight.set
		st := provider.Status{Phase: provider.PhaseSucceeded, Percent: 100, ProviderState: b.BackupStatus, StartedAt: op.StartedAt}
		if b.BackupStatus != "Success" {
			st.Phase, st.Message = provider.PhaseFailed, fmt.Sprintf("backup set %s is %s", b.BackupId, b.BackupStatus)
		}
		return st, nil
	case sight.waiting > 0:
		return provider.Status{Phase: provider.PhaseRunning, Percent: -1, ProviderState: "NotListed", StartedAt: op.StartedAt,
			Message: fmt.Sprintf("backup task %s is not listed by DescribeBackupTasks and its set is not in DescribeBackups yet; waiting up to %v for it",
				op.ID, notListedGrace)}, nil
	}
	return provider.Status{Phase: provider.PhaseGone, Percent: -1, ProviderState: "NotFound"}, nil
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

// backupIDOf resolves the backup set an operation made (see look). It
// returns "" (and no error) when there is no set: the task failed or is gone.
func (d *Driver) backupIDOf(ctx context.Context, op provider.Operation) (string, error) {
	if op.BackupID != "" {
		return op.BackupID, nil
	}
	sight, err := d.look(ctx, op)
	switch {
	case err != nil:
		return "", err
	case sight.set != nil:
		return sight.set.BackupId, nil
	case sight.waiting > 0:
		return "", &provider.Error{Class: provider.Busy, Provider: backup.ProviderAliRDS, RetryAfter: 20 * time.Second,
			Message: fmt.Sprintf("backup task %s is not listed and its set is not in DescribeBackups yet", op.ID)}
	case sight.task == nil:
		return "", nil
	}
	t := sight.task
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
