package otcrdssim

import (
	"net/http"
	"time"

	"github.com/backupflow/backupflow/simulator/huaweicloudsim"
)

// NameScope is where a backup name must be unique: in the whole project, the
// stricter reading of OTC's "The backup name must be unique" (OTC's DDS docs
// say "among all other backups on Project"; the RDS docs do not narrow it).
// nameTaken is the one place the rule is applied.
const NameScope = "project"

type instance struct {
	id, name, status, kind, engine, version string
	primary                                 string
	databases                               []string
	failing                                 bool
}

// backupRec is a backup and, for a SQL Server partial backup, its databases.
type backupRec struct {
	huaweicloudsim.Backup
	databases []string
	// deletedAt is when a delete was accepted; zero while not being deleted.
	deletedAt time.Time
}

// status is b's status at now: DELETING once a delete was accepted, else
// BUILDING, COMPLETED or FAILED.
func status(b *backupRec, now time.Time) string {
	if !b.deletedAt.IsZero() {
		return "DELETING"
	}
	return b.Status(now)
}

// sweep removes the backups whose deletion has finished at now. s.mu is held.
func (s *Server) sweep(now time.Time) {
	for _, b := range s.backups.Newest(func(b *backupRec) bool {
		return !b.deletedAt.IsZero() && !now.Before(b.deletedAt.Add(s.opts.DeleteDuration))
	}) {
		_, _ = s.backups.Delete(b.ID, now) // done building, so it goes
	}
}

// backupByID returns backup id, or nil. s.mu is held.
func (s *Server) backupByID(id string) *backupRec {
	found := s.backups.Newest(func(b *backupRec) bool { return b.ID == id })
	if len(found) == 0 {
		return nil
	}
	return found[0]
}

// nameTaken reports whether name is used by a backup anywhere in the project
// (NameScope). s.mu is held.
func (s *Server) nameTaken(name string) bool {
	return len(s.backups.Newest(func(b *backupRec) bool { return b.Name == name })) > 0
}

// createRules are the create API's rules for a new backup (the name's
// project-wide uniqueness is checked before, by nameTaken).
func (s *Server) createRules() huaweicloudsim.CreateRules {
	return huaweicloudsim.CreateRules{NameExistsStatus: http.StatusConflict, NameExistsCode: CodeNameExists,
		InProgressCode: CodeBackupInProgress, Limit: s.opts.ManualBackupLimit}
}

// newBackup is a backup of in, named name, beginning now.
func (s *Server) newBackup(in *instance, name, description string, dbs []string, now time.Time) *backupRec {
	return &backupRec{Backup: huaweicloudsim.Backup{ID: huaweicloudsim.NewHex(16) + "br01", Name: name, Description: description,
		InstanceID: in.id, Begin: now, Duration: s.opts.Duration, Failing: in.failing}, databases: dbs}
}

func dbObjects(names []string) []map[string]string {
	out := make([]map[string]string, 0, len(names))
	for _, n := range names {
		out = append(out, map[string]string{"name": n})
	}
	return out
}
