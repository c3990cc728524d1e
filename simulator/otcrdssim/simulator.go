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
	"fmt"
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
	ProjectID = "0483b6b16e954cb88930a360d2c4e663"
	AccessKey = "SIMOTCRDSAK000000001"
	SecretKey = "sim-otcrds-secret-key-for-tests-only"
	Username  = "backupflow-sim"
	Password  = "sim-otcrds-password-for-tests-only"
	Domain    = "OTC00000000001000000001"
)

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
	// PageSize is the most backups one page of ListBackups holds:
	// huaweicloudsim.MaxLimit by default; tests set it small so that
	// callers' paging is exercised.
	PageSize int
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
	opts.PageSize = simkit.Default(opts.PageSize, huaweicloudsim.MaxLimit)
	s := &Server{Simulator: huaweicloudsim.NewSimulator(), opts: opts, instances: map[string]*instance{}}
	s.tokens = &huaweicloudsim.Tokens{Clock: s.Simulator, ProjectID: opts.ProjectID, TTL: opts.TokenTTL,
		User: huaweicloudsim.IAMUser{Name: opts.Username, Password: opts.Password, Domain: opts.Domain}}
	s.seed()
	if err := huaweicloudsim.Serve(s.Simulator, opts.Addr, s.gateway()); err != nil {
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

// AddBackups makes n backups of instance id as somebody else made them
// earlier, one after another, all finished by now, and returns their IDs.
func (s *Server) AddBackups(id string, n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := huaweicloudsim.MustInstance(s.instances, "AddBackups", id)
	now := s.Now()
	s.sweep(now)
	return s.backups.MustAddEarlier(n, now, s.opts.Duration, s.createRules(), func(begin time.Time) *backupRec {
		return s.newBackup(in, "listed-"+huaweicloudsim.NewHex(8), huaweicloudsim.ForeignDescription, nil, begin)
	})
}

// AddForeign makes a backup of target as a person in the console would: on
// the target instance, named as the target names it, beginning now, with a
// description without any backupflow marker. It returns the backup's ID. It
// implements providertest.ForeignBackups.
func (s *Server) AddForeign(target provider.Target) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := huaweicloudsim.MustInstance(s.instances, "AddForeign", target.Resource)
	now := s.Now()
	s.sweep(now)
	if s.nameTaken(target.BackupName) {
		panic(fmt.Sprintf("AddForeign: the provider would refuse backup %q: the name is taken in the project", target.BackupName))
	}
	b := s.newBackup(in, target.BackupName, huaweicloudsim.ForeignDescription, nil, now)
	s.backups.MustAddWith(b, now, s.createRules())
	return b.ID
}
