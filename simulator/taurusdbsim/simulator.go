// Package taurusdb simulates the Huawei Cloud TaurusDB (GaussDB for MySQL) v3
// API on 127.0.0.1, as far as backupflow uses it: creating a manual backup
// (POST /v3/{project_id}/backups/create), the job API
// (GET /v3/{project_id}/jobs?id=, GET /v3/{project_id}/immediate-jobs), the
// backup list (GET /v3/{project_id}/backups) and deleting a backup
// (DELETE /v3/{project_id}/backups/{backup_id}). Requests must carry the
// SDK's AK/SK signature; answers use the documented JSON and the
// {error_code, error_msg} error shape, so the official SDK runs end to end.
package taurusdbsim

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/simulator/huaweicloudsim"
	"github.com/backupflow/backupflow/simulator/simkit"
)

// Test-only credentials and identifiers the simulator accepts by default.
// They are not secrets: nothing but this simulator accepts them.
const (
	ProjectID = "0b7fa0bd6e9a4d47a3b1c0ffee5eed07"
	AccessKey = "SIMTAURUSDBAK0000001"
	SecretKey = "sim-taurusdb-secret-key-for-tests-only"
	Region    = "sim-region-1"
)

// DefaultDuration is how long a backup runs by default.
const DefaultDuration = 2 * time.Second

// DefaultManualBackupLimit is the default manual-backup quota of the project.
const DefaultManualBackupLimit = 1000

// Options configures a simulator.
type Options struct {
	// Addr is the listen address; default 127.0.0.1:0. Loopback only.
	Addr string
	// Duration is how long a backup runs; default 2s.
	Duration time.Duration
	// Resources is the number of numbered demo instances; default 200.
	Resources int
	// ProjectID, AccessKey and SecretKey are what the simulator accepts;
	// defaults are the package constants.
	ProjectID, AccessKey, SecretKey string
	// ManualBackupLimit is the project's manual-backup quota (413 RDS.3003
	// beyond it); default 1000.
	ManualBackupLimit int
	// JobVisibilityDelay is how long after its creation a job stays invisible
	// to the job API (the documentation warns that a new job ID can take
	// seconds to appear); default 0.
	JobVisibilityDelay time.Duration
	// UnknownJobStatus is how the job API refuses a job ID it does not know
	// (yet): 404 (DBS.200002, the default) or 400 (DBS.280127), since the API
	// does not promise a 404.
	UnknownJobStatus int
	// JobPendingFor is how long a new job stays Pending (queued, no progress)
	// before it runs; its backup is BUILDING meanwhile. Default 0.
	JobPendingFor time.Duration
	// FinishedStatus is the backup-list status of a backup built without
	// failure: COMPLETED (the default) or AVAILABLE.
	FinishedStatus string
	// PageSize is the most backups one page of the backup list holds:
	// huaweicloudsim.MaxLimit by default; tests set it small so that
	// callers' paging is exercised.
	PageSize int
}

// Server is a running simulator. It implements simkit.Simulator.
type Server struct {
	*huaweicloudsim.Simulator
	opts    Options
	backups huaweicloudsim.Backups[*huaweicloudsim.Backup]

	mu        sync.Mutex // guards instances and jobs
	instances map[string]*instance
	jobs      map[string]*jobRec
}

var _ simkit.Simulator = (*Server)(nil)

// Start starts a simulator.
func Start(opts Options) (*Server, error) {
	opts.Duration = simkit.Default(opts.Duration, DefaultDuration)
	opts.Resources = simkit.Default(opts.Resources, DefaultResources)
	opts.ProjectID = simkit.Default(opts.ProjectID, ProjectID)
	if opts.AccessKey == "" {
		opts.AccessKey, opts.SecretKey = AccessKey, SecretKey
	}
	opts.ManualBackupLimit = simkit.Default(opts.ManualBackupLimit, DefaultManualBackupLimit)
	opts.PageSize = simkit.Default(opts.PageSize, huaweicloudsim.MaxLimit)
	switch opts.UnknownJobStatus {
	case 0:
		opts.UnknownJobStatus = http.StatusNotFound
	case http.StatusNotFound, http.StatusBadRequest:
	default:
		return nil, fmt.Errorf("UnknownJobStatus %d: 404 or 400", opts.UnknownJobStatus)
	}
	switch opts.FinishedStatus {
	case "":
		opts.FinishedStatus = "COMPLETED"
	case "COMPLETED", "AVAILABLE":
	default:
		return nil, fmt.Errorf("FinishedStatus %q: COMPLETED or AVAILABLE", opts.FinishedStatus)
	}
	s := &Server{Simulator: huaweicloudsim.NewSimulator(), opts: opts, instances: map[string]*instance{}, jobs: map[string]*jobRec{}}
	s.seed()
	if err := huaweicloudsim.Serve(s.Simulator, opts.Addr, s.gateway()); err != nil {
		return nil, err
	}
	return s, nil
}

// Options returns the options in effect (defaults filled in).
func (s *Server) Options() Options { return s.opts }

// Inventory lists the IDs of every backup held (any state), sorted.
func (s *Server) Inventory() []string { return s.backups.IDs() }

// BackupStatus returns a backup's status (BUILDING, COMPLETED or AVAILABLE,
// FAILED), if it exists.
func (s *Server) BackupStatus(id string) (string, bool) { return s.backups.Status(id, s.Now()) }

// SetBusy marks an instance busy with DBS.200011 (or not busy).
func (s *Server) SetBusy(instanceID string, busy bool) {
	code := ""
	if busy {
		code = huaweicloudsim.CodeInstanceBusy
	}
	s.mustSetBusy(instanceID, code)
}

// SetBusyWith marks an instance busy: creates are answered 409 with code, one
// of BusyCodes.
func (s *Server) SetBusyWith(instanceID, code string) error {
	if !slices.Contains(BusyCodes, code) {
		return fmt.Errorf("busy code %q: not one of %v", code, BusyCodes)
	}
	s.mustSetBusy(instanceID, code)
	return nil
}

func (s *Server) mustSetBusy(instanceID, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in, ok := s.instances[instanceID]; ok {
		in.busyCode = code
	}
}

// SetJobOutcome makes the backup jobs created from now on an instance end
// with status, one of JobFailures, or Completed ("" or JobCompleted).
func (s *Server) SetJobOutcome(instanceID, status string) error {
	if status == JobCompleted {
		status = ""
	}
	if status != "" && !slices.Contains(JobFailures, status) {
		return fmt.Errorf("job outcome %q: Completed or one of %v", status, JobFailures)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if in, ok := s.instances[instanceID]; ok {
		in.outcome = status
	}
	return nil
}

// AddForeign makes a backup of target as a person in the console would: on
// the target instance, named as the target names it, beginning now, with its
// own job and a description without any backupflow marker. It returns the
// backup's ID. It implements simkit.Backend.
func (s *Server) AddForeign(target provider.Target) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := huaweicloudsim.MustInstance(s.instances, "AddForeign", target.Resource)
	now := s.Now()
	b, j := s.newBackup(in, target.BackupName, huaweicloudsim.ForeignDescription, now)
	s.backups.MustAddWith(b, now, s.createRules())
	s.jobs[j.id] = j
	return b.ID
}

// AddBackups makes n backups of instance id as somebody else made them
// earlier, one after another, all finished by now, and returns their IDs.
func (s *Server) AddBackups(id string, n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := huaweicloudsim.MustInstance(s.instances, "AddBackups", id)
	return s.backups.MustAddEarlier(n, s.Now(), s.opts.Duration, s.createRules(), func(begin time.Time) *huaweicloudsim.Backup {
		b, j := s.newBackup(in, "listed-"+huaweicloudsim.NewUUID()[:8], huaweicloudsim.ForeignDescription, begin)
		s.jobs[j.id] = j
		return b
	})
}

// JobOf returns the ID of the job that builds backup id, if there is one.
func (s *Server) JobOf(backupID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range s.jobs {
		if j.backupID == backupID {
			return j.id, true
		}
	}
	return "", false
}
