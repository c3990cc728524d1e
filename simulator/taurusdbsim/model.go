package taurusdbsim

import (
	"net/http"
	"strconv"
	"time"

	"github.com/backupflow/backupflow/simulator/huaweicloudsim"
)

// BackupSizeMB is the size the backup list gives a finished backup, in MB as
// the TaurusDB API reports it (docs/providers/taurusdb.md).
const BackupSizeMB = 2048.5

// Job statuses. A job ends Completed, or with one of JobFailures (see
// SetJobOutcome); its backup then ends FAILED.
const (
	JobPending   = "Pending"
	JobRunning   = "Running"
	JobCompleted = "Completed"
	JobFailed    = "Failed"
)

// JobFailures are the statuses a job can end in other than Completed.
var JobFailures = []string{JobFailed, "Canceled", "Unauthorized"}

// JobName is the job name the simulator gives backup jobs (the real name is
// not documented; the driver only relies on it mentioning "backup").
const JobName = "CreateGaussDBforMySQLBackup"

type instance struct {
	id, name string
	// busyCode, when set, is the 409 code every create is answered with.
	busyCode string
	// outcome, when set, is the failure status its backup jobs end in.
	outcome string
}

type jobRec struct {
	id, backupID, instanceID, instanceName string
	created                                time.Time
	pending, duration                      time.Duration
	outcome                                string // "" is Completed
}

// createRules are the create API's rules for a new backup.
func (s *Server) createRules() huaweicloudsim.CreateRules {
	return huaweicloudsim.CreateRules{NameExistsStatus: http.StatusConflict, NameExistsCode: CodeNameExists,
		InProgressCode: huaweicloudsim.CodeBackupInProgress, Limit: s.opts.ManualBackupLimit}
}

// newBackup is a backup of in, named name, beginning now, with its job. s.mu is held.
func (s *Server) newBackup(in *instance, name, description string, now time.Time) (*huaweicloudsim.Backup, *jobRec) {
	b := &huaweicloudsim.Backup{ID: huaweicloudsim.NewUUID(), Name: name, Description: description, InstanceID: in.id,
		Begin: now, Duration: s.opts.Duration, Failing: in.outcome != "", Finished: s.opts.FinishedStatus}
	j := &jobRec{id: huaweicloudsim.NewUUID(), backupID: b.ID, instanceID: in.id, instanceName: in.name,
		created: b.Begin, pending: min(s.opts.JobPendingFor, b.Duration), duration: b.Duration, outcome: in.outcome}
	return b, j
}

// addBackup stores a backup of in under the create API's rules, with its
// job; it returns the backup and the job's ID. s.mu is held.
func (s *Server) addBackup(in *instance, name, description string, now time.Time) (*huaweicloudsim.Backup, string, *huaweicloudsim.APIError) {
	b, j := s.newBackup(in, name, description, now)
	if e := s.backups.AddWith(b, now, s.createRules()); e != nil {
		return nil, "", e
	}
	s.jobs[j.id] = j
	return b, j.id, nil
}

// state is the job at now. Only a running job has a process figure ("60%");
// the API gives "" otherwise.
func (j *jobRec) state(now time.Time) (status, process, ended, failReason string) {
	elapsed := now.Sub(j.created)
	switch {
	case elapsed < j.pending:
		return JobPending, "", "", ""
	case elapsed < j.duration:
		pct := max(0, min(99, int(100*elapsed/j.duration)))
		return JobRunning, strconv.Itoa(pct) + "%", "", ""
	case j.outcome != "":
		return j.outcome, "", j.created.Add(j.duration).Format(huaweicloudsim.TimeLayout),
			"Backup failed: the backup lock could not be obtained from the instance"
	}
	return JobCompleted, "", j.created.Add(j.duration).Format(huaweicloudsim.TimeLayout), ""
}

func (s *Server) visible(j *jobRec, now time.Time) bool {
	return !now.Before(j.created.Add(s.opts.JobVisibilityDelay))
}
