package spannersim

import (
	"fmt"
	"sort"
	"time"

	"cloud.google.com/go/spanner/admin/database/apiv1/databasepb"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Documented bounds the simulator enforces server-side.
const (
	minExpiry = 6 * time.Hour
	maxExpiry = 366 * 24 * time.Hour
	// opRetention: ListBackupOperations returns operations that ended within
	// the last 7 days, and all pending ones.
	opRetention = 7 * 24 * time.Hour
)

// backupRecord is one backup, live while it is in s.backups; its operation
// keeps it after deletion so a finished operation still reports its result.
type backupRecord struct {
	name        string
	database    string
	source      string // the source backup, for a copy
	createTime  time.Time
	versionTime time.Time
	expireTime  time.Time
	maxExpire   time.Time
	start       time.Time
	duration    time.Duration
	size        int64
	enc         []*databasepb.EncryptionInfo
	op          *operation
}

type operation struct {
	name string
	b    *backupRecord
	copy bool
	// stopped is when the operation ended before its backup was complete:
	// cancelled (CancelOperation, reported as cancel_time too), its backup
	// deleted while being made (DeleteBackup) or failed (FailBackup). It
	// then reports failure.
	stopped   *time.Time
	cancelled bool
	failure   *spb.Status
}

func (b *backupRecord) end() time.Time { return b.start.Add(b.duration) }

func (o *operation) done(now time.Time) bool { return o.stopped != nil || !now.Before(o.b.end()) }

// stop ends a running operation early with failure and removes its backup. Caller holds s.mu.
func (s *Server) stop(op *operation, now time.Time, failure *spb.Status, cancelled bool) {
	op.stopped, op.failure, op.cancelled = &now, failure, cancelled
	delete(s.backups, op.b.name)
}

// creating reports whether the backup is still being made at now.
func (b *backupRecord) creating(now time.Time) bool { return !b.op.done(now) }

func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

// storedTime is a request's timestamp as the simulator keeps it: to the
// microsecond, anything finer cut off. The API documents expire_time with
// microsecond granularity; that Spanner keeps exactly the microseconds sent
// is our guess (docs/providers/spanner.md, "Ownership"), and the driver's
// ownership marker rests on it.
func storedTime(t *timestamppb.Timestamp) time.Time {
	return t.AsTime().Truncate(time.Microsecond)
}

// earliestVersion is the oldest version_time a backup of db may use at now.
func (db *database) earliestVersion(now time.Time) time.Time {
	e := now.Add(-db.retention)
	if e.Before(db.createTime) {
		return db.createTime
	}
	return e
}

// newOperation registers a backup and its operation. Caller holds s.mu.
func (s *Server) newOperation(b *backupRecord, isCopy bool) *operation {
	s.seq++
	op := &operation{
		name: fmt.Sprintf("%s/operations/_auto_op_%016x", b.name, uint64(s.seq)*0x9E3779B97F4A7C15),
		b:    b,
		copy: isCopy,
	}
	b.op = op
	s.backups[b.name] = b
	s.nextExpiry = earliest(s.nextExpiry, b.expireTime)
	s.ops[op.name] = op
	s.opOrder = append(s.opOrder, op)
	return op
}

// copiesOf lists the copies of b still running. Caller holds s.mu.
func (s *Server) copiesOf(b *backupRecord, now time.Time) []string {
	var names []string
	for _, c := range s.backups {
		if c.source == b.name && c.creating(now) {
			names = append(names, c.name)
		}
	}
	sort.Strings(names)
	return names
}

// expire removes the backups whose expire_time has passed, as Spanner does,
// except a backup still being made and the source of a copy still running
// (the copy docs: the source is not cleaned up on expiration until the copy
// is finished). It only scans when the earliest expireTime has come, so
// calls stay cheap with many backups. Caller holds s.mu.
func (s *Server) expire(now time.Time) {
	if now.Before(s.nextExpiry) {
		return
	}
	s.nextExpiry = now.Add(maxExpiry)
	for name, b := range s.backups {
		if !now.Before(b.expireTime) && !b.creating(now) && len(s.copiesOf(b, now)) == 0 {
			delete(s.backups, name)
			continue
		}
		// Kept: look again at its expireTime, or on the next call if that has passed.
		s.nextExpiry = earliest(s.nextExpiry, b.expireTime)
	}
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func (s *Server) opEnd(op *operation) time.Time {
	if op.stopped != nil {
		return *op.stopped
	}
	return op.b.end()
}

func percent(b *backupRecord, at time.Time) int32 {
	if b.duration <= 0 {
		return 100
	}
	p := int64(at.Sub(b.start)) * 100 / int64(b.duration)
	return int32(max(0, min(100, p)))
}
