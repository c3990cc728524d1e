package otcrdssim

import (
	"fmt"

	"encoding/json"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/simulator/huaweicloudsim"
)

// Special fixture instances, outside the numbered demo instances (which are
// all MySQL primaries). IDs are 32 hex characters and the engine suffix:
// in01 MySQL, in03 PostgreSQL, in04 Microsoft SQL Server.
const (
	// ReplicaInstance is a MySQL read replica: manual backups are refused.
	ReplicaInstance = "5e11ca5e11ca5e11ca5e11ca5e11ca01in01"
	// ReplicaPrimary is the primary ReplicaInstance replicates.
	ReplicaPrimary = "9a1a9a1a9a1a9a1a9a1a9a1a9a1a9a01in01"
	// SQLServerInstance is a Microsoft SQL Server instance (partial backups allowed).
	SQLServerInstance = "5015e5e5015e5e5015e5e5015e5e5e01in04"
	// PostgreSQLInstance is a PostgreSQL instance.
	PostgreSQLInstance = "9059e59059e59059e59059e59059e501in03"
	// BusyInstance is being modified (status MODIFYING): creates answer 409.
	BusyInstance = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b001in01"
	// FailingInstance accepts backups, which then end FAILED.
	FailingInstance = "fa11fa11fa11fa11fa11fa11fa11fa11in01"
)

// SQLServerDatabases are the databases of SQLServerInstance.
var SQLServerDatabases = []string{"sales", "inventory", "audit"}

// InstanceID returns the ID of numbered demo instance i (a MySQL primary):
// 32 hex characters and "in01", the form of OTC's documented example.
func InstanceID(i int) string { return huaweicloudsim.DemoID("otcrds", i) + "in01" }

var sections = huaweicloudsim.DemoSections[backup.OTCRDSCreate]{Resources: DefaultResources, InstanceID: InstanceID,
	Section: func(id, name, description string) backup.OTCRDSCreate {
		return backup.OTCRDSCreate{InstanceID: id, Name: name, Description: description}
	}}

// CreateSection returns a valid create section for demo instance
// n%DefaultResources; the name is unique per call.
func CreateSection(n int) json.RawMessage { return sections.Create(n) }

// PlanSection is CreateSection as a plan target's request: the backup name
// "bf-<seed>-${time}" is new at each run.
func PlanSection(seed int) json.RawMessage { return sections.Plan(seed) }

// seed builds the fixture: the numbered demo instances (MySQL primaries) and
// the special ones.
func (s *Server) seed() {
	add := func(in *instance) {
		if in.status == "" {
			in.status = "ACTIVE"
		}
		if in.kind == "" {
			in.kind = "Ha"
		}
		if in.engine == "" {
			in.engine, in.version = "MySQL", "8.0"
		}
		s.instances[in.id] = in
		s.order = append(s.order, in.id)
	}
	for i := range s.opts.Resources {
		add(&instance{id: InstanceID(i), name: fmt.Sprintf("rds-demo-%03d", i)})
	}
	add(&instance{id: ReplicaPrimary, name: "rds-primary"})
	add(&instance{id: ReplicaInstance, name: "rds-replica", kind: "Replica", primary: ReplicaPrimary})
	add(&instance{id: SQLServerInstance, name: "rds-sqlserver", engine: "SQLServer", version: "2019_SE", databases: SQLServerDatabases})
	add(&instance{id: PostgreSQLInstance, name: "rds-postgres", engine: "PostgreSQL", version: "16"})
	add(&instance{id: BusyInstance, name: "rds-busy", status: "MODIFYING"})
	add(&instance{id: FailingInstance, name: "rds-failing", failing: true})
}
