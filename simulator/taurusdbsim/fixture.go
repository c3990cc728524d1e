package taurusdbsim

import (
	"encoding/json"
	"fmt"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/simulator/huaweicloudsim"
)

// Special fixture instances, outside the numbered demo instances.
const (
	// BusyInstance is being modified: every create answers 409 DBS.200011
	// (SetBusy and SetBusyWith change that).
	BusyInstance = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b001in07"
	// FailingInstance accepts backups, which then end FAILED.
	FailingInstance = "fa11fa11fa11fa11fa11fa11fa11fa11in07"
)

// DefaultResources is the default number of numbered demo instances.
const DefaultResources = 200

// InstanceID returns the ID of numbered demo instance i: 32 hex characters
// and the "in07" suffix, 36 letters and digits as documented.
func InstanceID(i int) string { return huaweicloudsim.DemoID("taurusdb", i) + "in07" }

// CreateSection returns a valid create section for demo instance
// seed%DefaultResources. The backup name starts with the seed and ends with a
// per-process sequence, so two sections never collide on a name.
func CreateSection(seed int) json.RawMessage { return sections.Create(seed) }

// PlanSection is CreateSection as a plan target's request: the backup name
// "bf-<seed>-${time}" is new at each run.
func PlanSection(seed int) json.RawMessage { return sections.Plan(seed) }

var sections = huaweicloudsim.DemoSections[backup.TaurusDBCreate]{Resources: DefaultResources, InstanceID: InstanceID,
	Section: func(id, name, description string) backup.TaurusDBCreate {
		return backup.TaurusDBCreate{InstanceID: id, Name: name, Description: description}
	}}

// seed builds the fixture: the numbered demo instances and the special ones.
func (s *Server) seed() {
	for i := range s.opts.Resources {
		id := InstanceID(i)
		s.instances[id] = &instance{id: id, name: fmt.Sprintf("taurus-demo-%03d", i)}
	}
	s.instances[BusyInstance] = &instance{id: BusyInstance, name: "taurus-busy", busyCode: huaweicloudsim.CodeInstanceBusy}
	s.instances[FailingInstance] = &instance{id: FailingInstance, name: "taurus-failing", outcome: JobFailed}
}
