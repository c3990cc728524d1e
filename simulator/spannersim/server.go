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
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"path"
	"sort"
	"sync"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/spanner/admin/database/apiv1/databasepb"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/backupflow/backupflow/provider"
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
}

// Server is a running simulator. It implements providertest.Backend.
type Server struct {
	databasepb.UnimplementedDatabaseAdminServer
	longrunningpb.UnimplementedOperationsServer

	opts Options
	lis  net.Listener
	grpc *grpc.Server

	mu        sync.Mutex
	offset    time.Duration
	instances map[string]bool
	databases map[string]*database
	backups   map[string]*backupRecord // live backups by name
	// nextExpiry is when expire must next look at the backups: no backup
	// expires before it.
	nextExpiry time.Time
	ops        map[string]*operation // every operation ever started, by name
	opOrder    []*operation
	seq        int
	calls      int
	perMethod  map[string]int // calls by method name (CreateBackup, ...)
	requests   int
	loseNext   bool
	dropNext   bool
	queued     []fault
	faultRate  float64
	rng        *rand.Rand
	faults     int
	latency    time.Duration
}

type faultKind int

const (
	faultUnavailable faultKind = iota // refuse with UNAVAILABLE before applying
	faultThrottled                    // refuse with RESOURCE_EXHAUSTED + RetryInfo
	faultLost                         // apply, then answer UNAVAILABLE
	faultCode                         // refuse with an arbitrary code
)

type fault struct {
	kind faultKind
	// method, when set, makes the fault wait for a call of that method
	// (short name, e.g. "DeleteBackup"); other calls pass it by.
	method     string
	refusal    *status.Status // faultCode: the answer
	retryAfter time.Duration
}

// Start builds the fixture and serves on opts.Addr until Close.
func Start(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Duration <= 0 {
		opts.Duration = 2 * time.Second
	}
	if opts.Resources <= 0 {
		opts.Resources = DefaultResources
	}
	host, _, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("spanner simulator: bad address %q: %w", opts.Addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("spanner simulator: %q is not a loopback address; the simulator listens on 127.0.0.1 only", opts.Addr)
	}
	lis, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("spanner simulator: listen: %w", err)
	}
	s := &Server{
		opts:      opts,
		lis:       lis,
		backups:   map[string]*backupRecord{},
		ops:       map[string]*operation{},
		perMethod: map[string]int{},
	}
	s.populate(time.Now())
	s.grpc = grpc.NewServer(grpc.UnaryInterceptor(s.intercept))
	databasepb.RegisterDatabaseAdminServer(s.grpc, s)
	longrunningpb.RegisterOperationsServer(s.grpc, s)
	go func() { _ = s.grpc.Serve(lis) }()
	return s, nil
}

// Endpoint is the host:port to hand to option.WithEndpoint (or SPANNER_EMULATOR_HOST).
func (s *Server) Endpoint() string { return s.lis.Addr().String() }

// Close stops the server.
func (s *Server) Close() { s.grpc.Stop() }

// Options returns the options the server runs with, defaults filled in.
func (s *Server) Options() Options { return s.opts }

// now is the simulator's clock, truncated to Spanner's microsecond granularity.
// The caller holds s.mu.
func (s *Server) now() time.Time {
	return time.Now().Add(s.offset).UTC().Truncate(time.Microsecond)
}

// Now returns the simulator's clock.
func (s *Server) Now() time.Time { s.mu.Lock(); defer s.mu.Unlock(); return s.now() }

// Advance moves the simulator's clock forward: running backups progress by d.
func (s *Server) Advance(d time.Duration) { s.mu.Lock(); s.offset += d; s.mu.Unlock() }

// Inventory lists the full names of every backup the simulator holds, in any state.
func (s *Server) Inventory() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(s.now())
	names := make([]string, 0, len(s.backups))
	for n := range s.backups {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Calls counts the RPCs received (including refused ones).
func (s *Server) Calls() int { s.mu.Lock(); defer s.mu.Unlock(); return s.calls }

// CallsTo counts the RPCs of one method received (including refused ones),
// by its short name: "CreateBackup", "DeleteBackup", "CancelOperation", ...
func (s *Server) CallsTo(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perMethod[method]
}

// Faults counts the faults injected so far (FailNext, LoseNextCreate, DropNextCreate and SetFaultRate).
func (s *Server) Faults() int { s.mu.Lock(); defer s.mu.Unlock(); return s.faults }

// LoseNextCreate makes the next CreateBackup or CopyBackup apply and then
// answer UNAVAILABLE, as when the connection drops after the commit.
func (s *Server) LoseNextCreate() { s.mu.Lock(); s.loseNext = true; s.mu.Unlock() }

// DropNextCreate makes the next CreateBackup or CopyBackup fail with
// UNAVAILABLE before it applies, as when the connection drops while sending.
func (s *Server) DropNextCreate() { s.mu.Lock(); s.dropNext = true; s.mu.Unlock() }

// FailNext makes the next n calls fail before being applied: Unavailable ->
// UNAVAILABLE; Throttled -> RESOURCE_EXHAUSTED with a google.rpc.RetryInfo
// detail of retryAfter (when non-zero); Internal -> INTERNAL; Permission ->
// PERMISSION_DENIED; Busy -> FAILED_PRECONDITION about a pending creation
// (message only, as FailNextPendingCreation(false)); anything else UNAVAILABLE.
func (s *Server) FailNext(class provider.Class, n int, retryAfter time.Duration) {
	f := fault{kind: faultUnavailable}
	switch class {
	case provider.Throttled:
		f = fault{kind: faultThrottled, retryAfter: retryAfter}
	case provider.Internal:
		f = injected(codes.Internal)
	case provider.Permission:
		f = injected(codes.PermissionDenied)
	case provider.Busy:
		f = fault{kind: faultCode, refusal: pendingCreationStatus(false, "injected fault: another backup creation is pending on this database", "")}
	}
	for range n {
		s.queue(f)
	}
}

func injected(code codes.Code) fault {
	return fault{kind: faultCode, refusal: status.Newf(code, "injected %s fault", code)}
}

func (s *Server) queue(f fault) { s.mu.Lock(); s.queued = append(s.queued, f); s.mu.Unlock() }

// FailNextCode makes the next call fail with an arbitrary gRPC code and a
// message naming the fault (no detail but the request ID).
func (s *Server) FailNextCode(code codes.Code) { s.queue(injected(code)) }

// FailNextCall makes the next call of one method (short name, e.g.
// "DeleteBackup") fail with code; calls of other methods pass.
func (s *Server) FailNextCall(method string, code codes.Code) {
	f := injected(code)
	f.method = method
	s.queue(f)
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
	s.queue(fault{kind: faultCode, refusal: pendingCreationStatus(withDetails, msg, DatabaseName(0))})
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

// SetLatency delays every call by d before it is handled.
func (s *Server) SetLatency(d time.Duration) { s.mu.Lock(); s.latency = d; s.mu.Unlock() }

// SetFaultRate injects a random retryable fault into each call with
// probability p: UNAVAILABLE, RESOURCE_EXHAUSTED with a RetryInfo hint of
// 1-5s, or a lost response (the call is applied, then UNAVAILABLE is
// returned). The sequence is the same for the same stream number. p = 0 turns it off.
func (s *Server) SetFaultRate(p float64, stream int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faultRate = p
	s.rng = rand.New(rand.NewPCG(uint64(stream), 0x5eed5a1e))
}

// isCreate reports whether a method starts a backup (for LoseNextCreate and DropNextCreate).
func isCreate(method string) bool {
	return method == databasepb.DatabaseAdmin_CreateBackup_FullMethodName ||
		method == databasepb.DatabaseAdmin_CopyBackup_FullMethodName
}

// intercept counts the call, checks the bearer token, serves injected faults
// and attaches a google.rpc.RequestInfo (request ID) to every error.
func (s *Server) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	s.mu.Lock()
	s.calls++
	s.perMethod[path.Base(info.FullMethod)]++
	s.requests++
	requestID := fmt.Sprintf("sim-req-%06d", s.requests)
	latency := s.latency
	var f *fault
	authErr := s.checkAuth(ctx)
	if authErr == nil {
		switch q := s.takeQueued(path.Base(info.FullMethod)); {
		case q != nil:
			f = q
		case s.dropNext && isCreate(info.FullMethod):
			s.dropNext = false
			f = &fault{kind: faultUnavailable}
		case s.loseNext && isCreate(info.FullMethod):
			s.loseNext = false
			f = &fault{kind: faultLost}
		case s.faultRate > 0 && s.rng.Float64() < s.faultRate:
			kind := faultKind(s.rng.IntN(3))
			f = &fault{kind: kind, retryAfter: time.Duration(1+s.rng.IntN(5)) * time.Second}
		}
		if f != nil {
			s.faults++
		}
	}
	s.mu.Unlock()

	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, withRequestID(status.FromContextError(ctx.Err()), requestID)
		}
	}
	if authErr != nil {
		return nil, withRequestID(authErr, requestID)
	}
	if f != nil {
		switch f.kind {
		case faultUnavailable:
			return nil, withRequestID(status.New(codes.Unavailable, "The service is currently unavailable (injected fault)."), requestID)
		case faultThrottled:
			st := status.New(codes.ResourceExhausted, "Quota exceeded for quota metric 'Administrative requests' (injected fault).")
			if f.retryAfter > 0 {
				if d, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(f.retryAfter)}); err == nil {
					st = d
				}
			}
			return nil, withRequestID(st, requestID)
		case faultCode:
			return nil, withRequestID(f.refusal, requestID)
		}
	}
	resp, err := handler(ctx, req)
	if f != nil && f.kind == faultLost {
		return nil, withRequestID(status.New(codes.Unavailable, "Connection reset by peer after the request was applied (injected fault)."), requestID)
	}
	if err != nil {
		st, _ := status.FromError(err)
		return nil, withRequestID(st, requestID)
	}
	return resp, nil
}

// takeQueued removes and returns the first queued fault for method, if any. Caller holds s.mu.
func (s *Server) takeQueued(method string) *fault {
	for i, q := range s.queued {
		if q.method == "" || q.method == method {
			s.queued = append(s.queued[:i:i], s.queued[i+1:]...)
			return &q
		}
	}
	return nil
}

func withRequestID(st *status.Status, id string) error {
	if d, err := st.WithDetails(&errdetails.RequestInfo{RequestId: id}); err == nil {
		st = d
	}
	return st.Err()
}

// checkAuth verifies the bearer token when the server expects one. Caller holds s.mu.
func (s *Server) checkAuth(ctx context.Context) *status.Status {
	if s.opts.Token == "" {
		return nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		if v == "Bearer "+s.opts.Token {
			return nil
		}
	}
	return status.New(codes.Unauthenticated, "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
}
