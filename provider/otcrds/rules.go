package otcrds

import (
	"encoding/json"
	"fmt"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/huaweicloud"
)

// The request constraints of the create API (docs/providers/otcrds.md,
// "Request constraints the driver enforces"): parse checks what needs no
// call, Preflight (driver.go) what needs the instance. The name and
// description rules OTC RDS shares with TaurusDB are huaweicloud's
// (provider/huaweicloud/rules.go).

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

// nameUniqueRule is where OTC requires a backup name to be unique: in the
// whole project, not only on the instance (docs/providers/otcrds.md, "Backup
// names"). A same-name backup on another instance is never ours, so Find need
// only look on the request's instance; a create refused for a name Find does
// not see there names this rule.
const nameUniqueRule = "backup names are unique among all backups of the project, on every instance"

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

// validate is the driver's registered, config-free validation: parse, and
// the instance and backup name as the target.
var validate = huaweicloud.Validate(parse, func(s backup.OTCRDSCreate) (string, string) { return s.InstanceID, s.Name })
