// Package taurusdb simulates the Huawei Cloud TaurusDB (GaussDB for MySQL) v3
// API on 127.0.0.1, as far as backupflow uses it: creating a manual backup
// (POST /v3/{project_id}/backups/create), the job API
// (GET /v3/{project_id}/jobs?id=, GET /v3/{project_id}/immediate-jobs), the
// backup list (GET /v3/{project_id}/backups) and deleting a backup
// (DELETE /v3/{project_id}/backups/{backup_id}). Requests must carry the
// SDK's AK/SK signature; answers use the documented JSON and the
// {error_code, error_msg} error shape, so the official SDK runs end to end.
package taurusdb

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/providertest"
	hw "github.com/backupflow/backupflow/simulator/huaweicloud"
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
	// BusyInstance is being modified: every create answers 409 DBS.200011.
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
}

// InstanceID returns the ID of numbered demo instance i: 32 hex characters
// and the "in07" suffix, 36 letters and digits as documented.
func InstanceID(i int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("taurusdb-demo-instance-%d", i)))
	return hex.EncodeToString(sum[:16]) + "in07"
}

var sectionSeq atomic.Int64

// CreateSection returns a valid create section for demo instance
// seed%DefaultResources. The backup name starts with the seed and ends with a
// per-process sequence, so two sections never collide on a name.
func CreateSection(seed int) json.RawMessage {
	n := sectionSeq.Add(1)
	s := backup.TaurusDBCreate{
		InstanceID:  InstanceID(((seed % DefaultResources) + DefaultResources) % DefaultResources),
		Name:        fmt.Sprintf("bf-%d-%s-%d", seed, strconv.FormatInt(time.Now().UnixNano()%1e9, 36), n),
		Description: fmt.Sprintf("backupflow demo backup %d", seed),
	}
	raw, _ := json.Marshal(s)
	return raw
}

type instance struct {
	id, name      string
	busy, failing bool
}

type backupRec struct {
	id, name, description, instanceID, jobID string
	begin                                    time.Time
	duration                                 time.Duration
	failing                                  bool
}

func (b *backupRec) done(now time.Time) bool { return !now.Before(b.begin.Add(b.duration)) }

func (b *backupRec) status(now time.Time) string {
	switch {
	case !b.done(now):
		return "BUILDING"
	case b.failing:
		return "FAILED"
	}
	return "COMPLETED"
}

type jobRec struct {
	id, backupID, instanceID, instanceName string
	created                                time.Time
	duration                               time.Duration
	failing                                bool
}

// Server is a running simulator. It implements providertest.Backend.
type Server struct {
	opts   Options
	clock  *hw.Clock
	faults *hw.Faults
	gw     *hw.Gateway
	srv    *http.Server
	ln     net.Listener

	mu        sync.Mutex
	instances map[string]*instance
	backups   map[string]*backupRec
	jobs      map[string]*jobRec
}

var _ providertest.Backend = (*Server)(nil)

// Start starts a simulator.
func Start(opts Options) (*Server, error) {
	if opts.Duration <= 0 {
		opts.Duration = DefaultDuration
	}
	if opts.Resources <= 0 {
		opts.Resources = DefaultResources
	}
	if opts.ProjectID == "" {
		opts.ProjectID = ProjectID
	}
	if opts.AccessKey == "" {
		opts.AccessKey, opts.SecretKey = AccessKey, SecretKey
	}
	if opts.ManualBackupLimit <= 0 {
		opts.ManualBackupLimit = DefaultManualBackupLimit
	}
	s := &Server{opts: opts, clock: &hw.Clock{}, faults: &hw.Faults{},
		instances: map[string]*instance{}, backups: map[string]*backupRec{}, jobs: map[string]*jobRec{}}
	for i := range opts.Resources {
		id := InstanceID(i)
		s.instances[id] = &instance{id: id, name: fmt.Sprintf("taurus-demo-%03d", i)}
	}
	s.instances[BusyInstance] = &instance{id: BusyInstance, name: "taurus-busy", busy: true}
	s.instances[FailingInstance] = &instance{id: FailingInstance, name: "taurus-failing", failing: true}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /v3/{project_id}/backups/create", s.create)
	mux.HandleFunc("GET /v3/{project_id}/backups", s.listBackups)
	mux.HandleFunc("DELETE /v3/{project_id}/backups/{backup_id}", s.deleteBackup)
	mux.HandleFunc("GET /v3/{project_id}/jobs", s.showJob)
	mux.HandleFunc("GET /v3/{project_id}/immediate-jobs", s.listJobs)
	mux.HandleFunc("/", hw.NotFoundAPI)
	s.gw = &hw.Gateway{
		Clock:        s.clock,
		Faults:       s.faults,
		Authenticate: s.authenticate,
		IsCreate: func(r *http.Request) bool {
			return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/backups/create")
		},
		API: mux,
	}
	srv, ln, err := hw.Listen(opts.Addr, s.gw)
	if err != nil {
		return nil, err
	}
	s.srv, s.ln = srv, ln
	return s, nil
}

// Endpoint is the base URL to give the SDK (http://127.0.0.1:PORT).
func (s *Server) Endpoint() string { return "http://" + s.ln.Addr().String() }

// Close stops the simulator.
func (s *Server) Close() { _ = s.srv.Close() }

// Options returns the options in effect (defaults filled in).
func (s *Server) Options() Options { return s.opts }

// Now is the simulator's clock.
func (s *Server) Now() time.Time { return s.clock.Now() }

// Advance moves the clock: running backups progress by d.
func (s *Server) Advance(d time.Duration) { s.clock.Advance(d) }

// Calls counts API calls received.
func (s *Server) Calls() int { return s.gw.Calls() }

// LoseNextCreate makes the next create apply and then lose its response.
func (s *Server) LoseNextCreate() { s.faults.LoseNextCreate() }

// FailNext makes the next n calls fail with class (Unavailable: 503,
// Throttled: 429 with Retry-After, Busy: 409).
func (s *Server) FailNext(class provider.Class, n int, retryAfter time.Duration) {
	s.faults.FailNext(class, n, retryAfter)
}

// SetLatency delays every call by d.
func (s *Server) SetLatency(d time.Duration) { s.faults.SetLatency(d) }

// SetFaultRate injects random retryable faults with probability p per call.
func (s *Server) SetFaultRate(p float64, seed int64) { s.faults.SetFaultRate(p, seed) }

// Faults counts injected faults.
func (s *Server) Faults() int { return s.faults.Injected() }

// Inventory lists the IDs of every backup held (any state), sorted.
func (s *Server) Inventory() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.backups))
	for id := range s.backups {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// BackupStatus returns a backup's status (BUILDING, COMPLETED, FAILED), if it exists.
func (s *Server) BackupStatus(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.backups[id]
	if !ok {
		return "", false
	}
	return b.status(s.clock.Now()), true
}

// SetBusy marks an instance busy (or not).
func (s *Server) SetBusy(instanceID string, busy bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in, ok := s.instances[instanceID]; ok {
		in.busy = busy
	}
}

func (s *Server) authenticate(r *http.Request, body []byte) *hw.APIError {
	if e := hw.VerifySignature(r, body, func(ak string) (string, bool) {
		if ak == s.opts.AccessKey {
			return s.opts.SecretKey, true
		}
		return "", false
	}, time.Now()); e != nil {
		return e
	}
	// The path's project must be the credentials' project.
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if len(parts) >= 2 && parts[0] == "v3" && parts[1] != s.opts.ProjectID {
		return hw.Errf(http.StatusForbidden, hw.CodeForbidden, "The credentials are not authorized for project %s", parts[1])
	}
	return nil
}

func (s *Server) backupJSON(b *backupRec, now time.Time) map[string]any {
	in := s.instances[b.instanceID]
	m := map[string]any{
		"id":            b.id,
		"name":          b.name,
		"begin_time":    b.begin.Format(hw.TimeLayout),
		"status":        b.status(now),
		"type":          "manual",
		"instance_id":   b.instanceID,
		"instance_name": in.name,
		"datastore":     map[string]string{"type": "gaussdb-mysql", "version": "8.0"},
		"backup_level":  "0",
	}
	if b.description != "" {
		m["description"] = b.description
	}
	if b.done(now) {
		end := b.begin.Add(b.duration)
		m["end_time"] = end.Format(hw.TimeLayout)
		m["take_up_time"] = int(b.duration.Minutes())
		if !b.failing {
			m["size"] = 2048.5
		}
	}
	return m
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var req struct {
		InstanceID  string  `json:"instance_id"`
		Name        string  `json:"name"`
		Description *string `json:"description"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		hw.WriteError(w, hw.Invalid("The request body is not valid JSON"))
		return
	}
	desc := ""
	if req.Description != nil {
		desc = *req.Description
	}
	for _, e := range []*hw.APIError{hw.CheckLanguage(r), checkInstanceID(req.InstanceID), hw.CheckName(req.Name), hw.CheckDescription(desc)} {
		if e != nil {
			hw.WriteError(w, e)
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	in, ok := s.instances[req.InstanceID]
	if !ok {
		hw.WriteError(w, hw.Errf(http.StatusNotFound, hw.CodeNotFound, "The DB instance %s does not exist", req.InstanceID))
		return
	}
	if in.busy {
		hw.WriteError(w, hw.Errf(http.StatusConflict, hw.CodeInstanceBusy, "The DB instance is being modified; try again later"))
		return
	}
	manual := 0
	for _, b := range s.backups {
		manual++
		if b.instanceID != in.id {
			continue
		}
		if b.name == req.Name {
			hw.WriteError(w, hw.Errf(http.StatusBadRequest, hw.CodeNameExists, "The backup name %s already exists", req.Name))
			return
		}
		if !b.done(now) {
			hw.WriteError(w, hw.Errf(http.StatusConflict, hw.CodeBackupInProgress, "A backup of the DB instance is in progress"))
			return
		}
	}
	if manual >= s.opts.ManualBackupLimit {
		hw.WriteError(w, hw.Errf(http.StatusRequestEntityTooLarge, hw.CodeManualBackupLimit,
			"The number of manual backups has reached the limit (%d)", s.opts.ManualBackupLimit))
		return
	}
	b := &backupRec{id: hw.NewUUID(), name: req.Name, description: desc, instanceID: in.id, jobID: hw.NewUUID(),
		begin: now, duration: s.opts.Duration, failing: in.failing}
	s.backups[b.id] = b
	s.jobs[b.jobID] = &jobRec{id: b.jobID, backupID: b.id, instanceID: in.id, instanceName: in.name,
		created: b.begin, duration: b.duration, failing: b.failing}
	out := map[string]any{
		"id": b.id, "name": b.name, "begin_time": b.begin.Format(hw.TimeLayout),
		"status": "BUILDING", "type": "manual", "instance_id": b.instanceID,
	}
	if desc != "" {
		out["description"] = desc
	}
	hw.WriteJSON(w, http.StatusCreated, map[string]any{"backup": out, "job_id": b.jobID})
}

// checkInstanceID applies the documented format: 36 letters and digits ending in07.
func checkInstanceID(id string) *hw.APIError {
	if len(id) != 36 || !strings.HasSuffix(id, "in07") || strings.IndexFunc(id, func(c rune) bool {
		return !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z')
	}) >= 0 {
		return hw.Invalid("Invalid instance_id %q", id)
	}
	return nil
}

func (s *Server) listBackups(w http.ResponseWriter, r *http.Request) {
	if e := hw.CheckLanguage(r); e != nil {
		hw.WriteError(w, e)
		return
	}
	offset, limit, e := hw.Page(r)
	if e != nil {
		hw.WriteError(w, e)
		return
	}
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	var matched []*backupRec
	for _, b := range s.backups {
		if v := q.Get("instance_id"); v != "" && b.instanceID != v {
			continue
		}
		if v := q.Get("backup_id"); v != "" && b.id != v {
			continue
		}
		if v := q.Get("name"); v != "" && b.name != v {
			continue
		}
		if v := q.Get("backup_type"); v != "" && v != "manual" {
			continue
		}
		matched = append(matched, b)
	}
	sort.Slice(matched, func(i, j int) bool {
		if !matched[i].begin.Equal(matched[j].begin) {
			return matched[i].begin.After(matched[j].begin)
		}
		return matched[i].id < matched[j].id
	})
	from, to := hw.Slice(len(matched), offset, limit)
	out := make([]map[string]any, 0, to-from)
	for _, b := range matched[from:to] {
		out = append(out, s.backupJSON(b, now))
	}
	hw.WriteJSON(w, http.StatusOK, map[string]any{"backups": out, "total_count": len(matched)})
}

func (s *Server) deleteBackup(w http.ResponseWriter, r *http.Request) {
	if e := hw.CheckLanguage(r); e != nil {
		hw.WriteError(w, e)
		return
	}
	id := r.PathValue("backup_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.backups[id]
	if !ok {
		hw.WriteError(w, hw.Errf(http.StatusNotFound, hw.CodeNotFound, "The backup %s does not exist", id))
		return
	}
	if !b.done(s.clock.Now()) {
		hw.WriteError(w, hw.Errf(http.StatusConflict, hw.CodeBackupInProgress, "The backup %s is being created and cannot be deleted", id))
		return
	}
	delete(s.backups, id)
	hw.WriteJSON(w, http.StatusOK, map[string]any{"backup_id": b.id, "backup_name": b.name})
}

func (j *jobRec) state(now time.Time) (status, process, ended, failReason string) {
	elapsed := now.Sub(j.created)
	switch {
	case elapsed < j.duration:
		pct := max(0, min(99, int(100*elapsed/j.duration)))
		return "Running", strconv.Itoa(pct) + "%", "", ""
	case j.failing:
		return "Failed", "100%", j.created.Add(j.duration).Format(hw.TimeLayout),
			"Backup failed: the backup lock could not be obtained from the instance"
	}
	return "Completed", "100%", j.created.Add(j.duration).Format(hw.TimeLayout), ""
}

func (s *Server) visible(j *jobRec, now time.Time) bool {
	return !now.Before(j.created.Add(s.opts.JobVisibilityDelay))
}

func (s *Server) showJob(w http.ResponseWriter, r *http.Request) {
	if e := hw.CheckLanguage(r); e != nil {
		hw.WriteError(w, e)
		return
	}
	id := r.URL.Query().Get("id")
	if id == "" {
		hw.WriteError(w, hw.Invalid("The job ID is required"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	j, ok := s.jobs[id]
	if !ok || !s.visible(j, now) {
		hw.WriteError(w, hw.Errf(http.StatusNotFound, hw.CodeNotFound, "The job %s does not exist", id))
		return
	}
	status, process, ended, reason := j.state(now)
	job := map[string]any{
		"id": j.id, "name": JobName, "status": status, "created": j.created.Format(hw.TimeLayout),
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
	hw.WriteJSON(w, http.StatusOK, map[string]any{"job": job})
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) {
	if e := hw.CheckLanguage(r); e != nil {
		hw.WriteError(w, e)
		return
	}
	offset, limit, e := hw.Page(r)
	if e != nil {
		hw.WriteError(w, e)
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
				hw.WriteError(w, hw.Invalid("Invalid %s %q", p.name, v))
				return
			}
			*p.t = t
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
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
	sort.Slice(matched, func(i, k int) bool {
		if !matched[i].created.Equal(matched[k].created) {
			return matched[i].created.After(matched[k].created)
		}
		return matched[i].id < matched[k].id
	})
	from, to := hw.Slice(len(matched), offset, limit)
	out := make([]map[string]any, 0, to-from)
	for _, j := range matched[from:to] {
		status, process, ended, reason := j.state(now)
		m := map[string]any{
			"instance_id": j.instanceID, "instance_name": j.instanceName, "instance_status": "normal",
			"job_id": j.id, "job_name": JobName, "status": status, "process": process,
			"created_time": j.created.Format(hw.TimeLayout),
		}
		if ended != "" {
			m["ended_time"] = ended
		}
		if reason != "" {
			m["fail_reason"] = reason
		}
		out = append(out, m)
	}
	hw.WriteJSON(w, http.StatusOK, map[string]any{"jobs": out, "total_count": len(matched)})
}

func parseTime(v string) (time.Time, error) {
	for _, l := range []string{hw.TimeLayout, time.RFC3339} {
		if t, err := time.Parse(l, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q", v)
}
