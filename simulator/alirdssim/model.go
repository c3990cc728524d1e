package alirdssim

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Engines the simulator models (DescribeDBInstanceAttribute's Engine values).
const (
	EngineMySQL      = "MySQL"
	EngineSQLServer  = "SQLServer"
	EngineMariaDB    = "MariaDB"
	EnginePostgreSQL = "PostgreSQL"
)

// DailyBackupLimit is the documented number of backup sets an instance may
// have created per day (see backupsTodayLocked for what "day" means here).
const DailyBackupLimit = 20

// Backup task states (DescribeBackupTasks BackupStatus), in the order a task
// goes through them: Checking is the verification of the uploaded files.
const (
	StatusNoStart   = "NoStart"
	StatusPreparing = "Preparing"
	StatusWaiting   = "Waiting"
	StatusUploading = "Uploading"
	StatusChecking  = "Checking"
	StatusFinished  = "Finished"
	StatusFailed    = "Failed"
)

// InstanceStatuses are the DBInstanceStatus values the simulator models
// (the RDS instance state table; docs/providers/alirds.md). SetInstanceStatus
// accepts only these.
var InstanceStatuses = []string{
	"Creating", "Running", "Deleting", "Rebooting", "Stopping", "Stopped", "DBInstanceClassChanging",
	"TRANSING", "EngineVersionUpgrading", "TransingToOthers", "GuardDBInstanceCreating", "Restoring",
	"Importing", "ImportingFromOthers", "DBInstanceNetTypeChanging", "GuardSwitching", "INS_CLONING",
	"TempDBInstanceCreating", "Released",
}

// LockModes are the LockMode values the simulator models; SetLockMode accepts only these.
var LockModes = []string{"Unlock", "ManualLock", "LockByExpiration", "LockByRestoration", "LockByDiskQuota", "LockReadInstanceByDiskQuota"}

// Wire time formats: backup times to the second, DescribeBackups windows to the minute.
const (
	timeFormat   = "2006-01-02T15:04:05Z"
	windowFormat = "2006-01-02T15:04Z"
)

type instance struct {
	id, engine, engineVersion, status, lockMode, lockReason string
	databases                                               []string
	failNext                                                string
	hideNext                                                *[2]time.Duration // HideNextEnd's task and set delays
}

type task struct {
	jobID                                 int64
	instance                              string
	mode                                  string // Manual or Automated
	method, strategy, dbNames, backupType string
	start                                 time.Time
	duration                              time.Duration
	backupID                              string // assigned at creation, shown once Finished
	failWith                              string
	settled                               bool
	// hideTask and hideSet model a task that just ended and is not visible
	// yet: for hideTask after its end DescribeBackupTasks does not list it
	// (even by BackupJobId), for hideSet DescribeBackups does not list its set.
	hideTask, hideSet time.Duration
}

type backupSet struct {
	id, instance, status, mode, method, backupType, dbNames, engine, engineVersion string
	start, end                                                                     time.Time
	size                                                                           int64
	// visibleFrom is when DescribeBackups starts listing the set (zero: at once).
	visibleFrom time.Time
}

// phase is where a task is at now: its BackupStatus, its BackupProgressStatus
// and its Process percent. The two states agree while the task runs; a
// failed task's BackupProgressStatus stays at the step it failed in
// (Checking here), since that field has no Failed value.
func (t *task) phase(now time.Time) (status, progress string, percent int) {
	if t.settled || now.Sub(t.start) >= t.duration {
		if t.failWith != "" {
			return StatusFailed, StatusChecking, 100
		}
		return StatusFinished, StatusFinished, 100
	}
	f := max(float64(now.Sub(t.start))/float64(t.duration), 0)
	percent = int(f * 100)
	switch {
	case f < 0.05:
		status = StatusNoStart
	case f < 0.15:
		status = StatusPreparing
	case f < 0.25:
		status = StatusWaiting
	case f < 0.85:
		status = StatusUploading
	default:
		status = StatusChecking
	}
	return status, status, percent
}

// ended reports whether the task has ended (Finished or Failed) by now.
func (t *task) ended(now time.Time) bool { return t.settled || now.Sub(t.start) >= t.duration }

// listed reports whether DescribeBackupTasks shows the task at all by now.
func (t *task) listed(now time.Time) bool {
	return !t.ended(now) || !now.Before(t.start.Add(t.duration+t.hideTask))
}

// settleLocked ends the tasks whose time is up: a finished task leaves a
// backup set with the ID it was given at creation; a failed one leaves none.
func (s *Server) settleLocked(now time.Time) {
	for _, t := range s.tasks {
		if t.settled || now.Sub(t.start) < t.duration {
			continue
		}
		t.settled = true
		if t.failWith != "" {
			continue
		}
		inst := s.instances[t.instance]
		backupType := "FullBackup"
		if t.backupType == "" || t.backupType == "Auto" {
			// Auto picks full or incremental; the simulator's first backup of an instance is full.
			for _, b := range s.backups {
				if b.instance == t.instance && b.method == t.method {
					backupType = "IncrementalBackup"
					break
				}
			}
		}
		s.backups[t.backupID] = &backupSet{
			id: t.backupID, instance: t.instance, status: "Success", mode: t.mode, method: t.method,
			backupType: backupType, dbNames: t.dbNames, engine: inst.engine, engineVersion: inst.engineVersion,
			start: t.start, end: t.start.Add(t.duration), size: 1<<30 + t.jobID%1024*1<<20,
			visibleFrom: t.start.Add(t.duration + t.hideSet),
		}
	}
}

func (s *Server) unfinishedTaskLocked(instanceID string, now time.Time) *task {
	for _, t := range s.tasks {
		if t.instance == instanceID && !t.ended(now) {
			return t
		}
	}
	return nil
}

// backupsTodayLocked counts the backup sets of an instance that started on
// the day of now, for the 20-a-day rule. Alibaba documents neither whose
// day it is (the simulator takes the UTC day; the console shows UTC+8) nor
// whether automated (policy) sets count (the simulator counts them, and
// counts only sets that still exist, so a deleted set makes room).
func (s *Server) backupsTodayLocked(instanceID string, now time.Time) int {
	day := now.Truncate(24 * time.Hour)
	n := 0
	for _, b := range s.backups {
		if b.instance == instanceID && !b.start.Before(day) && b.start.Before(day.Add(24*time.Hour)) {
			n++
		}
	}
	return n
}

func (s *Server) dispatchLocked(action string, p url.Values) (map[string]any, *apiError) {
	now := s.nowLocked()
	s.settleLocked(now)
	switch action {
	case "CreateBackup":
		return s.createBackupLocked(p, now)
	case "DescribeBackupTasks":
		return s.describeBackupTasksLocked(p, now)
	case "DescribeBackups":
		return s.describeBackupsLocked(p, now)
	case "DeleteBackup":
		return s.deleteBackupLocked(p)
	case "DescribeDBInstanceAttribute":
		return s.describeDBInstanceAttributeLocked(p)
	case "DescribeDatabases":
		return s.describeDatabasesLocked(p)
	}
	return nil, apiErr("InvalidAction.NotFound", fmt.Sprintf("Specified api %q is not found, please check your url and method.", action))
}

func (s *Server) instanceLocked(p url.Values) (*instance, *apiError) {
	id := p.Get("DBInstanceId")
	if id == "" {
		return nil, apiErr("MissingDBInstanceId", "The input parameter \"DBInstanceId\" that is mandatory for processing this request is not supplied.")
	}
	inst, ok := s.instances[id]
	if !ok {
		return nil, apiErr("InvalidDBInstanceId.NotFound", "The specified instance is not found.")
	}
	return inst, nil
}

func splitNames(list string) []string {
	var names []string
	for _, n := range strings.Split(list, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	return names
}

// createBackupLocked enforces the CreateBackup rules of the API
// documentation, in this order: parameter values, lock, Running state,
// engine-dependent parameter rules, databases, one task at a time, 20 per day.
func (s *Server) createBackupLocked(p url.Values, now time.Time) (map[string]any, *apiError) {
	inst, e := s.instanceLocked(p)
	if e != nil {
		return nil, e
	}
	method, strategy, backupType, dbName := p.Get("BackupMethod"), p.Get("BackupStrategy"), p.Get("BackupType"), p.Get("DBName")
	if method == "" {
		method = "Physical"
	}
	if backupType == "" {
		backupType = "Auto"
	}
	switch method {
	case "Logical", "Physical", "Snapshot":
	default:
		return nil, apiErr("InvalidBackupMethod.ValueNotSupport", "The specified parameter \"BackupMethod\" is not valid.")
	}
	if backupType != "Auto" && backupType != "FullBackup" {
		return nil, apiErr("BackupType.NotSupport", "the specified backup type not support")
	}
	if strategy != "" && strategy != "db" && strategy != "instance" {
		return nil, apiErr("InvalidParameter", "The specified parameter \"BackupStrategy\" is not valid: use db or instance.")
	}
	if inst.lockMode != "" && inst.lockMode != "Unlock" {
		return nil, apiErr("IncorrectDBInstanceLockMode", "Current DB instance lock mode does not support this operation.")
	}
	if inst.status != "Running" {
		return nil, apiErr("IncorrectDBInstanceState", "Current DB instance state does not support this operation.")
	}
	if inst.engine == EngineMariaDB && method != "Physical" {
		return nil, apiErr("InvalidBackupMethod.ValueNotSupport", "The specified parameter \"BackupMethod\" is not valid: set Physical to back up a MariaDB instance (snapshot).")
	}
	mysqlLogical := inst.engine == EngineMySQL && method == "Logical"
	sqlServerFull := inst.engine == EngineSQLServer && method == "Physical" && backupType == "FullBackup"
	if strategy != "" && !mysqlLogical && !sqlServerFull {
		return nil, apiErr("InvalidParameter", "BackupStrategy can be set only for MySQL logical backups or SQL Server full physical backups.")
	}
	if dbName != "" && strategy != "db" {
		return nil, apiErr("InvalidParameter", "DBName can be set only for single-database backups (BackupStrategy db).")
	}
	names := splitNames(dbName)
	if strategy == "db" && len(names) == 0 {
		return nil, apiErr("InvalidParameter", "DBName is required for a single-database backup (BackupStrategy db).")
	}
	for _, n := range names {
		found := false
		for _, d := range inst.databases {
			found = found || d == n
		}
		if !found {
			return nil, apiErr("InvalidDBName.NotFound", fmt.Sprintf("Specified DB name %q does not exist.", n))
		}
	}
	if method == "Logical" && len(inst.databases) == 0 {
		return nil, apiErr("InvalidBackupMethod.ValueNotSupport", "Logical backups can be performed only when the instance has a database.")
	}
	if s.unfinishedTaskLocked(inst.id, now) != nil {
		return nil, apiErr("BackupJobExists", "There is already a backup job in progress for this instance.")
	}
	if s.backupsTodayLocked(inst.id, now) >= DailyBackupLimit {
		return nil, apiErr("BackupTimesExceeded", fmt.Sprintf("The instance already has %d backup sets created today.", DailyBackupLimit))
	}
	t := s.newTaskLocked(inst, "Manual", now, s.opts.Duration)
	t.method, t.strategy, t.backupType, t.dbNames = method, strategy, backupType, strings.Join(names, ",")
	if inst.failNext != "" {
		t.failWith, inst.failNext = inst.failNext, ""
	}
	if inst.hideNext != nil {
		t.hideTask, t.hideSet, inst.hideNext = inst.hideNext[0], inst.hideNext[1], nil
	}
	return map[string]any{"BackupJobId": strconv.FormatInt(t.jobID, 10)}, nil
}

func (s *Server) newTaskLocked(inst *instance, mode string, start time.Time, d time.Duration) *task {
	s.jobSeq++
	s.backupSeq++
	t := &task{jobID: s.jobSeq, instance: inst.id, mode: mode, method: "Physical", backupType: "Auto",
		start: start, duration: d, backupID: strconv.FormatInt(s.backupSeq, 10)}
	s.tasks[t.jobID] = t
	return t
}

func (t *task) wire(now time.Time) map[string]any {
	st, progress, percent := t.phase(now)
	action := "TempBackupTask"
	if t.mode == "Automated" {
		action = "NormalBackupTask"
	}
	job := map[string]any{
		"BackupJobId":          strconv.FormatInt(t.jobID, 10),
		"BackupStatus":         st,
		"BackupProgressStatus": progress,
		"Process":              strconv.Itoa(percent),
		"JobMode":              t.mode,
		"TaskAction":           action,
	}
	if st == StatusFinished {
		job["BackupId"] = t.backupID
	}
	return job
}

// describeBackupTasksLocked: with BackupJobId, that task in any state (so a
// caller learns the BackupId of a finished task); without it, the tasks not
// yet finished (NoStart and Progressing), as the API documents. A task that
// just ended may be missing from both answers for a while (HideNextEnd).
func (s *Server) describeBackupTasksLocked(p url.Values, now time.Time) (map[string]any, *apiError) {
	inst, e := s.instanceLocked(p)
	if e != nil {
		return nil, e
	}
	mode, jobStatus := p.Get("BackupMode"), p.Get("BackupJobStatus")
	if mode != "" && mode != "Automated" && mode != "Manual" {
		return nil, apiErr("InvalidParameter", "The specified parameter \"BackupMode\" is not valid.")
	}
	if jobStatus != "" && jobStatus != "NoStart" && jobStatus != "Progressing" {
		return nil, apiErr("InvalidParameter", "The specified parameter \"BackupJobStatus\" is not valid.")
	}
	var jobID int64 = -1
	if v := p.Get("BackupJobId"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, apiErr("InvalidParameter", "The specified parameter \"BackupJobId\" is not valid.")
		}
		jobID = id
	}
	var ts []*task
	for _, t := range s.tasks {
		if t.instance != inst.id || (mode != "" && t.mode != mode) || !t.listed(now) {
			continue
		}
		st, _, _ := t.phase(now)
		if jobID >= 0 {
			if t.jobID == jobID {
				ts = append(ts, t)
			}
			continue
		}
		if st == StatusFinished || st == StatusFailed {
			continue
		}
		if jobStatus == "NoStart" && st != StatusNoStart || jobStatus == "Progressing" && st == StatusNoStart {
			continue
		}
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].jobID < ts[j].jobID })
	jobs := make([]map[string]any, 0, len(ts))
	for _, t := range ts {
		jobs = append(jobs, t.wire(now))
	}
	return map[string]any{"Items": map[string]any{"BackupJob": jobs}}, nil
}

func (b *backupSet) wire() map[string]any {
	initiator := "User"
	if b.mode == "Automated" {
		initiator = "System"
	}
	return map[string]any{
		"BackupId":                  b.id,
		"DBInstanceId":              b.instance,
		"HostInstanceID":            "5882781",
		"BackupStatus":              b.status,
		"BackupStartTime":           b.start.UTC().Format(timeFormat),
		"BackupEndTime":             b.end.UTC().Format(timeFormat),
		"BackupType":                b.backupType,
		"BackupMode":                b.mode,
		"BackupMethod":              b.method,
		"BackupScale":               map[bool]string{true: "DBInstance", false: "Database"}[b.dbNames == ""],
		"BackupDBNames":             b.dbNames,
		"BackupSize":                b.size,
		"BackupLocation":            "OSS",
		"BackupInitiator":           initiator,
		"Engine":                    b.engine,
		"EngineVersion":             b.engineVersion,
		"StoreStatus":               "Disabled",
		"IsAvail":                   1,
		"ConsistentTime":            b.end.Unix(),
		"StorageClass":              "0",
		"MetaStatus":                "OK",
		"Encryption":                "{}",
		"BackupDownloadURL":         "https://rdsbak-hz-v3.oss-cn-hangzhou.aliyuncs.com/" + b.id + ".tar.gz",
		"BackupIntranetDownloadURL": "https://rdsbak-hz-v3.oss-cn-hangzhou-internal.aliyuncs.com/" + b.id + ".tar.gz",
	}
}

// describeBackupsLocked lists an instance's backup sets, newest first,
// filtered by BackupId, BackupMode, BackupStatus and the StartTime/EndTime
// window (yyyy-MM-ddTHH:mmZ, both ends inclusive, on BackupStartTime), paged.
func (s *Server) describeBackupsLocked(p url.Values, now time.Time) (map[string]any, *apiError) {
	inst, e := s.instanceLocked(p)
	if e != nil {
		return nil, e
	}
	var from, to time.Time
	var err error
	if v := p.Get("StartTime"); v != "" {
		if from, err = time.Parse(windowFormat, v); err != nil {
			return nil, apiErr("InvalidStartTime.Malformed", "Specified start time is not valid.")
		}
	}
	if v := p.Get("EndTime"); v != "" {
		if to, err = time.Parse(windowFormat, v); err != nil {
			return nil, apiErr("InvalidEndTime.Malformed", "Specified end time is not valid.")
		}
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		return nil, apiErr("InvalidEndTime.Malformed", "Specified end time is earlier than the start time.")
	}
	pageSize, pageNumber := 30, 1
	if v := p.Get("PageSize"); v != "" {
		if pageSize, err = strconv.Atoi(v); err != nil || pageSize < 30 || pageSize > 100 {
			return nil, apiErr("InvalidPageSize", "PageSize must be between 30 and 100.")
		}
	}
	if v := p.Get("PageNumber"); v != "" {
		if pageNumber, err = strconv.Atoi(v); err != nil || pageNumber < 1 {
			return nil, apiErr("InvalidPageNumber", "PageNumber must be 1 or more.")
		}
	}
	ids := map[string]bool{}
	for _, id := range splitNames(p.Get("BackupId")) {
		ids[id] = true
	}
	var list []*backupSet
	for _, b := range s.backups {
		switch {
		case b.instance != inst.id,
			len(ids) > 0 && !ids[b.id],
			p.Get("BackupMode") != "" && b.mode != p.Get("BackupMode"),
			p.Get("BackupStatus") != "" && b.status != p.Get("BackupStatus"),
			!from.IsZero() && b.start.Before(from),
			!to.IsZero() && b.start.After(to.Add(time.Minute-time.Nanosecond)),
			now.Before(b.visibleFrom):
			continue
		}
		list = append(list, b)
	}
	sort.Slice(list, func(i, j int) bool {
		if !list[i].start.Equal(list[j].start) {
			return list[i].start.After(list[j].start)
		}
		return list[i].id > list[j].id
	})
	var total int64
	for _, b := range list {
		total += b.size
	}
	pageSize = min(pageSize, s.opts.PageSize)
	lo := min((pageNumber-1)*pageSize, len(list))
	hi := min(lo+pageSize, len(list))
	items := make([]map[string]any, 0, hi-lo)
	for _, b := range list[lo:hi] {
		items = append(items, b.wire())
	}
	return map[string]any{
		"TotalRecordCount": strconv.Itoa(len(list)),
		"PageNumber":       strconv.Itoa(pageNumber),
		"PageRecordCount":  strconv.Itoa(len(items)),
		"TotalBackupSize":  total,
		"Items":            map[string]any{"Backup": items},
	}, nil
}

// deleteBackupLocked deletes backup sets (BackupId: comma-separated IDs).
func (s *Server) deleteBackupLocked(p url.Values) (map[string]any, *apiError) {
	inst, e := s.instanceLocked(p)
	if e != nil {
		return nil, e
	}
	ids := splitNames(p.Get("BackupId"))
	if len(ids) == 0 {
		return nil, apiErr("MissingParameter", "The input parameter \"BackupId\" that is mandatory for processing this request is not supplied.")
	}
	for _, id := range ids {
		if b, ok := s.backups[id]; !ok || b.instance != inst.id {
			for _, refused := range ids {
				s.CountDelete(refused, false)
			}
			return nil, apiErr("InvalidBackupSetID.NotFound", "Specified backup set ID does not exist.")
		}
	}
	for _, id := range ids {
		delete(s.backups, id)
		s.CountDelete(id, true)
	}
	return map[string]any{}, nil
}

func (s *Server) describeDBInstanceAttributeLocked(p url.Values) (map[string]any, *apiError) {
	inst, e := s.instanceLocked(p)
	if e != nil {
		return nil, e
	}
	lock := inst.lockMode
	if lock == "" {
		lock = "Unlock"
	}
	attr := map[string]any{
		"DBInstanceId":          inst.id,
		"Engine":                inst.engine,
		"EngineVersion":         inst.engineVersion,
		"DBInstanceStatus":      inst.status,
		"LockMode":              lock,
		"LockReason":            inst.lockReason,
		"RegionId":              Region,
		"ZoneId":                Region + "-h",
		"DBInstanceClass":       "rds.mysql.s2.large",
		"DBInstanceType":        "Primary",
		"Category":              "HighAvailability",
		"PayType":               "Postpaid",
		"DBInstanceStorage":     100,
		"DBInstanceStorageType": "cloud_essd",
		"DBInstanceDescription": "backupflow simulator instance",
		"CreationTime":          "2024-01-02T03:04:05Z",
		"MaintainTime":          "18:00Z-22:00Z",
	}
	return map[string]any{"Items": map[string]any{"DBInstanceAttribute": []any{attr}}}, nil
}

func (s *Server) describeDatabasesLocked(p url.Values) (map[string]any, *apiError) {
	inst, e := s.instanceLocked(p)
	if e != nil {
		return nil, e
	}
	dbs := make([]map[string]any, 0, len(inst.databases))
	for _, n := range inst.databases {
		if want := p.Get("DBName"); want != "" && want != n {
			continue
		}
		dbs = append(dbs, map[string]any{
			"DBName": n, "DBInstanceId": inst.id, "Engine": inst.engine, "DBStatus": "Running",
			"CharacterSetName": "utf8mb4", "DBDescription": "",
		})
	}
	return map[string]any{"Databases": map[string]any{"Database": dbs}}, nil
}
