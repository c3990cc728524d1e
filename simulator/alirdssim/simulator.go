// Package alirds is a loopback simulator of the Alibaba Cloud ApsaraDB RDS
// OpenAPI (RPC style, version 2014-08-15), just large enough for backupflow:
// CreateBackup, DescribeBackupTasks, DescribeBackups, DeleteBackup,
// DescribeDBInstanceAttribute and DescribeDatabases.
//
// It speaks the real wire protocol so the official Go SDK
// (github.com/aliyun/alibaba-cloud-sdk-go/services/rds) runs end to end
// against it: POST (or GET) to "/", every parameter in the query string (form
// body parameters are accepted and signed too, as the SDK's signer would),
// the RPC HMAC-SHA1 signature verified, JSON answers that carry a RequestId,
// and errors in Alibaba's shape ({"RequestId","HostId","Code","Message",
// "Recommend"} with the HTTP status the API documents).
//
// The model: instances with an engine (MySQL, SQLServer, MariaDB,
// PostgreSQL), a state (Running, Rebooting, Stopped, Deleting, ...), a lock
// mode and databases; at most one unfinished backup task per instance; at
// most 20 backup sets per instance per day; a task moves through NoStart,
// Preparing, Waiting, Uploading and Checking (the uploaded files are
// verified) and ends Finished (or Failed), with Process rising from 0 to 100
// (a percentage) over Options.Duration of simulator time.
//
// Every error code it answers with is in one catalog (codes.go); the
// provider facts behind the model, with their sources, are in
// docs/providers/alirds.md.
package alirdssim

import (
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/backupflow/backupflow/simulator/simkit"
)

// Test-only credentials the simulator accepts by default. They are not secrets.
const (
	// AccessKeyID is the AccessKeyId the simulator knows.
	AccessKeyID = "LTAI5tBackupflowSimulator"
	// AccessKeySecret is its secret (test-only, never a real credential).
	AccessKeySecret = "backupflow-simulator-secret-test-only"
	// Region is the region the fixture lives in; any RegionId is accepted.
	Region = "cn-hangzhou"
	// APIVersion is the only RDS API version the simulator speaks.
	APIVersion = "2014-08-15"
)

// Options configure a simulator.
type Options struct {
	// Addr is the listen address; it must be a loopback address. Default "127.0.0.1:0".
	Addr string
	// Duration is how long (simulator time) a backup task runs. Default 2s.
	Duration time.Duration
	// Resources is the number of MySQL instances in the fixture. Default 200.
	Resources int
	// AccessKeyID and AccessKeySecret are the credentials accepted; default
	// the AccessKeyID and AccessKeySecret constants.
	AccessKeyID     string
	AccessKeySecret string
	// MaxClockSkew is how far a request's Timestamp may be from real time. Default 15m.
	MaxClockSkew time.Duration
	// PageSize is the most backup sets one DescribeBackups page holds,
	// whatever PageSize (30 to 100) the caller asks for; pages are numbered
	// in this size. Default 100; tests set it small so that callers' paging
	// is exercised.
	PageSize int
}

// DefaultResources is the fixture size CreateSection assumes.
const DefaultResources = 200

// Server is a running simulator. It implements simkit.Simulator.
type Server struct {
	simkit.Base
	opts Options

	mu        sync.Mutex
	instances map[string]*instance
	order     []string
	tasks     map[int64]*task
	backups   map[string]*backupSet
	jobSeq    int64
	backupSeq int64
	reqSeq    uint64
	nonces    map[string]time.Time
}

// Start starts a simulator with the default fixture on a loopback address.
func Start(opts Options) (*Server, error) {
	opts.Addr = simkit.Default(opts.Addr, simkit.DefaultAddr)
	opts.Duration = simkit.Default(opts.Duration, 2*time.Second)
	opts.Resources = simkit.Default(opts.Resources, DefaultResources)
	opts.AccessKeyID = simkit.Default(opts.AccessKeyID, AccessKeyID)
	opts.AccessKeySecret = simkit.Default(opts.AccessKeySecret, AccessKeySecret)
	opts.MaxClockSkew = simkit.Default(opts.MaxClockSkew, 15*time.Minute)
	opts.PageSize = simkit.Default(opts.PageSize, 100)
	s := &Server{
		opts:      opts,
		instances: map[string]*instance{},
		tasks:     map[int64]*task{},
		backups:   map[string]*backupSet{},
		jobSeq:    5073730,
		backupSeq: 346650270,
		nonces:    map[string]time.Time{},
	}
	s.RandomFault = randomFault
	s.seed(time.Now().UTC())
	if err := s.Serve(simkit.ServeHTTP(opts.Addr, s)); err != nil {
		return nil, fmt.Errorf("alirds simulator: %w", err)
	}
	return s, nil
}

// Now is the simulator's clock: real time plus what Advance added.
func (s *Server) Now() time.Time { return s.Clock.Now().UTC() }

func (s *Server) nowLocked() time.Time { return s.Now() }

// Advance moves the simulator's clock forward: running tasks progress by d.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Clock.Advance(d)
	s.settleLocked(s.nowLocked())
}

// Inventory lists every backup the simulator holds (in any state but
// deleted), sorted, by the ID the API shows for it: a backup still being
// made by its task by its BackupJobId (RDS shows a task's BackupId only once
// it has Finished), a finished one by its BackupId. CurrentID follows a
// backup from the one ID to the other.
func (s *Server) Inventory() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(s.nowLocked())
	ids := make([]string, 0, len(s.backups)+len(s.tasks))
	for id := range s.backups {
		ids = append(ids, id)
	}
	for _, t := range s.tasks {
		if !t.settled {
			ids = append(ids, strconv.FormatInt(t.jobID, 10))
		}
	}
	sort.Strings(ids)
	return ids
}

// CurrentID is the ID Inventory lists now for the backup it once listed as
// id: the BackupId of a task that has finished since (it was listed by its
// BackupJobId while it ran), else id itself.
func (s *Server) CurrentID(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(s.nowLocked())
	n, err := strconv.ParseInt(id, 10, 64)
	if t, ok := s.tasks[n]; err == nil && ok && t.settled && s.backups[t.backupID] != nil {
		return t.backupID
	}
	return id
}

// The Backend's fault controls are simkit's: LoseNextCreate makes the next
// successful CreateBackup apply and then drop the connection without an
// answer; DropNextCreate makes the next CreateBackup fail before it applies
// (the simulator closes the connection without reading further or
// answering; the call is counted); FailNext makes the next n authenticated
// calls fail without effect (see faultError); SetFaultRate injects a random
// fault into each authenticated call (see randomFault).
