package taurusdbsim

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/backupflow/backupflow/simulator/huaweicloudsim"
)

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
	offset, limit, e := huaweicloudsim.Page(r, s.opts.PageSize)
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
	s.CountDelete(r.PathValue("backup_id"), e == nil)
	if e != nil {
		huaweicloudsim.WriteError(w, e)
		return
	}
	huaweicloudsim.WriteJSON(w, http.StatusOK, map[string]any{"backup_id": b.ID, "backup_name": b.Name})
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

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) {
	offset, limit, e := huaweicloudsim.Page(r, huaweicloudsim.MaxLimit)
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

// gateway is the API behind the family's gateway: the routes and how they
// authenticate.
func (s *Server) gateway() *huaweicloudsim.Gateway {
	mux := http.NewServeMux()
	// create checks X-Language after its body; the other calls check it first.
	mux.HandleFunc("POST /v3/{project_id}/backups/create", s.create)
	mux.HandleFunc("GET /v3/{project_id}/backups", languageChecked(s.listBackups))
	mux.HandleFunc("DELETE /v3/{project_id}/backups/{backup_id}", languageChecked(s.deleteBackup))
	mux.HandleFunc("GET /v3/{project_id}/jobs", languageChecked(s.showJob))
	mux.HandleFunc("GET /v3/{project_id}/immediate-jobs", languageChecked(s.listJobs))
	mux.HandleFunc("/", huaweicloudsim.NotFoundAPI)
	return &huaweicloudsim.Gateway{Authenticate: s.authenticate, IsCreate: huaweicloudsim.IsPostTo("/backups/create"), API: mux}
}
