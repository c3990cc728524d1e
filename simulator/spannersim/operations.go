package spannersim

import (
	"context"
	"fmt"
	"strings"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// The admin client's GetOperation, CancelOperation and ListOperations (and
// the LRO handles' Poll) call the google.longrunning.Operations service on
// the same connection; these serve them.

// lookupOperation finds an operation by name. Caller holds s.mu.
func (s *Server) lookupOperation(name string) (*operation, error) {
	op := s.ops[name]
	if op == nil {
		if m := backupRe.FindStringSubmatch(strings.SplitN(name, "/operations/", 2)[0]); m != nil {
			if err := checkProject(m[2], name, "spanner.backupOperations.get"); err != nil {
				return nil, err
			}
		}
		return nil, status.Errorf(codes.NotFound, "Operation not found: %s", name)
	}
	return op, nil
}

// GetOperation returns an operation, finished or not.
func (s *Server) GetOperation(_ context.Context, req *longrunningpb.GetOperationRequest) (*longrunningpb.Operation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	op, err := s.lookupOperation(req.GetName())
	if err != nil {
		return nil, err
	}
	return s.opProto(op, s.now()), nil
}

// CancelOperation stops a running backup or copy: the operation ends with
// CANCELLED and its backup is deleted (a copy also releases its source). On a
// finished operation it is a no-op: the backup stays and the caller deletes it.
func (s *Server) CancelOperation(_ context.Context, req *longrunningpb.CancelOperationRequest) (*emptypb.Empty, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	op, err := s.lookupOperation(req.GetName())
	if err != nil {
		return nil, err
	}
	if op.done(now) {
		return &emptypb.Empty{}, nil
	}
	s.stop(op, now, &spb.Status{Code: int32(codes.Canceled),
		Message: fmt.Sprintf("Backup %s was cancelled at the caller's request; the backup was deleted.", op.b.name)}, true)
	return &emptypb.Empty{}, nil
}

// ListOperations lists the operations under a collection name such as
// projects/<p>/instances/<i>/backups/<b>/operations, newest first.
func (s *Server) ListOperations(_ context.Context, req *longrunningpb.ListOperationsRequest) (*longrunningpb.ListOperationsResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.GetName() == "" {
		return nil, invalid("name is required.")
	}
	prefix := strings.TrimSuffix(req.GetName(), "/") + "/"
	all, err := s.listOperations(prefix, req.GetFilter(), false, s.now())
	if err != nil {
		return nil, err
	}
	from, to, next, err := page(len(all), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &longrunningpb.ListOperationsResponse{Operations: all[from:to], NextPageToken: next}, nil
}
