package spannersim

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"cloud.google.com/go/spanner/admin/database/apiv1/databasepb"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/plan"
)

// The built-in fixture. Every simulator holds:
//
//	projects/demo-project/instances/demo-instance    databases db-0 .. db-<Resources-1> (READY)
//	                                                  and creating-db (state CREATING)
//	projects/demo-project/instances/copy-instance    no databases: the default copy destination
//	projects/demo-project/instances/cmek-instance    database cmek-db, encrypted with DemoKMSKey
//
// All databases keep versions for one hour (version_retention_period "1h"),
// so a versionTime older than that fails at the provider (and the driver's
// Preflight), although the driver's local bound is the 7-day maximum.
// Projects other than demo-project answer PERMISSION_DENIED.
const (
	Project          = "demo-project"
	Instance         = "projects/demo-project/instances/demo-instance"
	CopyInstance     = "projects/demo-project/instances/copy-instance"
	CMEKInstance     = "projects/demo-project/instances/cmek-instance"
	CreatingDatabase = Instance + "/databases/creating-db"
	CMEKDatabase     = CMEKInstance + "/databases/cmek-db"
	// DemoKMSKey is the key cmek-db is encrypted with; any well-formed key name is accepted.
	DemoKMSKey = "projects/demo-project/locations/us-central1/keyRings/demo-ring/cryptoKeys/demo-key"
	// DefaultResources is the default number of databases in demo-instance.
	DefaultResources = 200
	// VersionRetention is every fixture database's version_retention_period.
	VersionRetention = time.Hour
)

// AccessToken is the OAuth2 access token tests configure the simulator
// (Options.Token) and the driver (BACKUPFLOW_SPANNER_ACCESS_TOKEN) with.
// TEST-ONLY: it protects nothing.
const AccessToken = "sim-spanner-test-token-not-a-secret"

// DatabaseName returns the name of fixture database i in demo-instance.
func DatabaseName(i int) string { return fmt.Sprintf("%s/databases/db-%d", Instance, i) }

type database struct {
	name       string
	instance   string
	state      databasepb.Database_State
	createTime time.Time
	retention  time.Duration
	kmsKey     string
	index      int
}

func (s *Server) populate(real time.Time) {
	created := real.Add(-30 * 24 * time.Hour).UTC().Truncate(time.Microsecond)
	s.instances = map[string]bool{Instance: true, CopyInstance: true, CMEKInstance: true}
	s.databases = map[string]*database{}
	add := func(name, instance string, state databasepb.Database_State, key string, index int) {
		s.databases[name] = &database{name: name, instance: instance, state: state, createTime: created,
			retention: VersionRetention, kmsKey: key, index: index}
	}
	for i := range s.opts.Resources {
		add(DatabaseName(i), Instance, databasepb.Database_READY, "", i)
	}
	add(CreatingDatabase, Instance, databasepb.Database_CREATING, "", 0)
	add(CMEKDatabase, CMEKInstance, databasepb.Database_READY, DemoKMSKey, 7)
}

// sectionExpiry is the expireTime the section helpers use: 30 days out is
// within 6h..366d of now and of any source created in the last few weeks.
func sectionExpiry() string {
	return time.Now().UTC().Add(30 * 24 * time.Hour).Truncate(time.Second).Format(time.RFC3339)
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// CreateSection returns a valid spanner create section for fixture database
// n%DefaultResources, with backup ID "bk-<n>" (distinct n give distinct
// backups; n below DefaultResources give distinct databases).
func CreateSection(n int) json.RawMessage {
	var s backup.SpannerCreate
	s.Parent = Instance
	s.BackupID = fmt.Sprintf("bk-%d", abs(n))
	s.Backup.Database = DatabaseName(abs(n) % DefaultResources)
	s.Backup.ExpireTime = sectionExpiry()
	raw, _ := json.Marshal(s)
	return raw
}

// PlanSection is CreateSection as a plan target's request: the backup ID
// "pl-<n>-${time}" is new at each run.
func PlanSection(n int) json.RawMessage {
	var s backup.SpannerCreate
	if err := json.Unmarshal(CreateSection(n), &s); err != nil {
		panic(err)
	}
	s.BackupID = fmt.Sprintf("pl-%d-%s", abs(n), plan.PlaceholderTime)
	raw, _ := json.Marshal(s)
	return raw
}

// CopySection returns a valid spanner copy section copying sourceBackupID
// (a full backup name, or a bare backup ID in demo-instance) into
// copy-instance as backup "cp-<n>", expiring in 30 days.
func CopySection(n int, sourceBackupID string) json.RawMessage {
	source := sourceBackupID
	if !strings.Contains(source, "/") {
		source = Instance + "/backups/" + source
	}
	raw, _ := json.Marshal(backup.SpannerCopy{
		Parent:       CopyInstance,
		BackupID:     fmt.Sprintf("cp-%d", abs(n)),
		SourceBackup: source,
		ExpireTime:   sectionExpiry(),
	})
	return raw
}
