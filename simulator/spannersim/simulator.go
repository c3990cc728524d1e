// Package spanner simulates the Cloud Spanner Database Admin API's backup
// surface on 127.0.0.1, speaking the real gRPC protocol
// (google.spanner.admin.database.v1.DatabaseAdmin and google.longrunning.Operations
// on one server), so the official Go client works against it unchanged through
// endpoint options. The official Cloud Spanner emulator does not implement
// backups, hence this simulator.
//
// It holds a built-in fixture (see fixture.go), runs backups and copies through
// CREATING -> READY over Options.Duration of its clock (real time plus what
// Advance adds), enforces the documented rules server-side (backup ID format,
// expire-time bounds, one pending creation per database, READY sources,
// sources pinned while copied, encryption config), honours cancellation and
// the deletion of pending backups, expires backups at their expireTime, and
// injects faults on request. docs/providers/spanner.md says which of these
// behaviours are documented by Google and which are our guesses.
package spannersim

import (
	"fmt"
	"sync"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/spanner/admin/database/apiv1/databasepb"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/simulator/simkit"
)

// Options configures a simulator.
type Options struct {
	// Addr is the listen address; it must be on the loopback interface.
	// Default "127.0.0.1:0" (a free port).
	Addr string
	// Duration is how long a backup or copy runs on the simulator's clock. Default 2s.
	Duration time.Duration
	// Resources is the number of databases in the fixture's demo instance
	// (db-0 .. db-<Resources-1>). Default DefaultResources.
	Resources int
	// Token, when set, is the OAuth2 access token every call must present as
	// "authorization: Bearer <Token>"; other calls get UNAUTHENTICATED. Empty
	// accepts any caller (like SPANNER_EMULATOR_HOST mode). Tests use AccessToken.
	Token string
	// PageSize is the server's largest page of backups: ListBackups answers a
	// page_size of 0 or more than this with this many. Default 100; tests
	// set it small so callers' paging is exercised.
	PageSize int
}

// Server is a running simulator. It implements simkit.Simulator.
type Server struct {
	databasepb.UnimplementedDatabaseAdminServer
	longrunningpb.UnimplementedOperationsServer

	simkit.Base
	opts Options

	mu        sync.Mutex
	instances map[string]bool
	databases map[string]*database
	backups   map[string]*backupRecord // live backups by name
	// nextExpiry is when expire must next look at the backups: no backup
	// expires before it.
	nextExpiry time.Time
	ops        map[string]*operation // every operation ever started, by name
	opOrder    []*operation
	seq        int
	requests   int
}

// Start builds the fixture and serves on opts.Addr until Close.
func Start(opts Options) (*Server, error) {
	opts.Addr = simkit.Default(opts.Addr, simkit.DefaultAddr)
	opts.Duration = simkit.Default(opts.Duration, 2*time.Second)
	opts.Resources = simkit.Default(opts.Resources, DefaultResources)
	opts.PageSize = simkit.Default(opts.PageSize, 100)
	s := &Server{
		opts:    opts,
		backups: map[string]*backupRecord{},
		ops:     map[string]*operation{},
	}
	s.RandomFault = randomFault
	s.populate(time.Now())
	g := grpc.NewServer(grpc.UnaryInterceptor(s.intercept))
	databasepb.RegisterDatabaseAdminServer(g, s)
	longrunningpb.RegisterOperationsServer(g, s)
	if err := s.Serve(simkit.ServeGRPC(opts.Addr, g)); err != nil {
		return nil, fmt.Errorf("spanner simulator: %w", err)
	}
	return s, nil
}

// Endpoint (simkit's) is the host:port to hand to option.WithEndpoint (or
// SPANNER_EMULATOR_HOST); Close stops the server.

// Options returns the options the server runs with, defaults filled in.
func (s *Server) Options() Options { return s.opts }

// backupPageSize is the page ListBackups answers a page_size with: the
// server's largest page when the caller asks for none or for more.
func (s *Server) backupPageSize(asked int32) int32 {
	if asked <= 0 || int(asked) > s.opts.PageSize {
		return int32(s.opts.PageSize)
	}
	return asked
}

// now is the simulator's clock, truncated to Spanner's microsecond granularity.
// The caller holds s.mu.
func (s *Server) now() time.Time {
	return s.Clock.Now().UTC().Truncate(time.Microsecond)
}

// Now returns the simulator's clock (Advance moves it: running backups progress).
func (s *Server) Now() time.Time { return s.now() }

// Inventory lists the full names of every backup the simulator holds, in any state.
func (s *Server) Inventory() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(s.now())
	return simkit.SortedKeys(s.backups)
}

// CallsTo counts the RPCs of one method received (including refused ones),
// by its short name: "CreateBackup", "DeleteBackup", "CancelOperation", ...
func (s *Server) CallsTo(method string) int { return s.CallsOf(method) }

func (s *Server) queue(st *status.Status, method string) {
	s.Queue(simkit.Fault{Answer: st, Call: method})
}

// FailNextCode makes the next call fail with an arbitrary gRPC code and a
// message naming the fault (no detail but the request ID).
func (s *Server) FailNextCode(code codes.Code) { s.queue(injected(code), "") }

// FailNextCall makes the next call of one method (short name, e.g.
// "DeleteBackup") fail with code; calls of other methods pass.
func (s *Server) FailNextCall(method string, code codes.Code) {
	s.queue(injected(code), method)
}

// FailNextPendingCreation makes the next call fail as a second backup
// creation on a database is refused. withDetails: a terse message and the
// google.rpc.ErrorInfo the simulator sends (PendingCreationReason), so only
// the detail tells what happened; without: the message alone says it.
func (s *Server) FailNextPendingCreation(withDetails bool) {
	msg := "injected fault: there is already a pending backup creation for this database"
	if withDetails {
		msg = "Precondition check failed."
	}
	s.queue(pendingCreationStatus(withDetails, msg, DatabaseName(0)), "")
}

// FailBackup makes a backup still being made fail: its operation ends with
// code and message and the backup is removed, as Spanner keeps no failed
// backup. It reports false when no such backup is being made.
func (s *Server) FailBackup(name string, code codes.Code, message string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	b := s.backups[name]
	if b == nil || !b.creating(now) {
		return false
	}
	s.stop(b.op, now, &spb.Status{Code: int32(code), Message: message}, false)
	return true
}

// Backups made by somebody else (a person in the console, another tool),
// for tests that prove backupflow never adopts or deletes them. They are
// made as such a caller would: a whole-second expire_time, 30 days out, so
// they carry no backupflow marker (the driver's marker is the sub-second
// part; a whole second matches one owner in a million).
//
// foreignExpiry is the expire_time a foreign backup gets.
func foreignExpiry(now time.Time) time.Time {
	return now.Add(30 * 24 * time.Hour).Truncate(time.Second)
}

// AddForeign makes a backup of target beginning now, as somebody else would,
// and returns its name (as Inventory lists it). For a create target (a
// database) it is a backup of that database with the target's backup ID; for
// a copy target (a destination backup name) it is a copy into that name of
// the most recently created READY backup (the target does not name its
// source; AddForeignCopy does). It panics when the backup cannot be made
// (unknown database, name taken, nothing to copy): a test's mistake.
func (s *Server) AddForeign(target provider.Target) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.expire(now)
	if m := databaseRe.FindStringSubmatch(target.Resource); m != nil {
		db := s.databases[target.Resource]
		if db == nil || target.BackupName == "" {
			panic(fmt.Sprintf("spanner simulator: AddForeign: no database %q or no backup ID in %+v", target.Resource, target))
		}
		name := m[1] + "/backups/" + target.BackupName
		s.mustBeFree(name)
		b := &backupRecord{
			name: name, database: db.name, createTime: now, versionTime: now, expireTime: foreignExpiry(now),
			maxExpire: now.Add(maxExpiry), start: now, duration: s.opts.Duration,
			size: int64(db.index+1) * 64 << 20, enc: db.encryption(),
		}
		s.newOperation(b, false)
		return name
	}
	if backupRe.MatchString(target.Resource) {
		var src *backupRecord
		for _, b := range s.backups {
			if b.name != target.Resource && !b.creating(now) && (src == nil || b.createTime.After(src.createTime)) {
				src = b
			}
		}
		if src == nil {
			panic("spanner simulator: AddForeign: no READY backup to copy")
		}
		return s.addForeignCopy(target.Resource, src, now)
	}
	panic(fmt.Sprintf("spanner simulator: AddForeign: %q is neither a database nor a backup name", target.Resource))
}

// AddBackups makes n backups of fixture database database, as somebody else
// made them earlier: READY by now, named listed-<n> in its instance. It
// returns their names, as ListBackups shows them.
func (s *Server) AddBackups(database string, n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.expire(now)
	db := s.databases[database]
	if db == nil {
		panic(fmt.Sprintf("spanner simulator: AddBackups: no database %q", database))
	}
	start := now.Add(-s.opts.Duration)
	names := make([]string, 0, n)
	for range n {
		name := fmt.Sprintf("%s/backups/listed-%d", db.instance, len(s.opOrder)+1)
		s.mustBeFree(name)
		s.newOperation(&backupRecord{
			name: name, database: db.name, createTime: start, versionTime: start, expireTime: foreignExpiry(now),
			maxExpire: start.Add(maxExpiry), start: start, duration: s.opts.Duration,
			size: int64(db.index+1) * 64 << 20, enc: db.encryption(),
		}, false)
		names = append(names, name)
	}
	return names
}

// AddForeignCopy makes a copy of source (a READY backup) named name (a full
// backup name) beginning now, as somebody else would, and returns name.
func (s *Server) AddForeignCopy(name, source string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.expire(now)
	src := s.backups[source]
	if src == nil || src.creating(now) || !backupRe.MatchString(name) {
		panic(fmt.Sprintf("spanner simulator: AddForeignCopy: %q is no READY backup or %q no backup name", source, name))
	}
	return s.addForeignCopy(name, src, now)
}

// addForeignCopy registers the copy. Caller holds s.mu.
func (s *Server) addForeignCopy(name string, src *backupRecord, now time.Time) string {
	s.mustBeFree(name)
	b := &backupRecord{
		name: name, database: src.database, source: src.name, createTime: now, versionTime: src.versionTime,
		expireTime: foreignExpiry(now), maxExpire: src.createTime.Add(maxExpiry), start: now, duration: s.opts.Duration,
		size: src.size, enc: src.enc,
	}
	s.newOperation(b, true)
	return name
}

// mustBeFree panics when a live backup has the name. Caller holds s.mu.
func (s *Server) mustBeFree(name string) {
	if _, taken := s.backups[name]; taken {
		panic(fmt.Sprintf("spanner simulator: backup %s already exists", name))
	}
}
