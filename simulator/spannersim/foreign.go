package spannersim

import (
	"fmt"
	"time"

	"github.com/backupflow/backupflow/provider"
)

// Backups made by somebody else (a person in the console, another tool),
// for tests that prove backupflow never adopts or deletes them. They are
// made as such a caller would: a whole-second expire_time, 30 days out, so
// they carry no backupflow marker (the driver's marker is the sub-second
// part; a whole second matches one owner in a million).

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
