// Package spanner is backupflow's Google Cloud Spanner driver, built on the
// official Database Admin client (cloud.google.com/go/spanner/admin/database/apiv1).
// Every provider fact the driver relies on, with its public source or marked
// as a guess, is in docs/providers/spanner.md.
//
// The files: driver.go, the Driver and its methods; config.go, the
// environment, its check and New; errors.go, classify (every SDK error into
// the provider taxonomy); rules.go, the documented request constraints;
// marker.go, the ownership marker.
//
// # API calls
//
// Create is CreateBackup, copy is CopyBackup; both return a long-running
// operation named projects/<p>/instances/<i>/backups/<b>/operations/<op>,
// which is the Operation.ID, so any process resumes it by name
// (CreateBackupOperation(name) / CopyBackupOperation(name)). Preflight reads
// the database (GetDatabase) or the source backup (GetBackup). Find lists the
// instance's backup operations (ListBackupOperations) and reads the backup
// (GetBackup). Poll is GetOperation, or GetBackup once Spanner no longer
// knows the operation. Cancel is DeleteBackup, CancelOperation as fallback;
// Delete is DeleteBackup; Describe is GetBackup; List is ListBackups, every
// page (a create's database by filter, a copy's destination instance whole).
//
// # Idempotency and ownership
//
// Ownership is proven, never inferred: a backup has no labels or
// description, so the owner's marker is the sub-second part of the
// expire_time every create and copy sends (marker.go). A retried Start gets
// ALREADY_EXISTS and adopts the backup only when its expire_time carries the
// marker; Find does the same lookup without creating. A same-ID backup
// without it is somebody else's (provider.NotOurs): never adopted or deleted.
// That Spanner keeps the microseconds as sent is a guess
// (docs/providers/spanner.md, "Ownership").
//
// # Cancel
//
// Cancel deletes the pending backup (DeleteBackup deletes a pending or
// completed backup), which stops the work at once and ends the operation
// CANCELLED; CancelOperation, best effort and asynchronous, is only the
// fallback. If the backup finished first the caller deletes it (Delete).
//
// # Errors
//
// The driver turns the SDK's own retries off (gax.WithRetry(nil) on every
// call): each SDK call is exactly one RPC, so errors reach the activity
// layer classified (classify, errors.go: the gRPC code, refined for
// FAILED_PRECONDITION by ErrorInfo details and the message) and its retry
// policy, honouring RetryInfo hints, decides when to try again without
// holding a worker slot in a backoff sleep.
//
// # Limits
//
// expireTime must be 6 hours to 366 days after the request (a create) or
// the source's createTime (a copy); versionTime at most 7 days back and not
// before the database's earliestVersionTime; backup IDs 2 to 60 characters.
// A database has at most one pending backup creation: a second is Busy until
// the first ends. rules.go holds every constraint.
package spanner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	database "cloud.google.com/go/spanner/admin/database/apiv1"
	"cloud.google.com/go/spanner/admin/database/apiv1/databasepb"
	gax "github.com/googleapis/gax-go/v2"
	"google.golang.org/api/iterator"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
)

// noRetry turns the SDK's automatic retries off for one call (see package doc).
var noRetry = gax.WithRetry(nil)

// Driver is the Spanner driver. Build it with New.
type Driver struct {
	client *database.DatabaseAdminClient
	// now is the driver's clock: Start re-checks the expireTime bounds
	// against it (tests replace it, see export_test.go).
	now func() time.Time
}

var _ provider.Driver = (*Driver)(nil)

func (*Driver) Name() string       { return backup.ProviderSpanner }
func (*Driver) SupportsCopy() bool { return true }

// Validate is validate (rules.go), the rules registered for config-free checks.
func (d *Driver) Validate(kind backup.Kind, section json.RawMessage, now time.Time) (provider.Target, error) {
	return validate(kind, section, now)
}

// Close releases the client's connections.
func (d *Driver) Close() error { return d.client.Close() }

func typeURL(m proto.Message) string {
	return "type.googleapis.com/" + string(m.ProtoReflect().Descriptor().FullName())
}

func asTime(t *timestamppb.Timestamp) *time.Time {
	if t == nil {
		return nil
	}
	v := t.AsTime()
	return &v
}

// Preflight checks what Validate cannot: for a create, that the database
// exists, is READY and still holds versionTime; for a copy, that the source
// exists and is READY (else Busy: it will be) and that expireTime is within
// 6 hours to 366 days of the source's createTime (and below its
// maxExpireTime), checked on the value sent (with the owner's marker).
func (d *Driver) Preflight(ctx context.Context, job provider.Job) error {
	s, err := parse(job.Kind, job.Section)
	if err != nil {
		return err
	}
	if s.kind == backup.KindCreate {
		db, err := d.client.GetDatabase(ctx, &databasepb.GetDatabaseRequest{Name: s.database}, noRetry)
		if err != nil {
			return classify(err)
		}
		if db.GetState() == databasepb.Database_CREATING {
			return &provider.Error{Class: provider.Busy, Provider: backup.ProviderSpanner,
				Message: fmt.Sprintf("database %s is still being created (not ready); it can be backed up once READY", s.database)}
		}
		if e := db.GetEarliestVersionTime(); s.versionTime != nil && e != nil && s.versionTime.Before(e.AsTime()) {
			return provider.Invalid(field("backup.versionTime"),
				"must not be older than the database's earliestVersionTime %s (versionRetentionPeriod %s), got %s",
				e.AsTime().Format(time.RFC3339Nano), db.GetVersionRetentionPeriod(), s.versionTime.Format(time.RFC3339Nano))
		}
		return nil
	}
	src, err := d.client.GetBackup(ctx, &databasepb.GetBackupRequest{Name: s.source}, noRetry)
	if err != nil {
		return classify(err)
	}
	if src.GetState() != databasepb.Backup_READY {
		return &provider.Error{Class: provider.Busy, Provider: backup.ProviderSpanner,
			Message: fmt.Sprintf("source backup %s is %s, not READY yet; it can be copied once READY", s.source, src.GetState())}
	}
	created := src.GetCreateTime().AsTime()
	sent := markedExpire(s.expireTime, job.Owner)
	inBounds := !s.expireTime.Before(created.Add(MinExpiry)) && !s.expireTime.After(created.Add(MaxExpiry))
	if sent.Before(created.Add(MinExpiry)) || sent.After(created.Add(MaxExpiry)) {
		return provider.Invalid(field("expireTime"),
			"must be at least 6 hours and at most 366 days after the source backup's createTime %s, got %s (sent as %s)%s",
			created.Format(time.RFC3339Nano), s.expireTime.UTC().Format(time.RFC3339Nano), sent.Format(time.RFC3339Nano), noteIf(inBounds))
	}
	if m := src.GetMaxExpireTime(); m != nil && sent.After(m.AsTime()) {
		return provider.Invalid(field("expireTime"), "must not be after the source backup's maxExpireTime %s, got %s (sent as %s)%s",
			m.AsTime().Format(time.RFC3339Nano), s.expireTime.UTC().Format(time.RFC3339Nano), sent.Format(time.RFC3339Nano),
			noteIf(!s.expireTime.After(m.AsTime())))
	}
	return nil
}

// Start creates (or copies) the backup, its expireTime carrying the owner's
// marker. When the backup ID is taken, or the database already has a pending
// creation, it adopts the backup if the marker proves it ours (a retry after
// a lost response) and refuses a same-ID backup without it (NotOurs).
//
// Spanner checks the expireTime bounds when it processes the request, and a
// start may come hours after Validate (a busy database is retried with long
// back-off), so the bounds are checked again here, against the clock now and
// on the value sent, before any create call; a backup of ours already made is
// still adopted.
func (d *Driver) Start(ctx context.Context, job provider.Job) (provider.Operation, error) {
	s, err := parse(job.Kind, job.Section)
	if err != nil {
		return provider.Operation{}, err
	}
	if terr := s.checkTimes(d.now(), &job.Owner); terr != nil {
		found, ferr := d.Find(ctx, job)
		switch {
		case ferr != nil:
			return provider.Operation{}, ferr // a transient lookup failure is retried, not turned into InvalidArgument
		case found != nil:
			return *found, nil
		}
		return provider.Operation{}, terr
	}
	var name string
	var progress *databasepb.OperationProgress
	if s.kind == backup.KindCreate {
		lro, cerr := d.client.CreateBackup(ctx, s.createRequest(job.Owner), noRetry)
		if err = cerr; err == nil {
			name = lro.Name()
			md, _ := lro.Metadata()
			progress = md.GetProgress()
		}
	} else {
		lro, cerr := d.client.CopyBackup(ctx, s.copyRequest(job.Owner), noRetry)
		if err = cerr; err == nil {
			name = lro.Name()
			md, _ := lro.Metadata()
			progress = md.GetProgress()
		}
	}
	if err == nil {
		return s.operation(name, asTime(progress.GetStartTime()), proofCreateResponse), nil
	}
	perr := classify(err)
	class := provider.ClassOf(perr)
	if class != provider.AlreadyExists && class != provider.Busy {
		return provider.Operation{}, perr
	}
	found, ferr := d.Find(ctx, job)
	switch {
	case found != nil:
		return *found, nil
	case provider.UnprovenOf(ferr) != nil:
		return provider.Operation{}, ferr // a same-ID backup that is not ours: it blocks this backup for good
	case ferr != nil && class == provider.AlreadyExists:
		return provider.Operation{}, ferr
	case ferr == nil && class == provider.AlreadyExists:
		// The backup vanished between the two calls: the next attempt creates it.
		var pe *provider.Error
		if errors.As(perr, &pe) {
			e := *pe
			e.Class, e.Message = provider.Busy, e.Message+" (but it was gone a moment later; try again)"
			return provider.Operation{}, &e
		}
	}
	return provider.Operation{}, perr
}

// Operation.Extra keys and values saying how the driver knows an operation
// is the owner's: the answer of its own create (or copy) call, or the
// marker on the backup's expire_time. Cancel deletes the pending backup of a
// proven operation only. extraCreatedHere is how operations recorded before
// the marker existed say the first.
const (
	extraProof          = "proof"
	proofCreateResponse = "createResponse"
	proofMarker         = "expireTimeMarker"
	extraCreatedHere    = "createdHere"
)

func proven(op provider.Operation) bool {
	return op.Extra[extraProof] == proofCreateResponse || op.Extra[extraProof] == proofMarker || op.Extra[extraCreatedHere] == "true"
}

// operation is the Operation for the backup s names.
func (s spec) operation(opName string, startedAt *time.Time, proof string) provider.Operation {
	extra := map[string]string{"parent": s.parent, extraProof: proof}
	if s.kind == backup.KindCreate {
		extra["database"] = s.database
	} else {
		extra["sourceBackup"] = s.source
	}
	return provider.Operation{ID: opName, BackupID: s.backupID, BackupName: s.backupName,
		Resource: s.target().Resource, Kind: s.kind, Extra: extra, StartedAt: startedAt}
}

// Find returns the operation of the backup the job names when its
// expire_time carries the owner's marker and it is of the requested database
// (a create) or source backup (a copy); nil when there is no such backup; and
// provider.NotOurs naming the backup when it exists without that proof.
//
// The operations are listed before the backup is read: an operation still
// running when listed is the one making the backup under that name, so the
// backup read afterwards, if it carries the marker, is that operation's. A
// finished operation is taken only when the backup it returned carries the
// marker; otherwise (and when Spanner no longer lists it) the backup name
// stands in for the operation.
func (d *Driver) Find(ctx context.Context, job provider.Job) (*provider.Operation, error) {
	s, err := parse(job.Kind, job.Section)
	if err != nil {
		return nil, err
	}
	lro, md, err := d.findOperation(ctx, s)
	if err != nil {
		return nil, err
	}
	b, err := d.client.GetBackup(ctx, &databasepb.GetBackupRequest{Name: s.backupName}, noRetry)
	if isCode(err, codes.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, classify(err)
	}
	if !carriesMarker(b.GetExpireTime(), job.Owner) {
		return nil, notOurs(b.GetName(), whyNotOurs)
	}
	if lro != nil && lro.GetDone() && !carriesMarker(responseBackup(lro).GetExpireTime(), job.Owner) {
		lro, md = nil, nil // it made an earlier backup under this name, not this one
	}
	why, err := d.mismatch(ctx, s, b, md)
	if err != nil {
		return nil, err
	}
	if why != "" {
		return nil, notOurs(b.GetName(), why)
	}
	if lro == nil {
		// No listed operation made this backup (Spanner lists them for 7
		// days after they end, docs/providers/spanner.md "States read"):
		// poll the backup itself.
		op := s.operation(b.GetName(), asTime(b.GetCreateTime()), proofMarker)
		return &op, nil
	}
	op := s.operation(lro.GetName(), asTime(md.progress.GetStartTime()), proofMarker)
	return &op, nil
}

func notOurs(backupName, why string) *provider.Error {
	e := provider.NotOurs(backup.ProviderSpanner, []string{backupName}, why)
	e.Field = field("backupId")
	return e
}

// responseBackup is the backup a finished operation returned, nil if none.
func responseBackup(op *longrunningpb.Operation) *databasepb.Backup {
	var b databasepb.Backup
	if r := op.GetResponse(); r == nil || r.UnmarshalTo(&b) != nil {
		return nil
	}
	return &b
}

// opMeta is what create and copy metadata have in common.
type opMeta struct {
	name, database, source string
	progress               *databasepb.OperationProgress
	cancelTime             *timestamppb.Timestamp
}

func decodeMeta(op *longrunningpb.Operation) (opMeta, bool) {
	var c databasepb.CreateBackupMetadata
	if op.GetMetadata().MessageIs(&c) && op.GetMetadata().UnmarshalTo(&c) == nil {
		return opMeta{name: c.Name, database: c.Database, progress: c.Progress, cancelTime: c.CancelTime}, true
	}
	var p databasepb.CopyBackupMetadata
	if op.GetMetadata().MessageIs(&p) && op.GetMetadata().UnmarshalTo(&p) == nil {
		return opMeta{name: p.Name, source: p.SourceBackup, progress: p.Progress, cancelTime: p.CancelTime}, true
	}
	return opMeta{}, false
}

// findOperation lists the instance's backup operations of the job's kind for
// the backup name and returns the most recently started one (nil if none).
// The filter's ":" is "contains", so names are compared exactly here.
func (d *Driver) findOperation(ctx context.Context, s spec) (*longrunningpb.Operation, *opMeta, error) {
	mdType := typeURL(&databasepb.CreateBackupMetadata{})
	if s.kind == backup.KindCopy {
		mdType = typeURL(&databasepb.CopyBackupMetadata{})
	}
	it := d.client.ListBackupOperations(ctx, &databasepb.ListBackupOperationsRequest{
		Parent: s.parent,
		Filter: fmt.Sprintf(`(metadata.@type=%s) AND (metadata.name:"%s")`, mdType, s.backupName),
	}, noRetry)
	var best *longrunningpb.Operation
	var bestMeta opMeta
	for {
		op, err := it.Next()
		if err == iterator.Done {
			break
		}
		if err != nil {
			return nil, nil, classify(err)
		}
		md, ok := decodeMeta(op)
		if !ok || md.name != s.backupName || op.GetMetadata().GetTypeUrl() != mdType {
			continue
		}
		if best == nil || md.progress.GetStartTime().AsTime().After(bestMeta.progress.GetStartTime().AsTime()) {
			best, bestMeta = op, md
		}
	}
	if best == nil {
		return nil, nil, nil
	}
	return best, &bestMeta, nil
}

// mismatch says why a backup carrying the owner's marker is still not the
// job's ("" when it is): a create's backup must be of the requested
// database; a copy's of the requested source, as its operation's metadata
// names it or, when that operation is no longer listed, as the database and
// versionTime a copy inherits from its source show. Only a marker collision
// (one in a million) or a job changed under the same owner gets here.
func (d *Driver) mismatch(ctx context.Context, s spec, b *databasepb.Backup, md *opMeta) (string, error) {
	if s.kind == backup.KindCreate {
		if b.GetDatabase() != s.database {
			return fmt.Sprintf("it is a backup of %s, not of %s", b.GetDatabase(), s.database), nil
		}
		return "", nil
	}
	if md != nil {
		if md.source != s.source {
			return fmt.Sprintf("it is a copy of %s, not of %s", md.source, s.source), nil
		}
		return "", nil
	}
	src, err := d.client.GetBackup(ctx, &databasepb.GetBackupRequest{Name: s.source}, noRetry)
	if isCode(err, codes.NotFound) {
		return fmt.Sprintf("its copy operation is no longer listed and %s is gone, so it cannot be told to be a copy of it", s.source), nil
	}
	if err != nil {
		return "", classify(err)
	}
	if src.GetDatabase() != b.GetDatabase() || !proto.Equal(src.GetVersionTime(), b.GetVersionTime()) {
		return fmt.Sprintf("its database and versionTime differ from those of %s", s.source), nil
	}
	return "", nil
}

func isOperationName(id string) bool { return strings.Contains(id, "/operations/") }

// Poll makes one GetOperation call (through the SDK's operation handle).
func (d *Driver) Poll(ctx context.Context, op provider.Operation) (provider.Status, error) {
	if !isOperationName(op.ID) {
		return d.pollBackup(ctx, op)
	}
	var (
		result *databasepb.Backup
		err    error
		done   bool
		md     opMeta
	)
	if op.Kind == backup.KindCopy {
		h := d.client.CopyBackupOperation(op.ID)
		result, err = h.Poll(ctx, noRetry)
		done = h.Done()
		if m, _ := h.Metadata(); m != nil {
			md = opMeta{progress: m.Progress, cancelTime: m.CancelTime}
		}
	} else {
		h := d.client.CreateBackupOperation(op.ID)
		result, err = h.Poll(ctx, noRetry)
		done = h.Done()
		if m, _ := h.Metadata(); m != nil {
			md = opMeta{progress: m.Progress, cancelTime: m.CancelTime}
		}
	}
	if err != nil && !done {
		if isCode(err, codes.NotFound) {
			// Spanner forgets finished operations after a while: ask the backup.
			return d.pollBackup(ctx, op)
		}
		return provider.Status{}, classify(err)
	}
	st := provider.Status{Percent: float64(md.progress.GetProgressPercent()), StartedAt: asTime(md.progress.GetStartTime())}
	switch {
	case !done:
		st.Phase, st.ProviderState = provider.PhaseRunning, databasepb.Backup_CREATING.String()
		if md.cancelTime != nil {
			st.Message = "cancellation requested at " + md.cancelTime.AsTime().Format(time.RFC3339Nano)
		}
	case err != nil:
		s, _ := status.FromError(err)
		st.ProviderState, st.Message = code.Code(s.Code()).String(), s.Message()
		st.Phase = provider.PhaseFailed
		if s.Code() == codes.Canceled {
			st.Phase, st.ProviderState = provider.PhaseCancelled, "CANCELLED"
		}
	default:
		st.Phase, st.Percent, st.ProviderState = provider.PhaseSucceeded, 100, result.GetState().String()
	}
	return st, nil
}

// pollBackup reports an operation's phase from its backup alone.
func (d *Driver) pollBackup(ctx context.Context, op provider.Operation) (provider.Status, error) {
	b, err := d.client.GetBackup(ctx, &databasepb.GetBackupRequest{Name: op.BackupName}, noRetry)
	if isCode(err, codes.NotFound) {
		return provider.Status{Phase: provider.PhaseGone, Percent: -1, ProviderState: "DELETED",
			Message: fmt.Sprintf("backup %s does not exist (any more)", op.BackupName)}, nil
	}
	if err != nil {
		return provider.Status{}, classify(err)
	}
	st := provider.Status{Percent: -1, ProviderState: b.GetState().String(), StartedAt: asTime(b.GetCreateTime())}
	if b.GetState() == databasepb.Backup_READY {
		st.Phase, st.Percent = provider.PhaseSucceeded, 100
	} else {
		st.Phase = provider.PhaseRunning
	}
	return st, nil
}

// Cancel stops a running create or copy of ours; true when it is stopped
// or being stopped. An operation that is unknown or already finished cannot
// be stopped: false, and the caller polls to the end and deletes what
// finished.
//
// For a proven operation (its own create or copy call returned it, or Find
// adopted it by the marker) it deletes the pending backup rather than cancel
// the operation: the delete takes effect at once, the cancel is best effort
// and asynchronous. That is safe because GetOperation shows the proven
// operation still running and making op.BackupName, so the backup under that
// name is the one it makes. An operation without a proof (recorded before
// proofs were) and any refusal of the delete (FAILED_PRECONDITION) get
// CancelOperation.
func (d *Driver) Cancel(ctx context.Context, op provider.Operation) (bool, error) {
	if !isOperationName(op.ID) {
		return false, nil
	}
	lro, err := d.client.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: op.ID}, noRetry)
	switch {
	case isCode(err, codes.NotFound):
		return false, nil
	case err != nil:
		return false, classify(err)
	case lro.GetDone():
		return false, nil
	}
	if md, ok := decodeMeta(lro); ok && proven(op) && md.name == op.BackupName {
		err := d.client.DeleteBackup(ctx, &databasepb.DeleteBackupRequest{Name: op.BackupName}, noRetry)
		switch {
		case err == nil, isCode(err, codes.NotFound):
			return true, nil
		case !isCode(err, codes.FailedPrecondition):
			return false, classify(err)
		}
	}
	err = d.client.CancelOperation(ctx, &longrunningpb.CancelOperationRequest{Name: op.ID}, noRetry)
	switch {
	case err == nil:
		return true, nil
	case isCode(err, codes.NotFound), isCode(err, codes.FailedPrecondition):
		return false, nil
	}
	return false, classify(err)
}

// Delete deletes the backup, pending or completed; one already gone is not
// an error. The source of a copy still running is refused by Spanner with
// FAILED_PRECONDITION, which maps to Busy.
//
// The backup is the full name in op.BackupName (an operation Start or Find
// made) or op.BackupID (one rebuilt from a Result, whose Backup.ID is the
// full name and Backup.Name the bare ID).
func (d *Driver) Delete(ctx context.Context, op provider.Operation) error {
	name := backupPath(op)
	if name == "" {
		return provider.Errorf(provider.InvalidArgument, "operation %s names no backup (projects/<p>/instances/<i>/backups/<b>)", op.ID)
	}
	err := d.client.DeleteBackup(ctx, &databasepb.DeleteBackupRequest{Name: name}, noRetry)
	if err == nil || isCode(err, codes.NotFound) {
		return nil
	}
	return classify(err)
}

// backupPath is the full backup name an operation carries, "" when none.
func backupPath(op provider.Operation) string {
	for _, n := range []string{op.BackupName, op.BackupID} {
		if backupRe.MatchString(n) {
			return n
		}
	}
	return ""
}

// List returns the backups at resource (ListBackups, every page): for a
// create, those of the database, by a database filter whose ":" means
// "contains", so the names are compared exactly here; for a copy, every
// backup of the destination backup's instance. Spanner has no automated
// backups of its own kind here: backup schedules make ordinary backups, and
// they are listed too.
func (d *Driver) List(ctx context.Context, kind backup.Kind, resource string) ([]backup.Backup, error) {
	req := &databasepb.ListBackupsRequest{}
	database := ""
	switch m := databaseRe.FindStringSubmatch(resource); {
	case kind == backup.KindCreate && m != nil:
		req.Parent, database = m[1], resource
		req.Filter = fmt.Sprintf(`database:"%s"`, resource)
	case kind == backup.KindCopy && backupRe.MatchString(resource):
		req.Parent = backupRe.FindStringSubmatch(resource)[1]
	default:
		return nil, provider.Invalid("resource", "a %s resource is a %s, got %q", kind, map[backup.Kind]string{
			backup.KindCreate: "database (projects/<p>/instances/<i>/databases/<d>)",
			backup.KindCopy:   "destination backup (projects/<p>/instances/<i>/backups/<b>)"}[kind], resource)
	}
	var out []backup.Backup
	it := d.client.ListBackups(ctx, req, noRetry)
	for {
		b, err := it.Next()
		if err == iterator.Done {
			return out, nil
		}
		if err != nil {
			return nil, classify(err)
		}
		if database != "" && b.GetDatabase() != database {
			continue
		}
		out = append(out, summary(b))
	}
}

// Describe returns the backup's record (GetBackup); Record is its protojson.
func (d *Driver) Describe(ctx context.Context, op provider.Operation) (backup.Backup, error) {
	b, err := d.client.GetBackup(ctx, &databasepb.GetBackupRequest{Name: op.BackupName}, noRetry)
	if err != nil {
		return backup.Backup{}, classify(err)
	}
	rec, err := protojson.Marshal(b)
	if err != nil {
		return backup.Backup{}, provider.Errorf(provider.Internal, "encode backup record: %v", err)
	}
	out := summary(b)
	out.Record = rec
	return out, nil
}

// summary is the normalized view of a backup, as Describe and List report it.
func summary(b *databasepb.Backup) backup.Backup {
	out := backup.Backup{
		ID:         b.GetName(),
		Name:       b.GetName()[strings.LastIndex(b.GetName(), "/")+1:],
		State:      b.GetState().String(),
		CreateTime: asTime(b.GetCreateTime()),
		ExpireTime: asTime(b.GetExpireTime()),
	}
	if b.GetState() == databasepb.Backup_READY {
		size := b.GetSizeBytes()
		out.SizeBytes = &size
	}
	return out
}
