// Package otcrds simulates Open Telekom Cloud RDS v3 on 127.0.0.1, as far as
// backupflow uses it: creating a manual backup (POST /v3/{project_id}/backups),
// listing backups (GET /v3/{project_id}/backups), deleting one
// (DELETE /v3/{project_id}/backups/{backup_id}) and listing instances
// (GET /v3/{project_id}/instances), plus the IAM token API
// (POST /v3/auth/tokens). Requests authenticate with an IAM token
// (X-Auth-Token, checked for validity and expiry on the simulator clock) or
// with an AK/SK signature in Open Telekom Cloud's form (a Credential scope and
// a derived key; the Huawei SDK's Access= form is refused as a bad
// signature). Answers use the documented JSON, the {error_code, error_msg}
// error shape and OTC's codes (the gateway's own are APIG.xxxx), so the
// official SDK runs end to end. Backup names are unique in the whole project;
// a deleted backup shows DELETING for DeleteDuration before it disappears.
// docs/providers/otcrds.md lists every code and state, with sources.
package otcrdssim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
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
	ProjectID = "0483b6b16e954cb88930a360d2c4e663"
	AccessKey = "SIMOTCRDSAK000000001"
	SecretKey = "sim-otcrds-secret-key-for-tests-only"
	Username  = "backupflow-sim"
	Password  = "sim-otcrds-password-for-tests-only"
	Domain    = "OTC00000000001000000001"
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

// Error codes the simulator answers with, from OTC's RDS v3 error-code table
// (docs/providers/otcrds.md says which use of each is a guess). Gateway
// answers (authentication, throttling, unknown API) carry GatewayCodePrefix.
const (
	CodeParameterError     = "DBS.200001" // 400
	CodeInstanceNotFound   = "DBS.200002" // 404
	CodeInstanceBusy       = "DBS.200019" // 409: the instance is not ACTIVE
	CodeNameExists         = "DBS.201201" // 409: "The object already exists."
	CodeBackupInProgress   = "RDS.3004"   // 409: create while another backup builds
	CodeBackupBuilding     = "DBS.201205" // 409: delete while the backup builds
	CodeInvalidDescription = "DBS.280127" // 400
	CodeNoSuchDatabase     = "DBS.280128" // 400
	CodeManualBackupLimit  = "RDS.3003"   // 413
	CodeBackupDeleting     = "RDS.3016"   // 400: "The backup file is being deleted."
	CodeBackupNotFound     = "DBS.201010" // 404: "The backup information does not exist."
	// GatewayCodePrefix is OTC's API gateway's: APIG.0301 where Huawei Cloud says APIGW.0301.
	GatewayCodePrefix = "APIG"
)

// NameScope is where a backup name must be unique: in the whole project, the
// stricter reading of OTC's "The backup name must be unique" (OTC's DDS docs
// say "among all other backups on Project"; the RDS docs do not narrow it).
// nameTaken is the one place the rule is applied.
const NameScope = "project"

// Defaults.
const (
	DefaultResources         = 200
	DefaultDuration          = 2 * time.Second
	DefaultDeleteDuration    = time.Second
	DefaultManualBackupLimit = 1000
	DefaultTokenTTL          = 24 * time.Hour
)

// Options configures a simulator.
type Options struct {
	// Addr is the listen address; default 127.0.0.1:0. Loopback only.
	Addr string
	// Duration is how long a backup runs; default 2s.
	Duration time.Duration
	// Resources is the number of numbered demo instances; default 200.
	Resources int
	// ProjectID, AccessKey, SecretKey, Username, Password and Domain are the
	// credentials accepted; defaults are the package constants.
	ProjectID, AccessKey, SecretKey string
	Username, Password, Domain      string
	// TokenTTL is the lifetime of IAM tokens, on the simulator clock; default 24h.
	TokenTTL time.Duration
	// ManualBackupLimit is the project's manual-backup quota (413 RDS.3003
	// beyond it); default 1000.
	ManualBackupLimit int
	// DeleteDuration is how long a deleted backup shows DELETING; default 1s.
	DeleteDuration time.Duration
}

// InstanceID returns the ID of numbered demo instance i (a MySQL primary):
// 32 hex characters and "in01", the form of OTC's documented example.
func InstanceID(i int) string { return huaweicloudsim.DemoID("otcrds", i) + "in01" }

// CreateSection returns a valid create section for demo instance
// n%DefaultResources; the name is unique per call.
func CreateSection(n int) json.RawMessage {
	d := huaweicloudsim.NewDemoBackup(n, DefaultResources)
	raw, _ := json.Marshal(backup.OTCRDSCreate{InstanceID: InstanceID(d.Instance), Name: d.Name, Description: d.Description})
	return raw
}

type instance struct {
	id, name, status, kind, engine, version string
	primary                                 string
	databases                               []string
	failing                                 bool
}

// backupRec is a backup and, for a SQL Server partial backup, its databases.
type backupRec struct {
	huaweicloudsim.Backup
	databases []string
	// deletedAt is when a delete was accepted; zero while not being deleted.
	deletedAt time.Time
}

// Server is a running simulator. It implements simkit.Simulator.
type Server struct {
	*huaweicloudsim.Simulator
	opts    Options
	tokens  *huaweicloudsim.Tokens
	backups huaweicloudsim.Backups[*backupRec]

	mu        sync.Mutex // guards instances and backup deletion
	instances map[string]*instance
	order     []string
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
	if opts.Username == "" {
		opts.Username, opts.Password, opts.Domain = Username, Password, Domain
	}
	opts.TokenTTL = simkit.Default(opts.TokenTTL, DefaultTokenTTL)
	opts.ManualBackupLimit = simkit.Default(opts.ManualBackupLimit, DefaultManualBackupLimit)
	opts.DeleteDuration = simkit.Default(opts.DeleteDuration, DefaultDeleteDuration)
	s := &Server{Simulator: huaweicloudsim.NewSimulator(), opts: opts, instances: map[string]*instance{}}
	s.tokens = &huaweicloudsim.Tokens{Clock: s.Simulator, ProjectID: opts.ProjectID, TTL: opts.TokenTTL,
		User: huaweicloudsim.IAMUser{Name: opts.Username, Password: opts.Password, Domain: opts.Domain}}
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
	for i := range opts.Resources {
		add(&instance{id: InstanceID(i), name: fmt.Sprintf("rds-demo-%03d", i)})
	}
	add(&instance{id: ReplicaPrimary, name: "rds-primary"})
	add(&instance{id: ReplicaInstance, name: "rds-replica", kind: "Replica", primary: ReplicaPrimary})
	add(&instance{id: SQLServerInstance, name: "rds-sqlserver", engine: "SQLServer", version: "2019_SE", databases: SQLServerDatabases})
	add(&instance{id: PostgreSQLInstance, name: "rds-postgres", engine: "PostgreSQL", version: "16"})
	add(&instance{id: BusyInstance, name: "rds-busy", status: "MODIFYING"})
	add(&instance{id: FailingInstance, name: "rds-failing", failing: true})

	mux := http.NewServeMux()
	mux.Handle("POST "+huaweicloudsim.IAMTokenPath, s.tokens)
	mux.HandleFunc("POST /v3/{project_id}/backups", s.create)
	mux.HandleFunc("GET /v3/{project_id}/backups", s.listBackups)
	mux.HandleFunc("DELETE /v3/{project_id}/backups/{backup_id}", s.deleteBackup)
	mux.HandleFunc("GET /v3/{project_id}/instances", s.listInstances)
	mux.HandleFunc("/", noSuchAPI)
	gw := &huaweicloudsim.Gateway{
		Authenticate: s.authenticate,
		IsCreate:     huaweicloudsim.IsPostTo("/backups"),
		Open:         func(r *http.Request) bool { return r.URL.Path == huaweicloudsim.IAMTokenPath },
		API:          mux,
		CodePrefix:   GatewayCodePrefix,
	}
	if err := huaweicloudsim.Serve(s.Simulator, opts.Addr, gw); err != nil {
		return nil, err
	}
	return s, nil
}

// IAMEndpoint is the base URL of the IAM token API (the same server).
func (s *Server) IAMEndpoint() string { return s.Endpoint() }

// Options returns the options in effect (defaults filled in).
func (s *Server) Options() Options { return s.opts }

// TokensIssued counts IAM tokens issued.
func (s *Server) TokensIssued() int { return s.tokens.Issued() }

// RevokeTokens invalidates every token issued so far.
func (s *Server) RevokeTokens() { s.tokens.RevokeAll() }

// Inventory lists the IDs of every backup held, sorted; a backup being
// deleted (DELETING) is gone as far as its owner is concerned and is left out.
func (s *Server) Inventory() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Now()
	s.sweep(now)
	var ids []string
	for _, b := range s.backups.Newest(func(b *backupRec) bool { return b.deletedAt.IsZero() }) {
		ids = append(ids, b.ID)
	}
	slices.Sort(ids)
	return ids
}

// BackupStatus returns a backup's status (BUILDING, COMPLETED, FAILED,
// DELETING), if it exists.
func (s *Server) BackupStatus(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Now()
	s.sweep(now)
	b := s.backupByID(id)
	if b == nil {
		return "", false
	}
	return status(b, now), true
}

// Description returns a backup's description as stored (the list does not
// return it), if the backup exists.
func (s *Server) Description(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.backupByID(id)
	if b == nil {
		return "", false
	}
	return b.Description, true
}

// SetInstanceStatus changes an instance's status (ACTIVE, MODIFYING,
// SHUTDOWN, ...), as an operator's action or a maintenance would.
func (s *Server) SetInstanceStatus(id, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in, ok := s.instances[id]; ok {
		in.status = status
	}
}

// status is b's status at now: DELETING once a delete was accepted, else
// BUILDING, COMPLETED or FAILED.
func status(b *backupRec, now time.Time) string {
	if !b.deletedAt.IsZero() {
		return "DELETING"
	}
	return b.Status(now)
}

// sweep removes the backups whose deletion has finished at now. s.mu is held.
func (s *Server) sweep(now time.Time) {
	for _, b := range s.backups.Newest(func(b *backupRec) bool {
		return !b.deletedAt.IsZero() && !now.Before(b.deletedAt.Add(s.opts.DeleteDuration))
	}) {
		_, _ = s.backups.Delete(b.ID, now) // done building, so it goes
	}
}

// backupByID returns backup id, or nil. s.mu is held.
func (s *Server) backupByID(id string) *backupRec {
	found := s.backups.Newest(func(b *backupRec) bool { return b.ID == id })
	if len(found) == 0 {
		return nil
	}
	return found[0]
}

// nameTaken reports whether name is used by a backup anywhere in the project
// (NameScope). s.mu is held.
func (s *Server) nameTaken(name string) bool {
	return len(s.backups.Newest(func(b *backupRec) bool { return b.Name == name })) > 0
}

// noSuchAPI answers a path the API does not have, as OTC's gateway does.
func noSuchAPI(w http.ResponseWriter, r *http.Request) {
	huaweicloudsim.WriteError(w, huaweicloudsim.Errf(http.StatusNotFound, GatewayCodePrefix+".0101",
		"The API does not exist or has not been published in the environment: %s %s", r.Method, r.URL.Path))
}

// withCode is e answered with code instead (OTC's code for the same rule).
func withCode(e *huaweicloudsim.APIError, code string) *huaweicloudsim.APIError {
	if e == nil {
		return nil
	}
	cp := *e
	cp.Code = code
	return &cp
}

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

// createRules are the create API's rules for a new backup (the name's
// project-wide uniqueness is checked before, by nameTaken).
func (s *Server) createRules() huaweicloudsim.CreateRules {
	return huaweicloudsim.CreateRules{NameExistsStatus: http.StatusConflict, NameExistsCode: CodeNameExists,
		InProgressCode: CodeBackupInProgress, Limit: s.opts.ManualBackupLimit}
}

// newBackup is a backup of in, named name, beginning now.
func (s *Server) newBackup(in *instance, name, description string, dbs []string, now time.Time) *backupRec {
	return &backupRec{Backup: huaweicloudsim.Backup{ID: huaweicloudsim.NewHex(16) + "br01", Name: name, Description: description,
		InstanceID: in.id, Begin: now, Duration: s.opts.Duration, Failing: in.failing}, databases: dbs}
}

// AddForeign makes a backup of target as a person in the console would: on
// the target instance, named as the target names it, beginning now, with a
// description without any backupflow marker. It returns the backup's ID. It
// implements providertest.ForeignBackups.
func (s *Server) AddForeign(target provider.Target) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.instances[target.Resource]
	if !ok {
		panic("AddForeign: no instance " + target.Resource)
	}
	now := s.Now()
	s.sweep(now)
	if s.nameTaken(target.BackupName) {
		panic(fmt.Sprintf("AddForeign: the provider would refuse backup %q: the name is taken in the project", target.BackupName))
	}
	b := s.newBackup(in, target.BackupName, huaweicloudsim.ForeignDescription, nil, now)
	s.backups.MustAddWith(b, now, s.createRules())
	return b.ID
}

func dbObjects(names []string) []map[string]string {
	out := make([]map[string]string, 0, len(names))
	for _, n := range names {
		out = append(out, map[string]string{"name": n})
	}
	return out
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
	offset, limit, e := huaweicloudsim.Page(r)
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
	switch {
	case b == nil:
		huaweicloudsim.WriteError(w, huaweicloudsim.Errf(http.StatusNotFound, CodeBackupNotFound, "The backup %s does not exist", id))
	case !b.deletedAt.IsZero():
		huaweicloudsim.WriteError(w, huaweicloudsim.Errf(http.StatusBadRequest, CodeBackupDeleting, "The backup file is being deleted. Try again later."))
	case !b.Done(now):
		huaweicloudsim.WriteError(w, huaweicloudsim.Errf(http.StatusConflict, CodeBackupBuilding, "The backup %s is being created and cannot be deleted", id))
	default:
		b.deletedAt = now
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
	offset, limit, e := huaweicloudsim.Page(r)
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
