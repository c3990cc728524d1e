package spannersim

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/spanner/admin/database/apiv1/databasepb"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/backupflow/backupflow/simulator/simkit"
)

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

var (
	instanceRe = regexp.MustCompile(`^projects/([^/]+)/instances/([^/]+)$`)
	databaseRe = regexp.MustCompile(`^(projects/([^/]+)/instances/[^/]+)/databases/([^/]+)$`)
	backupRe   = regexp.MustCompile(`^(projects/([^/]+)/instances/[^/]+)/backups/([^/]+)$`)
	backupIDRe = regexp.MustCompile(`^[a-z][a-z0-9_\-]*[a-z0-9]$`)
	kmsKeyRe   = regexp.MustCompile(`^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$`)
)

// checkProject refuses resources outside the fixture's project like IAM does.
func checkProject(project, resource, permission string) error {
	if project != Project {
		return status.Errorf(codes.PermissionDenied, "Caller is missing IAM permission %s on resource %s.", permission, resource)
	}
	return nil
}

// checkInstance validates an instance name and that it exists. Caller holds s.mu.
func (s *Server) checkInstance(parent, permission string) error {
	m := instanceRe.FindStringSubmatch(parent)
	if m == nil {
		return invalid("Invalid parent %q: expected projects/<project>/instances/<instance>.", parent)
	}
	if err := checkProject(m[1], parent, permission); err != nil {
		return err
	}
	if !s.instances[parent] {
		return status.Errorf(codes.NotFound, "Instance not found: %s", parent)
	}
	return nil
}

func checkBackupID(id string) error {
	if len(id) < 2 || len(id) > 60 || !backupIDRe.MatchString(id) {
		return invalid("Invalid backup_id %q: it must be 2-60 characters matching [a-z][a-z0-9_\\-]*[a-z0-9].", id)
	}
	return nil
}

func checkExpiry(expire, base time.Time, what string) error {
	if expire.Before(base.Add(minExpiry)) || expire.After(base.Add(maxExpiry)) {
		return invalid("Invalid expire_time %s: it must be at least 6 hours and at most 366 days from %s (%s).",
			expire.Format(time.RFC3339Nano), what, base.Format(time.RFC3339Nano))
	}
	return nil
}

func (db *database) encryption() []*databasepb.EncryptionInfo {
	if db.kmsKey != "" {
		return []*databasepb.EncryptionInfo{{EncryptionType: databasepb.EncryptionInfo_CUSTOMER_MANAGED_ENCRYPTION, KmsKeyVersion: db.kmsKey + "/cryptoKeyVersions/1"}}
	}
	return googleDefault()
}

func googleDefault() []*databasepb.EncryptionInfo {
	return []*databasepb.EncryptionInfo{{EncryptionType: databasepb.EncryptionInfo_GOOGLE_DEFAULT_ENCRYPTION}}
}

// kmsInfos validates the keys of a customer-managed encryption config.
func kmsInfos(kmsKeyName string, kmsKeyNames []string, cmek bool) ([]*databasepb.EncryptionInfo, error) {
	keys := kmsKeyNames
	if kmsKeyName != "" {
		if len(keys) > 0 {
			return nil, invalid("Only one of kms_key_name and kms_key_names may be set.")
		}
		keys = []string{kmsKeyName}
	}
	if !cmek {
		if len(keys) > 0 {
			return nil, invalid("KMS keys may only be set when encryption_type is CUSTOMER_MANAGED_ENCRYPTION.")
		}
		return nil, nil
	}
	if len(keys) == 0 {
		return nil, invalid("kms_key_name or kms_key_names is required when encryption_type is CUSTOMER_MANAGED_ENCRYPTION.")
	}
	infos := make([]*databasepb.EncryptionInfo, 0, len(keys))
	for _, k := range keys {
		if !kmsKeyRe.MatchString(k) {
			return nil, invalid("Invalid KMS key name %q: expected projects/<project>/locations/<location>/keyRings/<key_ring>/cryptoKeys/<kms_key_name>.", k)
		}
		infos = append(infos, &databasepb.EncryptionInfo{EncryptionType: databasepb.EncryptionInfo_CUSTOMER_MANAGED_ENCRYPTION, KmsKeyVersion: k + "/cryptoKeyVersions/1"})
	}
	return infos, nil
}

func createEncryption(cfg *databasepb.CreateBackupEncryptionConfig, db *database) ([]*databasepb.EncryptionInfo, error) {
	if cfg == nil {
		return db.encryption(), nil
	}
	t := cfg.GetEncryptionType()
	cmek := t == databasepb.CreateBackupEncryptionConfig_CUSTOMER_MANAGED_ENCRYPTION
	infos, err := kmsInfos(cfg.GetKmsKeyName(), cfg.GetKmsKeyNames(), cmek)
	if err != nil {
		return nil, err
	}
	switch t {
	case databasepb.CreateBackupEncryptionConfig_USE_DATABASE_ENCRYPTION:
		return db.encryption(), nil
	case databasepb.CreateBackupEncryptionConfig_GOOGLE_DEFAULT_ENCRYPTION:
		return googleDefault(), nil
	case databasepb.CreateBackupEncryptionConfig_CUSTOMER_MANAGED_ENCRYPTION:
		return infos, nil
	case databasepb.CreateBackupEncryptionConfig_ENCRYPTION_TYPE_UNSPECIFIED:
		return nil, invalid("encryption_config.encryption_type is required.")
	}
	return nil, invalid("Unknown encryption_config.encryption_type %d.", t)
}

func copyEncryption(cfg *databasepb.CopyBackupEncryptionConfig, src *backupRecord) ([]*databasepb.EncryptionInfo, error) {
	if cfg == nil {
		return src.enc, nil
	}
	t := cfg.GetEncryptionType()
	cmek := t == databasepb.CopyBackupEncryptionConfig_CUSTOMER_MANAGED_ENCRYPTION
	infos, err := kmsInfos(cfg.GetKmsKeyName(), cfg.GetKmsKeyNames(), cmek)
	if err != nil {
		return nil, err
	}
	switch t {
	case databasepb.CopyBackupEncryptionConfig_USE_CONFIG_DEFAULT_OR_BACKUP_ENCRYPTION:
		return src.enc, nil
	case databasepb.CopyBackupEncryptionConfig_GOOGLE_DEFAULT_ENCRYPTION:
		return googleDefault(), nil
	case databasepb.CopyBackupEncryptionConfig_CUSTOMER_MANAGED_ENCRYPTION:
		return infos, nil
	case databasepb.CopyBackupEncryptionConfig_ENCRYPTION_TYPE_UNSPECIFIED:
		return nil, invalid("encryption_config.encryption_type is required.")
	}
	return nil, invalid("Unknown encryption_config.encryption_type %d.", t)
}

// locked runs a handler's body under s.mu at the simulator's time, once
// the backups past their expire_time are gone (the provider deletes them
// whichever call comes next). It is the shape every handler shares.
func locked[T any](s *Server, body func(now time.Time) (T, error)) (T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.expire(now)
	return body(now)
}

// onBackup runs body on the named live backup (see lookupBackup), under locked.
func onBackup[T any](s *Server, name, permission string, body func(b *backupRecord, now time.Time) (T, error)) (T, error) {
	return locked(s, func(now time.Time) (T, error) {
		b, err := s.lookupBackup(name, permission)
		if err != nil {
			var zero T
			return zero, err
		}
		return body(b, now)
	})
}

// onOperation runs body on the named operation (see lookupOperation), under locked.
func onOperation[T any](s *Server, name string, body func(op *operation, now time.Time) (T, error)) (T, error) {
	return locked(s, func(now time.Time) (T, error) {
		op, err := s.lookupOperation(name)
		if err != nil {
			var zero T
			return zero, err
		}
		return body(op, now)
	})
}

// newBackupName checks the parent instance and the backup ID of a create or
// copy and returns the new backup's name. Caller holds s.mu.
func (s *Server) newBackupName(parent, backupID string) (string, error) {
	if err := s.checkInstance(parent, "spanner.backups.create"); err != nil {
		return "", err
	}
	if err := checkBackupID(backupID); err != nil {
		return "", err
	}
	return parent + "/backups/" + backupID, nil
}

// checkNameFree refuses a backup name already taken. Caller holds s.mu.
func (s *Server) checkNameFree(name string) error {
	if _, exists := s.backups[name]; exists {
		return status.Errorf(codes.AlreadyExists, "Backup already exists: %s", name)
	}
	return nil
}

// CreateBackup starts a backup of a database in the parent instance.
//
// Checks, in order: request format (INVALID_ARGUMENT), project (PERMISSION_DENIED),
// instance and database (NOT_FOUND), expire/version time and encryption
// (INVALID_ARGUMENT), database READY (FAILED_PRECONDITION), backup name free
// (ALREADY_EXISTS), then one pending creation per database (FAILED_PRECONDITION).
func (s *Server) CreateBackup(_ context.Context, req *databasepb.CreateBackupRequest) (*longrunningpb.Operation, error) {
	return locked(s, func(now time.Time) (*longrunningpb.Operation, error) { return s.createBackup(req, now) })
}

func (s *Server) createBackup(req *databasepb.CreateBackupRequest, now time.Time) (*longrunningpb.Operation, error) {
	name, err := s.newBackupName(req.GetParent(), req.GetBackupId())
	if err != nil {
		return nil, err
	}
	in := req.GetBackup()
	if in == nil {
		return nil, invalid("backup is required.")
	}
	m := databaseRe.FindStringSubmatch(in.GetDatabase())
	if m == nil {
		return nil, invalid("Invalid backup.database %q: expected projects/<project>/instances/<instance>/databases/<database>.", in.GetDatabase())
	}
	if m[1] != req.GetParent() {
		return nil, invalid("Database %s must be in the same instance as the backup (%s).", in.GetDatabase(), req.GetParent())
	}
	if in.GetExpireTime() == nil {
		return nil, invalid("backup.expire_time is required.")
	}
	expire := storedTime(in.GetExpireTime())
	if err := checkExpiry(expire, now, "the time the request is processed"); err != nil {
		return nil, err
	}
	db := s.databases[in.GetDatabase()]
	if db == nil {
		return nil, status.Errorf(codes.NotFound, "Database not found: %s", in.GetDatabase())
	}
	version := now
	if in.GetVersionTime() != nil {
		version = in.GetVersionTime().AsTime()
		if version.After(now) {
			return nil, invalid("Invalid version_time %s: it is in the future.", version.Format(time.RFC3339Nano))
		}
		if e := db.earliestVersion(now); version.Before(e) {
			return nil, invalid("Invalid version_time %s: it is older than the earliest version time %s of database %s (version_retention_period %s).",
				version.Format(time.RFC3339Nano), e.Format(time.RFC3339Nano), db.name, db.retention)
		}
	}
	enc, err := createEncryption(req.GetEncryptionConfig(), db)
	if err != nil {
		return nil, err
	}
	if db.state != databasepb.Database_READY {
		return nil, status.Errorf(codes.FailedPrecondition, "Database %s is not ready (state %s); a backup can be created once it is READY.", db.name, db.state)
	}
	if err := s.checkNameFree(name); err != nil {
		return nil, err
	}
	for _, b := range s.backups {
		if b.source == "" && b.database == db.name && b.creating(now) {
			return nil, pendingCreation(fmt.Sprintf(
				"Cannot create backup %s: there is already a pending backup creation (%s) for database %s; only one pending backup creation per database is allowed.",
				name, b.name, db.name), db.name)
		}
	}
	b := &backupRecord{
		name: name, database: db.name, createTime: now, versionTime: version, expireTime: expire,
		maxExpire: now.Add(maxExpiry), start: now, duration: s.opts.Duration,
		size: int64(db.index+1) * 64 << 20, enc: enc,
	}
	return s.opProto(s.newOperation(b, false), now), nil
}

// CopyBackup copies a READY backup into the parent instance.
func (s *Server) CopyBackup(_ context.Context, req *databasepb.CopyBackupRequest) (*longrunningpb.Operation, error) {
	return locked(s, func(now time.Time) (*longrunningpb.Operation, error) { return s.copyBackup(req, now) })
}

func (s *Server) copyBackup(req *databasepb.CopyBackupRequest, now time.Time) (*longrunningpb.Operation, error) {
	name, err := s.newBackupName(req.GetParent(), req.GetBackupId())
	if err != nil {
		return nil, err
	}
	m := backupRe.FindStringSubmatch(req.GetSourceBackup())
	if m == nil {
		return nil, invalid("Invalid source_backup %q: expected projects/<project>/instances/<instance>/backups/<backup>.", req.GetSourceBackup())
	}
	if err := checkProject(m[2], req.GetSourceBackup(), "spanner.backups.copy"); err != nil {
		return nil, err
	}
	if req.GetExpireTime() == nil {
		return nil, invalid("expire_time is required.")
	}
	src := s.backups[req.GetSourceBackup()]
	if src == nil {
		return nil, status.Errorf(codes.NotFound, "Backup not found: %s", req.GetSourceBackup())
	}
	if src.creating(now) {
		return nil, status.Errorf(codes.FailedPrecondition,
			"Source backup %s is not ready for copying: it is still being created (state CREATING).", src.name)
	}
	expire := storedTime(req.GetExpireTime())
	if err := checkExpiry(expire, src.createTime, "the create_time of the source backup"); err != nil {
		return nil, err
	}
	enc, err := copyEncryption(req.GetEncryptionConfig(), src)
	if err != nil {
		return nil, err
	}
	if err := s.checkNameFree(name); err != nil {
		return nil, err
	}
	b := &backupRecord{
		name: name, database: src.database, source: src.name, createTime: now, versionTime: src.versionTime,
		expireTime: expire, maxExpire: src.createTime.Add(maxExpiry), start: now, duration: s.opts.Duration,
		size: src.size, enc: enc,
	}
	return s.opProto(s.newOperation(b, true), now), nil
}

// lookupBackup validates a backup name and returns the live backup. Caller holds s.mu.
func (s *Server) lookupBackup(name, permission string) (*backupRecord, error) {
	m := backupRe.FindStringSubmatch(name)
	if m == nil {
		return nil, invalid("Invalid backup name %q: expected projects/<project>/instances/<instance>/backups/<backup>.", name)
	}
	if err := checkProject(m[2], name, permission); err != nil {
		return nil, err
	}
	b := s.backups[name]
	if b == nil {
		return nil, status.Errorf(codes.NotFound, "Backup not found: %s", name)
	}
	return b, nil
}

// GetBackup returns a backup.
func (s *Server) GetBackup(_ context.Context, req *databasepb.GetBackupRequest) (*databasepb.Backup, error) {
	return onBackup(s, req.GetName(), "spanner.backups.get", func(b *backupRecord, now time.Time) (*databasepb.Backup, error) {
		return s.backupProto(b, now), nil
	})
}

// DeleteBackup deletes a pending or completed backup, as the SDK documents.
// Deleting a backup still being made ends its create (or copy) operation
// CANCELLED. A backup that is the source of a running copy cannot be deleted.
func (s *Server) DeleteBackup(_ context.Context, req *databasepb.DeleteBackupRequest) (*emptypb.Empty, error) {
	out, err := onBackup(s, req.GetName(), "spanner.backups.delete", s.deleteBackup)
	s.CountDelete(req.GetName(), err == nil)
	return out, err
}

func (s *Server) deleteBackup(b *backupRecord, now time.Time) (*emptypb.Empty, error) {
	if copies := s.copiesOf(b, now); len(copies) > 0 {
		return nil, status.Errorf(codes.FailedPrecondition,
			"Backup %s cannot be deleted while it is being copied (referencing backups: %s).", b.name, strings.Join(copies, ", "))
	}
	if b.creating(now) {
		// The operation ends like a cancelled one (our guess, see
		// docs/providers/spanner.md), without a cancel_time.
		s.stop(b.op, now, &spb.Status{Code: int32(codes.Canceled),
			Message: fmt.Sprintf("Backup %s was deleted while it was being created.", b.name)}, false)
		return &emptypb.Empty{}, nil
	}
	delete(s.backups, b.name)
	return &emptypb.Empty{}, nil
}

var backupFilterFields = map[string]bool{
	"name": true, "database": true, "state": true, "create_time": true, "expire_time": true,
	"version_time": true, "size_bytes": true,
}

// ListBackups lists the backups of an instance, ordered by name.
func (s *Server) ListBackups(_ context.Context, req *databasepb.ListBackupsRequest) (*databasepb.ListBackupsResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.expire(now)
	if err := s.checkInstance(req.GetParent(), "spanner.backups.list"); err != nil {
		return nil, err
	}
	f, err := parseFilter(req.GetFilter(), backupFilterFields)
	if err != nil {
		return nil, invalid("%v", err)
	}
	var all []*databasepb.Backup
	for _, b := range s.backups {
		if !strings.HasPrefix(b.name, req.GetParent()+"/backups/") {
			continue
		}
		p := s.backupProto(b, now)
		fields := map[string]string{
			"name": p.Name, "database": p.Database, "state": p.State.String(),
			"create_time": rfc(p.CreateTime), "expire_time": rfc(p.ExpireTime), "version_time": rfc(p.VersionTime),
			"size_bytes": strconv.FormatInt(p.SizeBytes, 10),
		}
		if f.match(fields) {
			all = append(all, p)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	from, to, next, err := page(len(all), s.backupPageSize(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &databasepb.ListBackupsResponse{Backups: all[from:to], NextPageToken: next}, nil
}

var operationFilterFields = map[string]bool{
	"name": true, "done": true, "error": true, "metadata.@type": true, "metadata.name": true,
	"metadata.database": true, "metadata.source_backup": true, "metadata.progress.start_time": true,
	"metadata.progress.end_time": true, "metadata.progress.progress_percent": true,
	"metadata.cancel_time": true, "response.@type": true, "response.name": true,
	"response.database": true, "response.state": true,
}

// listOperations returns the operations whose name starts with prefix and
// that match filter, most recently started first. Caller holds s.mu.
func (s *Server) listOperations(prefix, filterExpr string, recentOnly bool, now time.Time) ([]*longrunningpb.Operation, error) {
	f, err := parseFilter(filterExpr, operationFilterFields)
	if err != nil {
		return nil, invalid("%v", err)
	}
	var out []*longrunningpb.Operation
	for i := len(s.opOrder) - 1; i >= 0; i-- { // newest first
		op := s.opOrder[i]
		if !strings.HasPrefix(op.name, prefix) {
			continue
		}
		if recentOnly && op.done(now) && now.Sub(s.opEnd(op)) > opRetention {
			continue
		}
		p := s.opProto(op, now)
		if f.match(operationFields(op, p)) {
			out = append(out, p)
		}
	}
	return out, nil
}

func rfc(t *timestamppb.Timestamp) string {
	if t == nil {
		return ""
	}
	return t.AsTime().Format(time.RFC3339Nano)
}

func operationFields(op *operation, p *longrunningpb.Operation) map[string]string {
	m := map[string]string{
		"name": p.Name, "done": strconv.FormatBool(p.Done), "metadata.@type": p.Metadata.GetTypeUrl(),
	}
	var prog *databasepb.OperationProgress
	var cancel *timestamppb.Timestamp
	if op.copy {
		var md databasepb.CopyBackupMetadata
		_ = p.Metadata.UnmarshalTo(&md)
		m["metadata.name"], m["metadata.source_backup"] = md.Name, md.SourceBackup
		prog, cancel = md.Progress, md.CancelTime
	} else {
		var md databasepb.CreateBackupMetadata
		_ = p.Metadata.UnmarshalTo(&md)
		m["metadata.name"], m["metadata.database"] = md.Name, md.Database
		prog, cancel = md.Progress, md.CancelTime
	}
	m["metadata.progress.start_time"] = rfc(prog.GetStartTime())
	if prog.GetEndTime() != nil {
		m["metadata.progress.end_time"] = rfc(prog.GetEndTime())
	}
	m["metadata.progress.progress_percent"] = strconv.Itoa(int(prog.GetProgressPercent()))
	if cancel != nil {
		m["metadata.cancel_time"] = rfc(cancel)
	}
	switch r := p.Result.(type) {
	case *longrunningpb.Operation_Error:
		m["error"] = codes.Code(r.Error.GetCode()).String() + ": " + r.Error.GetMessage()
	case *longrunningpb.Operation_Response:
		m["response.@type"] = r.Response.GetTypeUrl()
		var b databasepb.Backup
		if r.Response.UnmarshalTo(&b) == nil {
			m["response.name"], m["response.database"], m["response.state"] = b.Name, b.Database, b.State.String()
		}
	}
	return m
}

// ListBackupOperations lists the backup operations of an instance: pending
// ones and those that ended within the last 7 days, newest first.
func (s *Server) ListBackupOperations(_ context.Context, req *databasepb.ListBackupOperationsRequest) (*databasepb.ListBackupOperationsResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if err := s.checkInstance(req.GetParent(), "spanner.backupOperations.list"); err != nil {
		return nil, err
	}
	all, err := s.listOperations(req.GetParent()+"/backups/", req.GetFilter(), true, now)
	if err != nil {
		return nil, err
	}
	from, to, next, err := page(len(all), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &databasepb.ListBackupOperationsResponse{Operations: all[from:to], NextPageToken: next}, nil
}

// GetDatabase returns a fixture database.
func (s *Server) GetDatabase(_ context.Context, req *databasepb.GetDatabaseRequest) (*databasepb.Database, error) {
	return locked(s, func(now time.Time) (*databasepb.Database, error) { return s.getDatabase(req, now) })
}

func (s *Server) getDatabase(req *databasepb.GetDatabaseRequest, now time.Time) (*databasepb.Database, error) {
	m := databaseRe.FindStringSubmatch(req.GetName())
	if m == nil {
		return nil, invalid("Invalid database name %q: expected projects/<project>/instances/<instance>/databases/<database>.", req.GetName())
	}
	if err := checkProject(m[2], req.GetName(), "spanner.databases.get"); err != nil {
		return nil, err
	}
	db := s.databases[req.GetName()]
	if db == nil {
		return nil, status.Errorf(codes.NotFound, "Database not found: %s", req.GetName())
	}
	out := &databasepb.Database{
		Name:                   db.name,
		State:                  db.state,
		CreateTime:             ts(db.createTime),
		VersionRetentionPeriod: formatRetention(db.retention),
		EarliestVersionTime:    ts(db.earliestVersion(now)),
		EncryptionInfo:         db.encryption(),
		DatabaseDialect:        databasepb.DatabaseDialect_GOOGLE_STANDARD_SQL,
	}
	if db.kmsKey != "" {
		out.EncryptionConfig = &databasepb.EncryptionConfig{KmsKeyName: db.kmsKey}
	}
	return out, nil
}

func formatRetention(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return fmt.Sprintf("%dm", d/time.Minute)
}

// page slices n results by page size (default 100) and an offset token.
func page(n int, size int32, token string) (from, to int, next string, err error) {
	if size <= 0 {
		size = 100
	}
	if token != "" {
		from, err = strconv.Atoi(token)
		if err != nil || from < 0 || from > n {
			return 0, 0, "", invalid("Invalid page_token %q.", token)
		}
	}
	to = min(from+int(size), n)
	if to < n {
		next = strconv.Itoa(to)
	}
	return from, to, next, nil
}

// backupProto renders a backup as the API returns it at now. Caller holds s.mu.
func (s *Server) backupProto(b *backupRecord, now time.Time) *databasepb.Backup {
	out := &databasepb.Backup{
		Name:                  b.name,
		Database:              b.database,
		State:                 databasepb.Backup_CREATING,
		CreateTime:            ts(b.createTime),
		VersionTime:           ts(b.versionTime),
		ExpireTime:            ts(b.expireTime),
		MaxExpireTime:         ts(b.maxExpire),
		OldestVersionTime:     ts(b.versionTime),
		DatabaseDialect:       databasepb.DatabaseDialect_GOOGLE_STANDARD_SQL,
		EncryptionInfo:        b.enc[0],
		EncryptionInformation: b.enc,
	}
	if !b.creating(now) {
		out.State = databasepb.Backup_READY
		out.SizeBytes, out.FreeableSizeBytes, out.ExclusiveSizeBytes = b.size, b.size, b.size
	}
	out.ReferencingBackups = s.copiesOf(b, now)
	return out
}

// opProto renders an operation as the API returns it at now. Caller holds s.mu.
func (s *Server) opProto(op *operation, now time.Time) *longrunningpb.Operation {
	b := op.b
	done := op.done(now)
	at := now
	if done {
		at = s.opEnd(op)
	}
	prog := &databasepb.OperationProgress{ProgressPercent: percent(b, at), StartTime: ts(b.start)}
	if done {
		prog.EndTime = ts(at)
	}
	var cancel *timestamppb.Timestamp
	if op.cancelled {
		cancel = ts(*op.stopped)
	}
	var md proto.Message = &databasepb.CreateBackupMetadata{Name: b.name, Database: b.database, Progress: prog, CancelTime: cancel}
	if op.copy {
		md = &databasepb.CopyBackupMetadata{Name: b.name, SourceBackup: b.source, Progress: prog, CancelTime: cancel}
	}
	mdAny, _ := anypb.New(md)
	out := &longrunningpb.Operation{Name: op.name, Metadata: mdAny, Done: done}
	switch {
	case op.stopped != nil:
		out.Result = &longrunningpb.Operation_Error{Error: op.failure}
	case done:
		resp, _ := anypb.New(s.backupProto(b, at))
		out.Result = &longrunningpb.Operation_Response{Response: resp}
	}
	return out
}

// The admin client's GetOperation, CancelOperation and ListOperations (and
// the LRO handles' Poll) call the google.longrunning.Operations service on
// the same connection; these serve them.
//
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
	return onOperation(s, req.GetName(), func(op *operation, now time.Time) (*longrunningpb.Operation, error) {
		return s.opProto(op, now), nil
	})
}

// CancelOperation stops a running backup or copy: the operation ends with
// CANCELLED and its backup is deleted (a copy also releases its source). On a
// finished operation it is a no-op: the backup stays and the caller deletes it.
func (s *Server) CancelOperation(_ context.Context, req *longrunningpb.CancelOperationRequest) (*emptypb.Empty, error) {
	return onOperation(s, req.GetName(), func(op *operation, now time.Time) (*emptypb.Empty, error) {
		if !op.done(now) {
			s.stop(op, now, &spb.Status{Code: int32(codes.Canceled),
				Message: fmt.Sprintf("Backup %s was cancelled at the caller's request; the backup was deleted.", op.b.name)}, true)
		}
		return &emptypb.Empty{}, nil
	})
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

// A filter is the list filter language of the Spanner admin API (the subset
// of AIP-160 that ListBackups and ListBackupOperations document): comparisons
// `field op value` with op one of < > <= >= != = : (":" is "contains", and
// "field:*" means "has a value"), combined with parentheses, AND, OR (which
// binds tighter than AND) and NOT; juxtaposed expressions are ANDed. Matching is case-insensitive. Values that
// both parse as RFC 3339 timestamps compare as times, as integers numerically.
type filter interface {
	match(fields map[string]string) bool
}

type cmpFilter struct{ field, op, value string }

type andFilter struct{ l, r filter }

type orFilter struct{ l, r filter }

type notFilter struct{ f filter }

type trueFilter struct{}

func (trueFilter) match(map[string]string) bool { return true }

func (f andFilter) match(m map[string]string) bool { return f.l.match(m) && f.r.match(m) }

func (f orFilter) match(m map[string]string) bool { return f.l.match(m) || f.r.match(m) }

func (f notFilter) match(m map[string]string) bool { return !f.f.match(m) }

func (f cmpFilter) match(m map[string]string) bool {
	got, ok := m[f.field]
	if f.op == ":" {
		if f.value == "*" {
			return ok && got != ""
		}
		return ok && strings.Contains(strings.ToLower(got), strings.ToLower(f.value))
	}
	if !ok {
		return f.op == "!="
	}
	c := compare(got, f.value)
	switch f.op {
	case "=":
		return c == 0
	case "!=":
		return c != 0
	case "<":
		return c < 0
	case ">":
		return c > 0
	case "<=":
		return c <= 0
	case ">=":
		return c >= 0
	}
	return false
}

func compare(a, b string) int {
	if ta, err := time.Parse(time.RFC3339Nano, a); err == nil {
		if tb, err := time.Parse(time.RFC3339Nano, b); err == nil {
			return ta.Compare(tb)
		}
	}
	if ia, err := strconv.ParseInt(a, 10, 64); err == nil {
		if ib, err := strconv.ParseInt(b, 10, 64); err == nil {
			switch {
			case ia < ib:
				return -1
			case ia > ib:
				return 1
			}
			return 0
		}
	}
	return strings.Compare(strings.ToLower(a), strings.ToLower(b))
}

// parseFilter parses expr; known lists the fields that may be filtered on.
func parseFilter(expr string, known map[string]bool) (filter, error) {
	p := &filterParser{s: expr, known: known}
	p.skip()
	if p.eof() {
		return trueFilter{}, nil
	}
	f, err := p.and()
	if err != nil {
		return nil, err
	}
	p.skip()
	if !p.eof() {
		return nil, fmt.Errorf("invalid filter %q: unexpected %q at offset %d", expr, p.s[p.i:], p.i)
	}
	return f, nil
}

type filterParser struct {
	s     string
	i     int
	known map[string]bool
}

func (p *filterParser) eof() bool { return p.i >= len(p.s) }

func (p *filterParser) skip() {
	for p.i < len(p.s) && unicode.IsSpace(rune(p.s[p.i])) {
		p.i++
	}
}

// keyword consumes kw (case-insensitive) when it stands alone at the cursor.
func (p *filterParser) keyword(kw string) bool {
	p.skip()
	end := p.i + len(kw)
	if end > len(p.s) || !strings.EqualFold(p.s[p.i:end], kw) {
		return false
	}
	if end < len(p.s) && !unicode.IsSpace(rune(p.s[end])) && p.s[end] != '(' {
		return false
	}
	p.i = end
	return true
}

// and parses a conjunction of disjunctions: as AIP-160 specifies (and the
// Spanner docs' examples rely on), OR binds tighter than AND, so
// "a OR b AND c" is "(a OR b) AND c".
func (p *filterParser) and() (filter, error) {
	l, err := p.or()
	if err != nil {
		return nil, err
	}
	for {
		p.skip()
		if p.eof() || p.s[p.i] == ')' {
			return l, nil
		}
		p.keyword("AND")
		r, err := p.or()
		if err != nil {
			return nil, err
		}
		l = andFilter{l, r}
	}
}

func (p *filterParser) or() (filter, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.keyword("OR") {
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = orFilter{l, r}
	}
	return l, nil
}

func (p *filterParser) unary() (filter, error) {
	p.skip()
	if p.keyword("NOT") {
		f, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notFilter{f}, nil
	}
	if !p.eof() && p.s[p.i] == '-' {
		p.i++
		f, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notFilter{f}, nil
	}
	if !p.eof() && p.s[p.i] == '(' {
		p.i++
		f, err := p.and()
		if err != nil {
			return nil, err
		}
		p.skip()
		if p.eof() || p.s[p.i] != ')' {
			return nil, fmt.Errorf("invalid filter %q: missing ')'", p.s)
		}
		p.i++
		return f, nil
	}
	return p.comparison()
}

func (p *filterParser) comparison() (filter, error) {
	p.skip()
	start := p.i
	for p.i < len(p.s) {
		c := rune(p.s[p.i])
		if unicode.IsLetter(c) || unicode.IsDigit(c) || c == '_' || c == '.' || c == '@' {
			p.i++
			continue
		}
		break
	}
	field := strings.ToLower(p.s[start:p.i])
	if field == "" {
		return nil, fmt.Errorf("invalid filter %q: expected a field name at offset %d", p.s, start)
	}
	if !p.known[field] {
		return nil, fmt.Errorf("invalid filter %q: field %q cannot be filtered on", p.s, field)
	}
	p.skip()
	var op string
	for _, candidate := range []string{"<=", ">=", "!=", "=", "<", ">", ":"} {
		if strings.HasPrefix(p.s[p.i:], candidate) {
			op = candidate
			break
		}
	}
	if op == "" {
		return nil, fmt.Errorf("invalid filter %q: expected a comparison operator after %q", p.s, field)
	}
	p.i += len(op)
	p.skip()
	var value string
	if !p.eof() && p.s[p.i] == '"' {
		end := strings.IndexByte(p.s[p.i+1:], '"')
		if end < 0 {
			return nil, fmt.Errorf("invalid filter %q: unterminated string", p.s)
		}
		value = p.s[p.i+1 : p.i+1+end]
		p.i += end + 2
	} else {
		vs := p.i
		for p.i < len(p.s) && !unicode.IsSpace(rune(p.s[p.i])) && p.s[p.i] != ')' {
			p.i++
		}
		value = p.s[vs:p.i]
	}
	if value == "" {
		return nil, fmt.Errorf("invalid filter %q: missing value for %q", p.s, field)
	}
	return cmpFilter{field: field, op: op, value: value}, nil
}
