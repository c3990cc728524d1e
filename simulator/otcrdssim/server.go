package otcrdssim

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/backupflow/backupflow/simulator/huaweicloudsim"
)

func (s *Server) authenticate(r *http.Request, body []byte) *huaweicloudsim.APIError {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	project := ""
	if len(parts) >= 2 {
		project = parts[1]
	}
	if tok := r.Header.Get("X-Auth-Token"); tok != "" {
		return s.tokens.Verify(tok, project)
	}
	if e := huaweicloudsim.VerifyScopedSignature(r, body, huaweicloudsim.SingleKey(s.opts.AccessKey, s.opts.SecretKey), time.Now()); e != nil {
		return e
	}
	if project != s.opts.ProjectID {
		return huaweicloudsim.NotAuthorizedFor(project)
	}
	return nil
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var req struct {
		huaweicloudsim.CreateRequest
		Databases []struct {
			Name string `json:"name"`
		} `json:"databases"`
	}
	if e := huaweicloudsim.DecodeJSON(r, &req); e != nil {
		huaweicloudsim.WriteError(w, withCode(e, CodeParameterError))
		return
	}
	if req.InstanceID == "" {
		huaweicloudsim.WriteError(w, huaweicloudsim.Errf(http.StatusBadRequest, CodeParameterError, "instance_id is mandatory"))
		return
	}
	if e := huaweicloudsim.FirstError(withCode(huaweicloudsim.CheckName(req.Name), CodeParameterError),
		withCode(huaweicloudsim.CheckDescription(req.Description), CodeInvalidDescription)); e != nil {
		huaweicloudsim.WriteError(w, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Now()
	s.sweep(now)
	in, ok := s.instances[req.InstanceID]
	if !ok {
		huaweicloudsim.WriteError(w, huaweicloudsim.Errf(http.StatusNotFound, CodeInstanceNotFound, "The DB instance %s does not exist", req.InstanceID))
		return
	}
	if in.kind == "Replica" {
		huaweicloudsim.WriteError(w, huaweicloudsim.Errf(http.StatusBadRequest, CodeParameterError, "Read replicas do not support manual backup creation"))
		return
	}
	var dbs []string
	for _, db := range req.Databases {
		dbs = append(dbs, db.Name)
	}
	if len(dbs) > 0 {
		if in.engine != "SQLServer" {
			huaweicloudsim.WriteError(w, huaweicloudsim.Errf(http.StatusBadRequest, CodeParameterError, "Only Microsoft SQL Server instances support partial backups (databases)"))
			return
		}
		for _, db := range dbs {
			if !slices.Contains(in.databases, db) {
				huaweicloudsim.WriteError(w, huaweicloudsim.Errf(http.StatusBadRequest, CodeNoSuchDatabase, "The database %q does not exist on the instance", db))
				return
			}
		}
	}
	if in.status != "ACTIVE" {
		huaweicloudsim.WriteError(w, huaweicloudsim.Errf(http.StatusConflict, CodeInstanceBusy, "The DB instance status is %s; try again later", in.status))
		return
	}
	if s.nameTaken(req.Name) {
		huaweicloudsim.WriteError(w, huaweicloudsim.Errf(http.StatusConflict, CodeNameExists, "The object already exists: a backup named %s exists in the project", req.Name))
		return
	}
	b := s.newBackup(in, req.Name, req.Description, dbs, now)
	if e := s.backups.AddWith(b, now, s.createRules()); e != nil {
		huaweicloudsim.WriteError(w, e)
		return
	}
	out := map[string]any{
		"id": b.ID, "instance_id": b.InstanceID, "name": b.Name, "description": b.Description,
		"begin_time": b.Begin.Format(huaweicloudsim.TimeLayout), "status": "BUILDING", "type": "manual",
	}
	if len(dbs) > 0 {
		out["databases"] = dbObjects(dbs)
	}
	huaweicloudsim.WriteJSON(w, http.StatusOK, map[string]any{"backup": out})
}

func (s *Server) backupJSON(b *backupRec, now time.Time) map[string]any {
	in := s.instances[b.InstanceID]
	m := map[string]any{
		"id": b.ID, "instance_id": b.InstanceID, "name": b.Name,
		"begin_time": b.Begin.Format(huaweicloudsim.TimeLayout), "end_time": "",
		"status": status(b, now), "type": "manual", "size": 0,
		"datastore":           map[string]string{"type": in.engine, "version": in.version},
		"associated_with_ddm": false,
	}
	if len(b.databases) > 0 {
		m["databases"] = dbObjects(b.databases)
	}
	if b.Done(now) {
		m["end_time"] = b.End().Format(huaweicloudsim.TimeLayout)
		if !b.Failing {
			m["size"] = 2097152 // kB, as the list documents: 2 GiB
		}
	}
	return m
}

func (s *Server) listBackups(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("instance_id") == "" {
		huaweicloudsim.WriteError(w, huaweicloudsim.Errf(http.StatusBadRequest, CodeParameterError, "instance_id is mandatory"))
		return
	}
	offset, limit, e := huaweicloudsim.Page(r, s.opts.PageSize)
	if e != nil {
		huaweicloudsim.WriteError(w, withCode(e, CodeParameterError))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Now()
	s.sweep(now)
	matched := s.backups.Newest(func(b *backupRec) bool {
		switch {
		case b.InstanceID != q.Get("instance_id"),
			q.Get("backup_id") != "" && b.ID != q.Get("backup_id"),
			q.Get("backup_type") != "" && q.Get("backup_type") != "manual",
			q.Get("status") != "" && q.Get("status") != status(b, now):
			return false
		}
		return true
	})
	huaweicloudsim.WritePage(w, "backups", matched, offset, limit, func(b *backupRec) map[string]any { return s.backupJSON(b, now) })
}

// deleteBackup accepts the deletion of a finished backup, which then shows
// DELETING for DeleteDuration; a backup still building or already being
// deleted is refused.
func (s *Server) deleteBackup(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Now()
	s.sweep(now)
	id := r.PathValue("backup_id")
	b := s.backupByID(id)
	applied := false
	defer func() { s.CountDelete(id, applied) }()
	switch {
	case b == nil:
		huaweicloudsim.WriteError(w, huaweicloudsim.Errf(http.StatusNotFound, CodeBackupNotFound, "The backup %s does not exist", id))
	case !b.deletedAt.IsZero():
		huaweicloudsim.WriteError(w, huaweicloudsim.Errf(http.StatusBadRequest, CodeBackupDeleting, "The backup file is being deleted. Try again later."))
	case !b.Done(now):
		huaweicloudsim.WriteError(w, huaweicloudsim.Errf(http.StatusConflict, CodeBackupBuilding, "The backup %s is being created and cannot be deleted", id))
	default:
		b.deletedAt, applied = now, true
		huaweicloudsim.WriteJSON(w, http.StatusOK, map[string]any{})
	}
}

func (s *Server) instanceJSON(in *instance) map[string]any {
	related := []map[string]string{}
	if in.primary != "" {
		related = append(related, map[string]string{"id": in.primary, "type": "replica_of"})
	}
	for _, other := range s.instances {
		if other.primary == in.id {
			related = append(related, map[string]string{"id": other.id, "type": "replica"})
		}
	}
	created := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Format(huaweicloudsim.TimeLayout)
	return map[string]any{
		"id": in.id, "name": in.name, "status": in.status, "type": in.kind,
		"datastore":             map[string]string{"type": in.engine, "version": in.version},
		"region":                "eu-de",
		"created":               created,
		"updated":               created,
		"port":                  3306,
		"enable_ssl":            false,
		"private_ips":           []string{"192.168.0.10"},
		"public_ips":            []string{},
		"db_user_name":          "root",
		"switch_strategy":       "reliability",
		"nodes":                 []map[string]any{{"id": in.id + "no01", "name": in.name + "_node0", "role": "master", "status": "ACTIVE"}},
		"related_instance":      related,
		"flavor_ref":            "rds.mysql.s1.large.ha",
		"volume":                map[string]any{"type": "COMMON", "size": 100},
		"vpc_id":                "vpc-sim",
		"subnet_id":             "subnet-sim",
		"time_zone":             "UTC",
		"tags":                  []any{},
		"backup_strategy":       map[string]any{"start_time": "01:00-02:00", "keep_days": 7},
		"maintenance_window":    "02:00-06:00",
		"enterprise_project_id": "0",
	}
}

func (s *Server) listInstances(w http.ResponseWriter, r *http.Request) {
	offset, limit, e := huaweicloudsim.Page(r, huaweicloudsim.MaxLimit)
	if e != nil {
		huaweicloudsim.WriteError(w, withCode(e, CodeParameterError))
		return
	}
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	var matched []*instance
	for _, id := range s.order {
		in := s.instances[id]
		switch {
		case q.Get("id") != "" && q.Get("id") != in.id,
			q.Get("name") != "" && q.Get("name") != in.name,
			q.Get("type") != "" && q.Get("type") != in.kind,
			q.Get("datastore_type") != "" && q.Get("datastore_type") != in.engine:
			continue
		}
		matched = append(matched, in)
	}
	huaweicloudsim.WritePage(w, "instances", matched, offset, limit, s.instanceJSON)
}

// gateway is the API behind OTC's gateway: the routes, the open IAM token
// endpoint and how calls authenticate.
func (s *Server) gateway() *huaweicloudsim.Gateway {
	mux := http.NewServeMux()
	mux.Handle("POST "+huaweicloudsim.IAMTokenPath, s.tokens)
	mux.HandleFunc("POST /v3/{project_id}/backups", s.create)
	mux.HandleFunc("GET /v3/{project_id}/backups", s.listBackups)
	mux.HandleFunc("DELETE /v3/{project_id}/backups/{backup_id}", s.deleteBackup)
	mux.HandleFunc("GET /v3/{project_id}/instances", s.listInstances)
	mux.HandleFunc("/", noSuchAPI)
	return &huaweicloudsim.Gateway{
		Authenticate: s.authenticate,
		IsCreate:     huaweicloudsim.IsPostTo("/backups"),
		Open:         func(r *http.Request) bool { return r.URL.Path == huaweicloudsim.IAMTokenPath },
		API:          mux,
		CodePrefix:   GatewayCodePrefix,
	}
}
