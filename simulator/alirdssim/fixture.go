package alirdssim

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
)

// Special fixture instances, besides the Options.Resources MySQL instances
// named by MySQLInstanceID. Each has databases unless said otherwise.
const (
	// SQLServerInstance runs SQL Server (databases "sales" and "hr").
	SQLServerInstance = "rm-bfsqlserver0001"
	// MariaDBInstance runs MariaDB (database "shop").
	MariaDBInstance = "rm-bfmariadb000001"
	// PostgreSQLInstance runs PostgreSQL (database "app").
	PostgreSQLInstance = "pgm-bfpostgres0001"
	// NotRunningInstance is a MySQL instance that is Rebooting: it will be Running again.
	NotRunningInstance = "rm-bfrebooting0001"
	// DeletingInstance is a MySQL instance being deleted: it will never run again.
	DeletingInstance = "rm-bfdeleting00001"
	// LockedInstance is a Running MySQL instance locked because it expired (LockMode LockByExpiration).
	LockedInstance = "rm-bflocked0000001"
	// StoppedInstance is a MySQL instance a person stopped: it stays Stopped until someone starts it.
	StoppedInstance = "rm-bfstopped000001"
	// NoDatabaseInstance is a Running MySQL instance without any database.
	NoDatabaseInstance = "rm-bfnodatabase001"
	// BusyInstance is a MySQL instance with an ongoing (automated, very long) backup task.
	BusyInstance = "rm-bfbusy000000001"
	// FullInstance is a MySQL instance that already has 20 backup sets today (UTC).
	FullInstance = "rm-bffull000000001"
)

// MySQLDatabases are the databases of every MySQL fixture instance.
var MySQLDatabases = []string{"db01", "db02", "rds_mysql"}

// MySQLInstanceID names MySQL fixture instance i (0 <= i < Options.Resources).
func MySQLInstanceID(i int) string { return fmt.Sprintf("rm-bfmysql%08d", i) }

// CreateSection returns a valid alirds create section for MySQL instance
// seed % DefaultResources of the default fixture. Even seeds ask for the
// default (physical) backup; odd seeds for a single-database logical backup
// of db01, so both request shapes are exercised.
func CreateSection(seed int) json.RawMessage {
	s := backup.AliRDSCreate{DBInstanceID: MySQLInstanceID(((seed % DefaultResources) + DefaultResources) % DefaultResources)}
	if seed%2 != 0 {
		s.BackupMethod, s.BackupStrategy, s.DBName = "Logical", "db", "db01"
	}
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return b
}

// seed builds the deterministic fixture around the simulator's start time.
func (s *Server) seed(now time.Time) {
	add := func(id, engine, version, status string, dbs ...string) *instance {
		inst := &instance{id: id, engine: engine, engineVersion: version, status: status, lockMode: "Unlock", databases: dbs}
		s.instances[id] = inst
		s.order = append(s.order, id)
		return inst
	}
	for i := range s.opts.Resources {
		add(MySQLInstanceID(i), EngineMySQL, "8.0", "Running", MySQLDatabases...)
	}
	add(SQLServerInstance, EngineSQLServer, "2019_std_ha", "Running", "sales", "hr")
	add(MariaDBInstance, EngineMariaDB, "10.3", "Running", "shop")
	add(PostgreSQLInstance, EnginePostgreSQL, "14.0", "Running", "app")
	add(NotRunningInstance, EngineMySQL, "8.0", "Rebooting", MySQLDatabases...)
	add(DeletingInstance, EngineMySQL, "8.0", "Deleting", MySQLDatabases...)
	add(StoppedInstance, EngineMySQL, "8.0", "Stopped", MySQLDatabases...)
	locked := add(LockedInstance, EngineMySQL, "8.0", "Running", MySQLDatabases...)
	locked.lockMode, locked.lockReason = "LockByExpiration", "instance expired"
	add(NoDatabaseInstance, EngineMySQL, "8.0", "Running")

	busy := add(BusyInstance, EngineMySQL, "8.0", "Running", MySQLDatabases...)
	s.newTaskLocked(busy, "Automated", now.Add(-time.Minute), 10*365*24*time.Hour)

	full := add(FullInstance, EngineMySQL, "8.0", "Running", MySQLDatabases...)
	day := now.Truncate(24 * time.Hour)
	for i := range DailyBackupLimit {
		start := now.Add(-time.Duration(i+2) * time.Minute)
		if start.Before(day) {
			start = day
		}
		mode := "Manual"
		if i == DailyBackupLimit-1 {
			mode = "Automated"
		}
		s.addSetLocked(full, mode, start)
	}
}

// addSetLocked adds a finished physical full backup set of inst begun at
// start, and returns its BackupId. s.mu is held.
func (s *Server) addSetLocked(inst *instance, mode string, start time.Time) string {
	s.backupSeq++
	id := strconv.FormatInt(s.backupSeq, 10)
	s.backups[id] = &backupSet{id: id, instance: inst.id, status: "Success", mode: mode, method: "Physical",
		backupType: "FullBackup", engine: inst.engine, engineVersion: inst.engineVersion,
		start: start, end: start.Add(30 * time.Second), size: 1 << 30}
	return id
}

// AddBackups makes n manual backup sets of instance id as somebody else made
// them in the last minutes, all finished, and returns their BackupIds.
func (s *Server) AddBackups(id string, n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	s.settleLocked(now)
	inst, ok := s.instances[id]
	if !ok {
		panic(fmt.Sprintf("%v: %s", ErrUnknownInstance, id))
	}
	ids := make([]string, 0, n)
	for i := range n {
		ids = append(ids, s.addSetLocked(inst, "Manual", now.Add(-time.Duration(n-i)*time.Minute).Truncate(time.Second)))
	}
	return ids
}

// SetInstanceStatus sets an instance's DBInstanceStatus, one of InstanceStatuses.
func (s *Server) SetInstanceStatus(id, status string) error {
	if !slices.Contains(InstanceStatuses, status) {
		return fmt.Errorf("alirds simulator: %q is not a DBInstanceStatus the simulator models", status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	inst, ok := s.instances[id]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownInstance, id)
	}
	inst.status = status
	return nil
}

// SetLockMode sets an instance's LockMode (one of LockModes) and LockReason.
func (s *Server) SetLockMode(id, mode, reason string) error {
	if !slices.Contains(LockModes, mode) {
		return fmt.Errorf("alirds simulator: %q is not a LockMode the simulator models", mode)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	inst, ok := s.instances[id]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownInstance, id)
	}
	inst.lockMode, inst.lockReason = mode, reason
	return nil
}

// HideNextEnd makes the next backup task of the instance that is created
// from now on look, once it ends, like a task the API has stopped listing:
// DescribeBackupTasks does not show it (not even by BackupJobId) for
// hideTask after its end, and DescribeBackups does not show its backup set
// for hideSet after its end.
func (s *Server) HideNextEnd(id string, hideTask, hideSet time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst, ok := s.instances[id]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownInstance, id)
	}
	inst.hideNext = &[2]time.Duration{hideTask, hideSet}
	return nil
}

// FailNextBackup makes the next backup task created on the instance end
// Failed (leaving no backup set) with the given message.
func (s *Server) FailNextBackup(id, message string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst, ok := s.instances[id]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownInstance, id)
	}
	if message == "" {
		message = "backup failed"
	}
	inst.failNext = message
	return nil
}

// BackupsToday counts an instance's backup sets started on the simulator's
// day, as the daily limit counts them (see backupsTodayLocked).
func (s *Server) BackupsToday(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	s.settleLocked(now)
	return s.backupsTodayLocked(id, now)
}

// ForeignDuration is how long a backup task AddForeign starts runs: longer
// than the tests wait, so it stays listed by its BackupJobId.
const ForeignDuration = time.Hour

// AddForeign starts a manual backup task (a default physical backup) on the
// instance target.Resource, beginning now, as somebody else would from the
// console or another tool: nothing tells it apart from one backupflow
// started. It returns the task's BackupJobId, as Inventory lists it while it
// runs (ForeignDuration). It panics for an unknown instance, or one already
// running a task (RDS would refuse that CreateBackup with BackupJobExists).
func (s *Server) AddForeign(target provider.Target) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	s.settleLocked(now)
	inst, ok := s.instances[target.Resource]
	if !ok {
		panic(fmt.Sprintf("%v: %s", ErrUnknownInstance, target.Resource))
	}
	if t := s.unfinishedTaskLocked(inst.id, now); t != nil {
		panic(fmt.Sprintf("alirds simulator: instance %s already runs backup task %d", inst.id, t.jobID))
	}
	t := s.newTaskLocked(inst, "Manual", now, ForeignDuration)
	return strconv.FormatInt(t.jobID, 10)
}
