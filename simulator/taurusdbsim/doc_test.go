package taurusdbsim_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/internal/doctable"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/taurusdb/doctables"
	"github.com/backupflow/backupflow/simulator/taurusdbsim"
)

// codeProducers drive a fresh simulator, through its API, into answering
// with a code; each returns that answer.
func codeProducers() map[string]func(t *testing.T) answer {
	producers := map[string]func(t *testing.T) answer{
		"DBS.201205": func(t *testing.T) answer { // a backup of the instance is in progress
			s := start(t, taurusdbsim.Options{})
			require.Equal(t, http.StatusCreated, create(t, s, taurusdbsim.InstanceID(2), "first-one").Status)
			return create(t, s, taurusdbsim.InstanceID(2), "second-one")
		},
		taurusdbsim.CodeNameExists: func(t *testing.T) answer {
			s := start(t, taurusdbsim.Options{})
			require.Equal(t, http.StatusCreated, create(t, s, taurusdbsim.InstanceID(3), "same-name").Status)
			s.Advance(time.Hour)
			return create(t, s, taurusdbsim.InstanceID(3), "same-name")
		},
		"RDS.3003": func(t *testing.T) answer { // the manual-backup quota
			s := start(t, taurusdbsim.Options{ManualBackupLimit: 1})
			require.Equal(t, http.StatusCreated, create(t, s, taurusdbsim.InstanceID(0), "backup-1").Status)
			return create(t, s, taurusdbsim.InstanceID(1), "backup-1")
		},
		"DBS.280127": func(t *testing.T) answer {
			return create(t, start(t, taurusdbsim.Options{}), taurusdbsim.InstanceID(0), "1-starts-with-a-digit")
		},
		"DBS.200002": func(t *testing.T) answer {
			return create(t, start(t, taurusdbsim.Options{}), "00000000000000000000000000000000in07", "backup-1")
		},
		"APIGW.0301": func(t *testing.T) answer {
			return call(t, start(t, taurusdbsim.Options{}), http.MethodGet, project+"/backups", nil, nil, "not-the-secret-key")
		},
		"APIGW.0308": func(t *testing.T) answer { // the gateway's throttling, injected
			s := start(t, taurusdbsim.Options{})
			s.FailNext(provider.Throttled, 1, time.Second)
			return call(t, s, http.MethodGet, project+"/backups", nil, nil, taurusdbsim.SecretKey)
		},
	}
	for _, code := range taurusdbsim.BusyCodes {
		producers[code] = func(t *testing.T) answer { // another operation is under way
			s := start(t, taurusdbsim.Options{})
			require.NoError(t, s.SetBusyWith(taurusdbsim.InstanceID(1), code))
			return create(t, s, taurusdbsim.InstanceID(1), "backup-1")
		}
	}
	return producers
}

// stateProducers drive a fresh simulator into showing a backup or job state
// and return the state the API shows.
func stateProducers() map[doctables.State]func(t *testing.T) string {
	backupState := func(opts taurusdbsim.Options, instance string, after time.Duration) func(t *testing.T) string {
		return func(t *testing.T) string {
			s := start(t, opts)
			a := create(t, s, instance, "backup-1")
			require.Equal(t, http.StatusCreated, a.Status, "%v", a.Body)
			s.Advance(after)
			id := a.Body["backup"].(map[string]any)["id"].(string)
			list := call(t, s, http.MethodGet, project+"/backups", url.Values{"backup_id": {id}}, nil, taurusdbsim.SecretKey)
			require.Equal(t, http.StatusOK, list.Status)
			backups := list.Body["backups"].([]any)
			require.Len(t, backups, 1)
			return backups[0].(map[string]any)["status"].(string)
		}
	}
	jobState := func(opts taurusdbsim.Options, outcome string, after time.Duration) func(t *testing.T) string {
		return func(t *testing.T) string {
			s := start(t, opts)
			require.NoError(t, s.SetJobOutcome(taurusdbsim.InstanceID(4), outcome))
			a := create(t, s, taurusdbsim.InstanceID(4), "backup-1")
			require.Equal(t, http.StatusCreated, a.Status, "%v", a.Body)
			s.Advance(after)
			j := call(t, s, http.MethodGet, project+"/jobs", url.Values{"id": {a.Str("job_id")}}, nil, taurusdbsim.SecretKey)
			require.Equal(t, http.StatusOK, j.Status, "%v", j.Body)
			return j.Body["job"].(map[string]any)["status"].(string)
		}
	}
	minute := taurusdbsim.Options{Duration: time.Minute}
	producers := map[doctables.State]func(t *testing.T) string{
		{API: "backup", State: "BUILDING"}:  backupState(minute, taurusdbsim.InstanceID(0), 0),
		{API: "backup", State: "COMPLETED"}: backupState(minute, taurusdbsim.InstanceID(0), time.Hour),
		{API: "backup", State: "AVAILABLE"}: backupState(taurusdbsim.Options{Duration: time.Minute, FinishedStatus: "AVAILABLE"}, taurusdbsim.InstanceID(0), time.Hour),
		{API: "backup", State: "FAILED"}:    backupState(minute, taurusdbsim.FailingInstance, time.Hour),
		{API: "job", State: "Pending"}:      jobState(taurusdbsim.Options{Duration: time.Minute, JobPendingFor: 10 * time.Second}, "", 0),
		{API: "job", State: "Running"}:      jobState(minute, "", 30*time.Second),
		{API: "job", State: "Completed"}:    jobState(minute, "", time.Hour),
	}
	for _, outcome := range taurusdbsim.JobFailures {
		producers[doctables.State{API: "job", State: outcome}] = jobState(minute, outcome, time.Hour)
	}
	return producers
}

// TestSimulatorProducesDocumentedCodesAndStates: every error code the page
// says TaurusDB answers, with its HTTP status, and every state it lists, is
// one the simulator produces through its API. A row added to the page
// without a way to produce it here fails.
func TestSimulatorProducesDocumentedCodesAndStates(t *testing.T) {
	doc, err := doctables.Read(doctable.Page("taurusdb"))
	require.NoError(t, err)
	codes, states := codeProducers(), stateProducers()
	answered := 0
	for _, c := range doc.Codes {
		if !c.Answered {
			continue
		}
		answered++
		t.Run(c.Code, func(t *testing.T) {
			produce, ok := codes[c.Code]
			require.True(t, ok, "the page lists %s, which the simulator never produces", c.Code)
			assertError(t, produce(t), c.HTTPStatus, c.Code)
		})
	}
	assert.Positive(t, answered)
	require.NotEmpty(t, doc.States)
	for _, st := range doc.States {
		t.Run(st.API+" "+st.State, func(t *testing.T) {
			produce, ok := states[st]
			require.True(t, ok, "the page lists %s state %s, which the simulator never produces", st.API, st.State)
			assert.Equal(t, st.State, produce(t))
		})
	}
}

func TestOptionsAreChecked(t *testing.T) {
	for name, opts := range map[string]taurusdbsim.Options{
		"unknown job status": {UnknownJobStatus: 500},
		"finished status":    {FinishedStatus: "DONE"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := taurusdbsim.Start(opts)
			assert.Error(t, err)
		})
	}
	s := start(t, taurusdbsim.Options{})
	assert.Error(t, s.SetBusyWith(taurusdbsim.InstanceID(0), "DBS.999999"), "only known busy codes")
	assert.Error(t, s.SetJobOutcome(taurusdbsim.InstanceID(0), "Exploded"), "only known job endings")
}

// TestUnknownJobAnswered400: with UnknownJobStatus 400 the job API refuses
// an unknown or not yet visible job ID with 400 DBS.280127, then shows it.
func TestUnknownJobAnswered400(t *testing.T) {
	s := start(t, taurusdbsim.Options{JobVisibilityDelay: 5 * time.Second, UnknownJobStatus: http.StatusBadRequest})
	a := create(t, s, taurusdbsim.InstanceID(0), "backup-1")
	job := a.Str("job_id")
	assertError(t, call(t, s, http.MethodGet, project+"/jobs", url.Values{"id": {job}}, nil, taurusdbsim.SecretKey), http.StatusBadRequest, "DBS.280127")
	assertError(t, call(t, s, http.MethodGet, project+"/jobs", url.Values{"id": {"no-such-job"}}, nil, taurusdbsim.SecretKey), http.StatusBadRequest, "DBS.280127")
	s.Advance(6 * time.Second)
	assert.Equal(t, http.StatusOK, call(t, s, http.MethodGet, project+"/jobs", url.Values{"id": {job}}, nil, taurusdbsim.SecretKey).Status)
}
