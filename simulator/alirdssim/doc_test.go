package alirdssim_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/internal/doctable"
	"github.com/backupflow/backupflow/simulator/alirdssim"
)

var providerDoc = doctable.Page("alirds")

// TestDocCodesAreProduced: every error code the provider document lists is
// one the simulator answers with, with the HTTP status the document gives,
// and the answer really comes out of the simulator that way.
func TestDocCodesAreProduced(t *testing.T) {
	rows, err := doctable.Read(providerDoc, "Error codes", 0)
	require.NoError(t, err)
	s := start(t)
	attr := action("DescribeDBInstanceAttribute", "DBInstanceId", alirdssim.MySQLInstanceID(1))
	for _, row := range rows {
		code := row["Code"]
		t.Run(code, func(t *testing.T) {
			status, err := strconv.Atoi(row["HTTP"])
			require.NoError(t, err, "HTTP column of %s", code)
			require.Contains(t, alirdssim.ErrorCodes(), code, "the simulator cannot produce %s", code)
			require.NoError(t, s.FailNextCode(code))
			requireError(t, do(t, s, request{params: attr}), status, code)
		})
	}
	require.Error(t, s.FailNextCode("NoSuchCode"), "only catalogued codes can be injected")
}

// TestDocStatesAreProduced: every state value the provider document lists
// comes out of the simulator's API: task states by running tasks (one that
// finishes, one that fails), instance states and lock modes by setting them
// and reading DescribeDBInstanceAttribute.
func TestDocStatesAreProduced(t *testing.T) {
	rows, err := doctable.Read(providerDoc, "States read", 0)
	require.NoError(t, err)
	s := start(t)

	seen := map[string]map[string]bool{"BackupStatus": {}, "BackupProgressStatus": {}, "DBInstanceStatus": {}, "LockMode": {}}
	watch := func(id string) {
		a := createBackup(t, s, id)
		requireOK(t, a)
		for range 45 {
			j := tasks(t, s, id, "BackupJobId", a.str("BackupJobId"))[0]
			seen["BackupStatus"][j["BackupStatus"].(string)] = true
			seen["BackupProgressStatus"][j["BackupProgressStatus"].(string)] = true
			if st := j["BackupStatus"]; st == alirdssim.StatusFinished || st == alirdssim.StatusFailed {
				return
			}
			s.Advance(duration / 40)
		}
		t.Fatalf("task on %s did not end", id)
	}
	watch(alirdssim.MySQLInstanceID(10))
	require.NoError(t, s.FailNextBackup(alirdssim.MySQLInstanceID(11), "disk full"))
	watch(alirdssim.MySQLInstanceID(11))

	id := alirdssim.MySQLInstanceID(12)
	attribute := func() map[string]any {
		a := do(t, s, request{params: action("DescribeDBInstanceAttribute", "DBInstanceId", id)})
		requireOK(t, a)
		return a.body["Items"].(map[string]any)["DBInstanceAttribute"].([]any)[0].(map[string]any)
	}
	for _, row := range rows {
		switch row["Field"] {
		case "DBInstanceStatus":
			if s.SetInstanceStatus(id, row["Value"]) == nil {
				seen["DBInstanceStatus"][attribute()["DBInstanceStatus"].(string)] = true
			}
		case "LockMode":
			if s.SetLockMode(id, row["Value"], "set by the test") == nil {
				seen["LockMode"][attribute()["LockMode"].(string)] = true
			}
		}
	}

	for _, row := range rows {
		field, value := row["Field"], row["Value"]
		require.Contains(t, seen, field, "the document lists a field the simulator does not have")
		assert.True(t, seen[field][value], "the document lists %s %s, which the simulator never produced (it produced %v)", field, value, seen[field])
	}
}

// TestTaskStateOrder: the states come in the documented order, with
// BackupProgressStatus a field of its own and Process a percentage.
func TestTaskStateOrder(t *testing.T) {
	s := start(t)
	id := alirdssim.MySQLInstanceID(13)
	require.NoError(t, s.FailNextBackup(id, "upload check failed"))
	a := createBackup(t, s, id)
	requireOK(t, a)
	var states []string
	last := -1
	for range 45 {
		j := tasks(t, s, id, "BackupJobId", a.str("BackupJobId"))[0]
		p, err := strconv.Atoi(j["Process"].(string))
		require.NoError(t, err, "Process is a whole percentage: %v", j["Process"])
		assert.True(t, p >= last && p <= 100, "Process %d after %d", p, last)
		last = p
		st := j["BackupStatus"].(string)
		if len(states) == 0 || states[len(states)-1] != st {
			states = append(states, st)
		}
		if st == alirdssim.StatusFailed {
			assert.Equal(t, alirdssim.StatusChecking, j["BackupProgressStatus"], "a failed task's progress stays at its last step")
			assert.Nil(t, j["BackupId"], "a failed task made no backup set")
			break
		}
		assert.Equal(t, st, j["BackupProgressStatus"])
		s.Advance(duration / 40)
	}
	assert.Equal(t, []string{"NoStart", "Preparing", "Waiting", "Uploading", "Checking", "Failed"}, states)
}

// TestHideNextEnd: a task that just ended is missing from DescribeBackupTasks
// (by BackupJobId too) while its set shows in DescribeBackups only later.
func TestHideNextEnd(t *testing.T) {
	s := start(t)
	id := alirdssim.MySQLInstanceID(14)
	require.NoError(t, s.HideNextEnd(id, time.Hour, 30*time.Second))
	a := createBackup(t, s, id)
	requireOK(t, a)
	job := a.str("BackupJobId")
	require.Len(t, tasks(t, s, id, "BackupJobId", job), 1, "listed while it runs")
	inventory := len(s.Inventory())

	s.Advance(duration)
	assert.Empty(t, tasks(t, s, id, "BackupJobId", job), "just ended: not listed by its BackupJobId")
	assert.Empty(t, tasks(t, s, id), "nor in the list of unfinished tasks")
	total, _ := backups(t, s, id)
	assert.Zero(t, total, "its set is not listed yet")
	assert.Len(t, s.Inventory(), inventory, "but the provider holds it")
	assert.Contains(t, s.Inventory(), s.CurrentID(job))

	s.Advance(30 * time.Second)
	total, sets := backups(t, s, id)
	require.Equal(t, 1, total, "the set shows 30 s after the end")
	assert.Equal(t, "Manual", sets[0]["BackupMode"])
	assert.Empty(t, tasks(t, s, id, "BackupJobId", job), "the task is still not listed")

	s.Advance(time.Hour)
	j := tasks(t, s, id, "BackupJobId", job)
	require.Len(t, j, 1, "listed again after its hiding time")
	assert.Equal(t, sets[0]["BackupId"], j[0]["BackupId"])
}

// TestDateHeaderIsTheSimulatorClock: answers carry the provider's time.
func TestDateHeaderIsTheSimulatorClock(t *testing.T) {
	s := start(t)
	s.Advance(3 * time.Hour)
	a := do(t, s, request{params: action("DescribeDBInstanceAttribute", "DBInstanceId", alirdssim.MySQLInstanceID(1))})
	requireOK(t, a)
	date, err := http.ParseTime(a.header.Get("Date"))
	require.NoError(t, err)
	assert.WithinDuration(t, s.Now(), date, 2*time.Second)
}

func TestSettersRefuseUnmodelledValues(t *testing.T) {
	s := start(t)
	assert.Error(t, s.SetInstanceStatus(alirdssim.MySQLInstanceID(1), "Sleeping"))
	assert.Error(t, s.SetLockMode(alirdssim.MySQLInstanceID(1), "LockByMood", ""))
	assert.ErrorIs(t, s.SetInstanceStatus("rm-nope", "Running"), alirdssim.ErrUnknownInstance)
	assert.ErrorIs(t, s.HideNextEnd("rm-nope", time.Second, time.Second), alirdssim.ErrUnknownInstance)
}
