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
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/backupflow/backupflow/backup"
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

// DefaultDuration is how long a backup runs by default.
const DefaultDuration = 2 * time.Second

// DefaultManualBackupLimit is the default manual-backup quota of the project.
const DefaultManualBackupLimit = 1000

// BackupSizeMB is the size the backup list gives a finished backup, in MB as
// the TaurusDB API reports it (docs/providers/taurusdb.md).
const BackupSizeMB = 2048.5

// CodeNameExists is TaurusDB's answer (409) to a backup name already used on
// the instance; the RDS family answers 400 DBS.201201 instead.
const CodeNameExists = "DBS.201209"

// BusyCodes are the 409 codes an instance busy with another operation can
// answer a create with (see SetBusyWith): the family's and those the public
// GaussDB(for MySQL) tooling retries.
var BusyCodes = []string{
	huaweicloudsim.CodeInstanceBusy, huaweicloudsim.CodeInstanceBusyRDS, "DBS.200047", "DBS.201202",
	"DBS.201014", "DBS.201015", "DBS.216011", "DBS.05000084", "DBS.212033",
}

// Job statuses. A job ends Completed, or with one of JobFailures (see
// SetJobOutcome); its backup then ends FAILED.
const (
	JobPending   = "Pending"
	JobRunning   = "Running"
	JobCompleted = "Completed"
	JobFailed    = "Failed"
)

// JobFailures are the statuses a job can end in other than Completed.
var JobFailures = []string{JobFailed, "Canceled", "Unauthorized"}

// JobName is the job name the simulator gives backup jobs (the real name is
// not documented; the driver only relies on it mentioning "backup").
const JobName = "CreateGaussDBforMySQLBackup"

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
}

// InstanceID returns the ID of numbered demo instance i: 32 hex characters
// and the "in07" suffix, 36 letters and digits as documented.
func InstanceID(i int) string { return huaweicloudsim.DemoID("taurusdb", i) + "in07" }

// CreateSection returns a valid create section for demo instance
// seed%DefaultResources. The backup name starts with the seed and ends with a
// per-process sequence, so two sections never collide on a name.
func CreateSection(seed int) json.RawMessage {
	d := huaweicloudsim.NewDemoBackup(seed, DefaultResources)
	raw, _ := json.Marshal(backup.TaurusDBCreate{InstanceID: InstanceID(d.Instance), Name: d.Name, Description: d.Description})
	return raw
}

type instance struct {
	id, name string
	// busyCode, when set, is the 409 code every create is answered with.
	busyCode string
	// outcome, when set, is the failure status its backup jobs end in.
	outcome string
}

type jobRec struct {
	id, backupID, instanceID, instanceName string
	created                                time.Time
	pending, duration                      time.Duration
	outcome                                string // "" is Completed
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
	for i := range opts.Resources {
		id := InstanceID(i)
		s.instances[id] = &instance{id: id, name: fmt.Sprintf("taurus-demo-%03d", i)}
	}
	s.instances[BusyInstance] = &instance{id: BusyInstance, name: "taurus-busy", busyCode: huaweicloudsim.CodeInstanceBusy}
	s.instances[FailingInstance] = &instance{id: FailingInstance, name: "taurus-failing", outcome: JobFailed}

	mux := http.NewServeMux()
	// create checks X-Language after its body; the other calls check it first.
	mux.HandleFunc("POST /v3/{project_id}/backups/create", s.create)
	mux.HandleFunc("GET /v3/{project_id}/backups", languageChecked(s.listBackups))
	mux.HandleFunc("DELETE /v3/{project_id}/backups/{backup_id}", languageChecked(s.deleteBackup))
	mux.HandleFunc("GET /v3/{project_id}/jobs", languageChecked(s.showJob))
	mux.HandleFunc("GET /v3/{project_id}/immediate-jobs", languageChecked(s.listJobs))
	mux.HandleFunc("/", huaweicloudsim.NotFoundAPI)
	gw := &huaweicloudsim.Gateway{Authenticate: s.authenticate, IsCreate: huaweicloudsim.IsPostTo("/backups/create"), API: mux}
	if err := huaweicloudsim.Serve(s.Simulator, opts.Addr, gw); err != nil {
		return nil, err
	}
	return s, nil
}

// languageChecked answers a bad X-Language header before h runs.
func languageChecked(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if e := huaweicloudsim.CheckLanguage(r); e != nil {
			huaweicloudsim.WriteError(w, e)
			return
		}
		h(w, r)
	}
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

func (s *Server) authenticate(r *http.Request, body []byte) *huaweicloudsim.APIError {
	if e := huaweicloudsim.VerifySignature(r, body, huaweicloudsim.SingleKey(s.opts.AccessKey, s.opts.SecretKey), time.Now()); e != nil {
		return e
	}
	// The path's project must be the credentials' project.
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if len(parts) >= 2 && parts[0] == "v3" && parts[1] != s.opts.ProjectID {
		return huaweicloudsim.NotAuthorizedFor(parts[1])
	}
	return nil
}

func (s *Server) backupJSON(b *huaweicloudsim.Backup, now time.Time) map[string]any {
	in := s.instances[b.InstanceID]
	m := map[string]any{
		"id":            b.ID,
		"name":          b.Name,
		"begin_time":    b.Begin.Format(huaweicloudsim.TimeLayout),
		"status":        b.Status(now),
		"type":          "manual",
		"instance_id":   b.InstanceID,
		"instance_name": in.name,
		"datastore":     map[string]string{"type": "gaussdb-mysql", "version": "8.0"},
		"backup_level":  "0",
	}
	if b.Description != "" {
		m["description"] = b.Description
	}
	if b.Done(now) {
		m["end_time"] = b.End().Format(huaweicloudsim.TimeLayout)
		m["take_up_time"] = int(b.Duration.Minutes())
		if !b.Failing {
			m["size"] = BackupSizeMB
		}
	}
	return m
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var req huaweicloudsim.CreateRequest
	if e := huaweicloudsim.DecodeJSON(r, &req); e != nil {
		huaweicloudsim.WriteError(w, e)
		return
	}
	if e := huaweicloudsim.FirstError(huaweicloudsim.CheckLanguage(r), checkInstanceID(req.InstanceID), huaweicloudsim.CheckName(req.Name), huaweicloudsim.CheckDescription(req.Description)); e != nil {
		huaweicloudsim.WriteError(w, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Now()
	in, ok := s.instances[req.InstanceID]
	if !ok {
		huaweicloudsim.WriteError(w, huaweicloudsim.NoSuchInstance(req.InstanceID))
		return
	}
	if in.busyCode != "" {
		huaweicloudsim.WriteError(w, huaweicloudsim.Errf(http.StatusConflict, in.busyCode, "Another operation is being performed on the DB instance; try again later"))
		return
	}
	b, jobID, e := s.addBackup(in, req.Name, req.Description, now)
	if e != nil {
		huaweicloudsim.WriteError(w, e)
		return
	}
	out := map[string]any{
		"id": b.ID, "name": b.Name, "begin_time": b.Begin.Format(huaweicloudsim.TimeLayout),
		"status": "BUILDING", "type": "manual", "instance_id": b.InstanceID,
	}
	if b.Description != "" {
		out["description"] = b.Description
	}
	huaweicloudsim.WriteJSON(w, http.StatusCreated, map[string]any{"backup": out, "job_id": jobID})
}

// createRules are the create API's rules for a new backup.
func (s *Server) createRules() huaweicloudsim.CreateRules {
	return huaweicloudsim.CreateRules{NameExistsStatus: http.StatusConflict, NameExistsCode: CodeNameExists,
		InProgressCode: huaweicloudsim.CodeBackupInProgress, Limit: s.opts.ManualBackupLimit}
}

// newBackup is a backup of in, named name, beginning now, with its job. s.mu is held.
func (s *Server) newBackup(in *instance, name, description string, now time.Time) (*huaweicloudsim.Backup, *jobRec) {
	b := &huaweicloudsim.Backup{ID: huaweicloudsim.NewUUID(), Name: name, Description: description, InstanceID: in.id,
		Begin: now, Duration: s.opts.Duration, Failing: in.outcome != "", Finished: s.opts.FinishedStatus}
	j := &jobRec{id: huaweicloudsim.NewUUID(), backupID: b.ID, instanceID: in.id, instanceName: in.name,
		created: b.Begin, pending: min(s.opts.JobPendingFor, b.Duration), duration: b.Duration, outcome: in.outcome}
	return b, j
}

// addBackup stores a backup of in under the create API's rules, with its
// job; it returns the backup and the job's ID. s.mu is held.
func (s *Server) addBackup(in *instance, name, description string, now time.Time) (*huaweicloudsim.Backup, string, *huaweicloudsim.APIError) {
	b, j := s.newBackup(in, name, description, now)
	if e := s.backups.AddWith(b, now, s.createRules()); e != nil {
		return nil, "", e
	}
	s.jobs[j.id] = j
	return b, j.id, nil
}

// AddForeign makes a backup of target as a person in the console would: on
// the target instance, named as the target names it, beginning now, with its
// own job and a description without any backupflow marker. It returns the
// backup's ID. It implements simkit.Backend.
func (s *Server) AddForeign(target provider.Target) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.instances[target.Resource]
	if !ok {
		panic("AddForeign: no instance " + target.Resource)
	}
	now := s.Now()
	b, j := s.newBackup(in, target.BackupName, huaweicloudsim.ForeignDescription, now)
	s.backups.MustAddWith(b, now, s.createRules())
	s.jobs[j.id] = j
	return b.ID
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

// checkInstanceID applies the documented format: 36 letters and digits ending in07.
func checkInstanceID(id string) *huaweicloudsim.APIError {
	if len(id) != 36 || !strings.HasSuffix(id, "in07") || strings.IndexFunc(id, func(c rune) bool {
		return !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z')
	}) >= 0 {
		return huaweicloudsim.Invalid("Invalid instance_id %q", id)
	}
	return nil
}

func (s *Server) listBackups(w http.ResponseWriter, r *http.Request) {
	offset, limit, e := huaweicloudsim.Page(r)
	if e != nil {
		huaweicloudsim.WriteError(w, e)
		return
	}
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Now()
	matched := s.backups.Newest(func(b *huaweicloudsim.Backup) bool {
		switch {
		case q.Get("instance_id") != "" && b.InstanceID != q.Get("instance_id"),
			q.Get("backup_id") != "" && b.ID != q.Get("backup_id"),
			q.Get("name") != "" && b.Name != q.Get("name"),
			q.Get("backup_type") != "" && q.Get("backup_type") != "manual":
			return false
		}
		return true
	})
	huaweicloudsim.WritePage(w, "backups", matched, offset, limit, func(b *huaweicloudsim.Backup) map[string]any { return s.backupJSON(b, now) })
}

func (s *Server) deleteBackup(w http.ResponseWriter, r *http.Request) {
	b, e := s.backups.Delete(r.PathValue("backup_id"), s.Now())
	if e != nil {
		huaweicloudsim.WriteError(w, e)
		return
	}
	huaweicloudsim.WriteJSON(w, http.StatusOK, map[string]any{"backup_id": b.ID, "backup_name": b.Name})
}

// state is the job at now. Only a running job has a process figure ("60%");
// the API gives "" otherwise.
func (j *jobRec) state(now time.Time) (status, process, ended, failReason string) {
	elapsed := now.Sub(j.created)
	switch {
	case elapsed < j.pending:
		return JobPending, "", "", ""
	case elapsed < j.duration:
		pct := max(0, min(99, int(100*elapsed/j.duration)))
		return JobRunning, strconv.Itoa(pct) + "%", "", ""
	case j.outcome != "":
		return j.outcome, "", j.created.Add(j.duration).Format(huaweicloudsim.TimeLayout),
			"Backup failed: the backup lock could not be obtained from the instance"
	}
	return JobCompleted, "", j.created.Add(j.duration).Format(huaweicloudsim.TimeLayout), ""
}

func (s *Server) visible(j *jobRec, now time.Time) bool {
	return !now.Before(j.created.Add(s.opts.JobVisibilityDelay))
}

func (s *Server) showJob(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	if id == "" {
		huaweicloudsim.WriteError(w, huaweicloudsim.Invalid("The job ID is required"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Now()
	j, ok := s.jobs[id]
	if !ok || !s.visible(j, now) {
		huaweicloudsim.WriteError(w, s.unknownJob(id))
		return
	}
	status, process, ended, reason := j.state(now)
	job := map[string]any{
		"id": j.id, "name": JobName, "status": status, "created": j.created.Format(huaweicloudsim.TimeLayout),
		"process":  process,
		"instance": map[string]string{"id": j.instanceID, "name": j.instanceName},
		"entities": map[string]string{"backup_id": j.backupID},
	}
	if ended != "" {
		job["ended"] = ended
	}
	if reason != "" {
		job["fail_reason"] = reason
	}
	huaweicloudsim.WriteJSON(w, http.StatusOK, map[string]any{"job": job})
}

// unknownJob is the refusal of a job ID the job API does not know (yet).
func (s *Server) unknownJob(id string) *huaweicloudsim.APIError {
	if s.opts.UnknownJobStatus == http.StatusBadRequest {
		return huaweicloudsim.Invalid("Invalid job ID %s", id)
	}
	return huaweicloudsim.Errf(http.StatusNotFound, huaweicloudsim.CodeNotFound, "The job %s does not exist", id)
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) {
	offset, limit, e := huaweicloudsim.Page(r)
	if e != nil {
		huaweicloudsim.WriteError(w, e)
		return
	}
	q := r.URL.Query()
	var start, end time.Time
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"start_time", &start}, {"end_time", &end}} {
		if v := q.Get(p.name); v != "" {
			t, err := parseTime(v)
			if err != nil {
				huaweicloudsim.WriteError(w, huaweicloudsim.Invalid("Invalid %s %q", p.name, v))
				return
			}
			*p.t = t
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Now()
	var matched []*jobRec
	for _, j := range s.jobs {
		status, _, _, _ := j.state(now)
		switch {
		case !s.visible(j, now),
			q.Get("job_id") != "" && q.Get("job_id") != j.id,
			q.Get("job_name") != "" && q.Get("job_name") != JobName,
			q.Get("status") != "" && q.Get("status") != status,
			!start.IsZero() && j.created.Before(start),
			!end.IsZero() && j.created.After(end):
			continue
		}
		matched = append(matched, j)
	}
	huaweicloudsim.SortNewest(matched, func(j *jobRec) (time.Time, string) { return j.created, j.id })
	huaweicloudsim.WritePage(w, "jobs", matched, offset, limit, func(j *jobRec) map[string]any {
		status, process, ended, reason := j.state(now)
		m := map[string]any{
			"instance_id": j.instanceID, "instance_name": j.instanceName, "instance_status": "normal",
			"job_id": j.id, "job_name": JobName, "status": status, "process": process,
			"created_time": j.created.Format(huaweicloudsim.TimeLayout),
		}
		if ended != "" {
			m["ended_time"] = ended
		}
		if reason != "" {
			m["fail_reason"] = reason
		}
		return m
	})
}

func parseTime(v string) (time.Time, error) {
	for _, l := range []string{huaweicloudsim.TimeLayout, time.RFC3339} {
		if t, err := time.Parse(l, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q", v)
}
