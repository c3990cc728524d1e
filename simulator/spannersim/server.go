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
	"path"
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

// FailNext makes the next n calls fail before being applied: Unavailable ->
// UNAVAILABLE; Throttled -> RESOURCE_EXHAUSTED with a google.rpc.RetryInfo
// detail of retryAfter (when non-zero); Internal -> INTERNAL; Permission ->
// PERMISSION_DENIED; Busy -> FAILED_PRECONDITION about a pending creation
// (message only, as FailNextPendingCreation(false)); anything else UNAVAILABLE.
//
// LoseNextCreate makes the next CreateBackup or CopyBackup apply and then
// answer UNAVAILABLE, as when the connection drops after the commit;
// DropNextCreate makes it fail with UNAVAILABLE before it applies, as when
// the connection drops while sending. Both are simkit's, as are FailNext
// and SetFaultRate; refusal says how their faults are answered.
func refusal(f simkit.Fault) *status.Status {
	if st, ok := f.Answer.(*status.Status); ok {
		return st
	}
	switch f.Class {
	case provider.Throttled:
		st := status.New(codes.ResourceExhausted, "Quota exceeded for quota metric 'Administrative requests' (injected fault).")
		if f.RetryAfter > 0 {
			if d, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(f.RetryAfter)}); err == nil {
				st = d
			}
		}
		return st
	case provider.Internal:
		return injected(codes.Internal)
	case provider.Permission:
		return injected(codes.PermissionDenied)
	case provider.Busy:
		return pendingCreationStatus(false, "injected fault: another backup creation is pending on this database", "")
	}
	return status.New(codes.Unavailable, "The service is currently unavailable (injected fault).")
}

func injected(code codes.Code) *status.Status {
	return status.Newf(code, "injected %s fault", code)
}

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

// randomFault is a fault SetFaultRate injects: UNAVAILABLE,
// RESOURCE_EXHAUSTED with a RetryInfo hint of 1-5s, or a lost response (the
// call is applied, then UNAVAILABLE is returned).
func randomFault(r *rand.Rand) simkit.Fault {
	kind, hint := r.IntN(3), time.Duration(1+r.IntN(5))*time.Second
	switch kind {
	case 0:
		return simkit.Fault{Class: provider.Unavailable}
	case 1:
		return simkit.Fault{Class: provider.Throttled, RetryAfter: hint}
	}
	return simkit.Fault{Kind: simkit.Lose}
}

// isCreate reports whether a method starts a backup (for LoseNextCreate and DropNextCreate).
func isCreate(method string) bool {
	return method == databasepb.DatabaseAdmin_CreateBackup_FullMethodName ||
		method == databasepb.DatabaseAdmin_CopyBackup_FullMethodName
}

// intercept counts the call, checks the bearer token, serves injected faults
// and attaches a google.rpc.RequestInfo (request ID) to every error.
func (s *Server) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	method := path.Base(info.FullMethod)
	s.Count(method)
	s.mu.Lock()
	s.requests++
	requestID := fmt.Sprintf("sim-req-%06d", s.requests)
	authErr := s.checkAuth(ctx)
	s.mu.Unlock()
	var f simkit.Fault
	faulted := false
	if authErr == nil {
		f, faulted = s.Next(method, isCreate(info.FullMethod))
	}

	if err := s.Delay(ctx); err != nil {
		return nil, withRequestID(status.FromContextError(err), requestID)
	}
	if authErr != nil {
		return nil, withRequestID(authErr, requestID)
	}
	if faulted {
		switch f.Kind {
		case simkit.Drop:
			return nil, withRequestID(status.New(codes.Unavailable, "The service is currently unavailable (injected fault)."), requestID)
		case simkit.Refuse:
			return nil, withRequestID(refusal(f), requestID)
		}
	}
	resp, err := handler(ctx, req)
	if faulted && f.Kind == simkit.Lose {
		return nil, withRequestID(status.New(codes.Unavailable, "Connection reset by peer after the request was applied (injected fault)."), requestID)
	}
	if err != nil {
		st, _ := status.FromError(err)
		return nil, withRequestID(st, requestID)
	}
	return resp, nil
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
