package alirds

import (
	"encoding/json"
	"regexp"
	"strings"
	"time"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
)

// How each sentence of the CreateBackup documentation (docs/providers/alirds.md) is enforced.
// "Validate" rules need only the request and run before any call;
// "Preflight" rules need the instance (DescribeDBInstanceAttribute,
// DescribeDatabases, DescribeBackupTasks, DescribeBackups) and run before
// CreateBackup. Field names are alirds.<JSON key>.
//
//	"DBInstanceId ... Required: Yes"
//	    Validate: alirds.DBInstanceId is required, and must be one instance ID
//	    (letters, digits, '-'; our rule, so a list or a typo is not sent).
//	"BackupMethod ... Valid values: Logical, Physical, Snapshot. Default value: Physical."
//	    Validate: alirds.BackupMethod is empty (= Physical) or one of the three.
//	"BackupType ... Valid values: Auto, FullBackup. Default value: Auto."
//	    Validate: alirds.BackupType is empty (= Auto) or one of the two.
//	"BackupStrategy ... Valid values: db, instance."
//	    Validate: alirds.BackupStrategy is empty or one of the two.
//	"[BackupStrategy] can be entered when MySQL logical backups or full physical
//	 backups for SQL Server are performed."
//	    Validate (the fields part): BackupStrategy only with BackupMethod Logical,
//	    or with BackupMethod Physical (or default) and BackupType FullBackup.
//	    Preflight (the engine part): Logical + BackupStrategy needs Engine MySQL;
//	    Physical + FullBackup + BackupStrategy needs Engine SQLServer.
//	"DBName ... The list of databases. Separate multiple databases with commas (,)."
//	    Validate: alirds.DBName is a comma-separated list of non-empty names,
//	    without blanks or duplicates.
//	"[DBName] can be entered when single-database logical backups for MySQL or
//	 single-database full physical backups for SQL Server are performed."
//	    Validate: DBName only with BackupStrategy db (a single-database backup;
//	    the method/type combination is then already checked above), and
//	    BackupStrategy db needs a DBName (which databases to back up).
//	    Preflight: the engine part as for BackupStrategy, and every listed
//	    database exists on the instance (DescribeDatabases).
//	"Set Physical option when backing up a MariaDB snapshot."
//	    Preflight: on Engine MariaDB, BackupMethod must be Physical (or default):
//	    Logical and Snapshot are refused on alirds.BackupMethod.
//	"Logical backups can be performed only when the instance exists in a database."
//	    (i.e. the instance must hold a database.) Preflight: BackupMethod Logical
//	    needs at least one database on the instance (DescribeDatabases); with
//	    BackupStrategy db the DBName rule above applies as well.
//	"The instance is in the running state."
//	    Preflight: DBInstanceStatus Running and LockMode Unlock (stateRule,
//	    lockRule below). States that pass by themselves (Creating,
//	    Rebooting, class changes, ...) are Busy; states only a person changes
//	    (Stopped, Stopping, Deleting, Released, and the locks but
//	    LockByRestoration) are FailedPrecondition, naming the state and what
//	    to do. The table is "States read" in docs/providers/alirds.md.
//	"The instance does not have an ongoing backup task."
//	    Preflight: DescribeBackupTasks (no BackupJobId lists the unfinished
//	    tasks, manual or automated) is empty, else Busy.
//	"The number of backup sets ... created for the instance on the day does not exceed 20."
//	    Preflight: DescribeBackups for today's window (UTC day; unverified which
//	    time zone Alibaba counts in) holds fewer than 20 sets, else Quota (not
//	    retried: the limit lifts only tomorrow).
//
// The same rules hold in the simulator's CreateBackup, so a request that
// slips past Preflight (a race) is refused there with the provider's code.

// Engines, as DescribeDBInstanceAttribute reports them.
const (
	engineMySQL     = "MySQL"
	engineSQLServer = "SQLServer"
	engineMariaDB   = "MariaDB"
)

var (
	instanceIDRule = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,63}$`)
	dbNameRule     = regexp.MustCompile(`^[^\s,]+$`)
)

// spec is a validated request with the documented defaults applied.
type spec struct {
	raw backup.AliRDSCreate
	// method and backupType are the effective values (defaults applied).
	method, backupType string
	dbNames            []string
}

func field(name string) string { return backup.ProviderAliRDS + "." + name }

// parse decodes a create section strictly and enforces the rules that need
// nothing but the request.
func parse(kind backup.Kind, section json.RawMessage) (spec, error) {
	if kind != backup.KindCreate {
		return spec{}, &provider.Error{Class: provider.Unsupported, Provider: backup.ProviderAliRDS, Field: "kind",
			Message: "ApsaraDB RDS has no per-backup copy API (cross-region copies are a backup policy)"}
	}
	var r backup.AliRDSCreate
	if err := backup.DecodeStrict(section, &r); err != nil {
		return spec{}, provider.Invalid(backup.ProviderAliRDS, "%v", err)
	}
	s := spec{raw: r, method: r.BackupMethod, backupType: r.BackupType}
	switch {
	case r.DBInstanceID == "":
		return s, provider.Invalid(field("DBInstanceId"), "is required: the ID of the instance, e.g. rm-uf6wjk5xxxxxxx")
	case !instanceIDRule.MatchString(r.DBInstanceID):
		return s, provider.Invalid(field("DBInstanceId"), "must be one instance ID: letters, digits and '-', at most 64 characters")
	}
	switch r.BackupMethod {
	case "":
		s.method = "Physical"
	case "Logical", "Physical", "Snapshot":
	default:
		return s, provider.Invalid(field("BackupMethod"), "must be Logical, Physical or Snapshot (default Physical), got %q", r.BackupMethod)
	}
	switch r.BackupType {
	case "":
		s.backupType = "Auto"
	case "Auto", "FullBackup":
	default:
		return s, provider.Invalid(field("BackupType"), "must be Auto or FullBackup (default Auto), got %q", r.BackupType)
	}
	switch r.BackupStrategy {
	case "", "db", "instance":
	default:
		return s, provider.Invalid(field("BackupStrategy"), "must be db (single-database backup) or instance (instance backup), got %q", r.BackupStrategy)
	}
	if r.BackupStrategy != "" && !(s.method == "Logical" || s.method == "Physical" && s.backupType == "FullBackup") {
		return s, provider.Invalid(field("BackupStrategy"),
			"can be set only for MySQL logical backups (BackupMethod Logical) or SQL Server full physical backups (BackupMethod Physical, BackupType FullBackup); got BackupMethod %s, BackupType %s",
			s.method, s.backupType)
	}
	if r.DBName != "" {
		if r.BackupStrategy != "db" {
			return s, provider.Invalid(field("DBName"),
				"can be set only for single-database backups (BackupStrategy db): MySQL logical or SQL Server full physical backups")
		}
		seen := map[string]bool{}
		for _, n := range strings.Split(r.DBName, ",") {
			if !dbNameRule.MatchString(n) {
				return s, provider.Invalid(field("DBName"), "must be database names separated by commas, without blanks or empty names, got %q", r.DBName)
			}
			if seen[n] {
				return s, provider.Invalid(field("DBName"), "names database %q twice", n)
			}
			seen[n] = true
			s.dbNames = append(s.dbNames, n)
		}
	}
	if r.BackupStrategy == "db" && r.DBName == "" {
		return s, provider.Invalid(field("DBName"), "is required with BackupStrategy db: the comma-separated databases to back up")
	}
	return s, nil
}

// engineRules enforces the rules that depend on the instance's engine.
func (s spec) engineRules(instanceID, engine string) error {
	if engine == engineMariaDB && s.method != "Physical" {
		return provider.Invalid(field("BackupMethod"),
			"must be Physical (or left out) on MariaDB instance %s: a MariaDB backup is a snapshot requested as Physical, got %s", instanceID, s.method)
	}
	if s.raw.BackupStrategy == "" {
		return nil
	}
	name := "BackupStrategy"
	if s.raw.DBName != "" {
		name = "DBName"
	}
	if s.method == "Logical" && engine != engineMySQL {
		return provider.Invalid(field(name), "is for MySQL logical backups only; instance %s runs %s", instanceID, engine)
	}
	if s.method == "Physical" && engine != engineSQLServer {
		return provider.Invalid(field(name), "is for SQL Server full physical backups only; instance %s runs %s", instanceID, engine)
	}
	return nil
}

// needsDatabases reports whether Preflight must list the instance's databases.
func (s spec) needsDatabases() bool { return s.method == "Logical" || len(s.dbNames) > 0 }

// databaseRules checks the request against the instance's databases.
func (s spec) databaseRules(instanceID string, databases map[string]bool) error {
	if s.method == "Logical" && len(databases) == 0 {
		return provider.Invalid(field("BackupMethod"), "Logical backups need a database on the instance, and %s has none", instanceID)
	}
	for _, n := range s.dbNames {
		if !databases[n] {
			return provider.Invalid(field("DBName"), "database %q does not exist on instance %s", n, instanceID)
		}
	}
	return nil
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

// dailyLimit is the documented number of backup sets per instance per day
// (docs/providers/alirds.md, "Request constraints the driver enforces"; that
// the day is the UTC day is a guess, see "Guesses" there).
const dailyLimit = 20

// validate is the driver's registered, config-free validation: parse, and
// the instance as the target (a backup set has no name to request).
func validate(kind backup.Kind, section json.RawMessage, _ time.Time) (provider.Target, error) {
	s, err := parse(kind, section)
	if err != nil {
		return provider.Target{}, err
	}
	return provider.Target{Resource: s.raw.DBInstanceID}, nil
}
