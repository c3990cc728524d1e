package taurusdbsim_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/simulator/huaweicloudsim"
	"github.com/backupflow/backupflow/simulator/huaweicloudsim/huaweiclient"
	"github.com/backupflow/backupflow/simulator/taurusdbsim"
)

type answer = huaweiclient.Answer

var (
	start       = huaweiclient.Starter(taurusdbsim.Start)
	assertError = huaweiclient.AssertError
)

// call sends a request signed with secret (unsigned when secret is "").
func call(t *testing.T, s *taurusdbsim.Server, method, path string, query url.Values, body any, secret string, header ...string) answer {
	t.Helper()
	var auth huaweiclient.Auth = huaweiclient.Unsigned
	if secret != "" {
		auth = huaweiclient.Signed(taurusdbsim.AccessKey, secret)
	}
	return huaweiclient.Call(t, s.Endpoint(), method, path, query, body, auth, header...)
}

var project = "/v3/" + taurusdbsim.ProjectID

func create(t *testing.T, s *taurusdbsim.Server, instance, name string) answer {
	return call(t, s, http.MethodPost, project+"/backups/create", nil,
		map[string]any{"instance_id": instance, "name": name, "description": "sim test"}, taurusdbsim.SecretKey)
}

func TestSignatureRequired(t *testing.T) {
	s := start(t, taurusdbsim.Options{})
	assertError(t, call(t, s, http.MethodGet, project+"/backups", nil, nil, ""), http.StatusUnauthorized, huaweicloudsim.CodeAuthFailed)
	assertError(t, call(t, s, http.MethodGet, project+"/backups", nil, nil, "wrong-secret"), http.StatusUnauthorized, huaweicloudsim.CodeAuthFailed)
	// A create with a bad signature changes nothing.
	a := call(t, s, http.MethodPost, project+"/backups/create", nil,
		map[string]any{"instance_id": taurusdbsim.InstanceID(1), "name": "backup-1"}, "wrong-secret")
	assertError(t, a, http.StatusUnauthorized, huaweicloudsim.CodeAuthFailed)
	assert.Empty(t, s.Inventory())
	// Another project's path is refused even with a good signature.
	assertError(t, call(t, s, http.MethodGet, "/v3/ffffffffffffffffffffffffffffffff/backups", nil, nil, taurusdbsim.SecretKey),
		http.StatusForbidden, huaweicloudsim.CodeForbidden)
	ok := call(t, s, http.MethodGet, project+"/backups", nil, nil, taurusdbsim.SecretKey)
	assert.Equal(t, http.StatusOK, ok.Status, "%v", ok.Body)
	assert.Equal(t, 5, s.Calls())
}

func TestUnknownAPI(t *testing.T) {
	s := start(t, taurusdbsim.Options{})
	assertError(t, call(t, s, http.MethodGet, project+"/nothing-here", nil, nil, taurusdbsim.SecretKey), http.StatusNotFound, huaweicloudsim.CodeNoSuchAPI)
}

func TestBackupLifecycle(t *testing.T) {
	s := start(t, taurusdbsim.Options{Duration: time.Minute})
	inst := taurusdbsim.InstanceID(3)
	a := create(t, s, inst, "backup-one")
	require.Equal(t, http.StatusCreated, a.Status, "%v", a.Body)
	b := a.Body["backup"].(map[string]any)
	id, job := b["id"].(string), a.Str("job_id")
	assert.Equal(t, "BUILDING", b["status"])
	assert.Equal(t, "manual", b["type"])
	assert.Equal(t, inst, b["instance_id"])
	_, err := time.Parse(huaweicloudsim.TimeLayout, b["begin_time"].(string))
	require.NoError(t, err, "begin_time in the documented form")
	assert.NotEmpty(t, job)
	assert.Equal(t, []string{id}, s.Inventory())

	// jobState returns the job's status and process percent (-1: no figure).
	jobState := func() (string, int) {
		j := call(t, s, http.MethodGet, project+"/jobs", url.Values{"id": {job}}, nil, taurusdbsim.SecretKey)
		require.Equal(t, http.StatusOK, j.Status, "%v", j.Body)
		m := j.Body["job"].(map[string]any)
		process := m["process"].(string)
		if process == "" {
			return m["status"].(string), -1
		}
		pct, err := strconv.Atoi(strings.TrimSuffix(process, "%"))
		require.NoError(t, err)
		return m["status"].(string), pct
	}
	st, p0 := jobState()
	assert.Equal(t, "Running", st)
	s.Advance(30 * time.Second)
	st, p1 := jobState()
	assert.Equal(t, "Running", st)
	assert.Greater(t, p1, p0, "progress rises")
	assert.Less(t, p1, 100)

	// Another backup of the same instance is refused while this one runs.
	assertError(t, create(t, s, inst, "backup-two"), http.StatusConflict, huaweicloudsim.CodeBackupInProgress)
	// A building backup cannot be deleted.
	assertError(t, call(t, s, http.MethodDelete, project+"/backups/"+id, nil, nil, taurusdbsim.SecretKey), http.StatusConflict, huaweicloudsim.CodeBackupInProgress)

	s.Advance(time.Minute)
	st, p2 := jobState()
	assert.Equal(t, "Completed", st)
	assert.Equal(t, -1, p2, "only a running job has a process figure")
	list := call(t, s, http.MethodGet, project+"/backups", url.Values{"instance_id": {inst}, "backup_id": {id}}, nil, taurusdbsim.SecretKey)
	require.Equal(t, http.StatusOK, list.Status)
	backups := list.Body["backups"].([]any)
	require.Len(t, backups, 1)
	rec := backups[0].(map[string]any)
	assert.Equal(t, "COMPLETED", rec["status"])
	assert.NotEmpty(t, rec["end_time"])

	// Names are unique per instance, also after the backup finished:
	// TaurusDB answers 409 DBS.201209.
	assertError(t, create(t, s, inst, "backup-one"), http.StatusConflict, taurusdbsim.CodeNameExists)
	// The same name on another instance is fine.
	require.Equal(t, http.StatusCreated, create(t, s, taurusdbsim.InstanceID(4), "backup-one").Status)

	del := call(t, s, http.MethodDelete, project+"/backups/"+id, nil, nil, taurusdbsim.SecretKey)
	assert.Equal(t, http.StatusOK, del.Status, "%v", del.Body)
	assert.Equal(t, id, del.Str("backup_id"))
	assertError(t, call(t, s, http.MethodDelete, project+"/backups/"+id, nil, nil, taurusdbsim.SecretKey), http.StatusNotFound, huaweicloudsim.CodeNotFound)
	assert.Len(t, s.Inventory(), 1)
}

func TestCreateRules(t *testing.T) {
	s := start(t, taurusdbsim.Options{ManualBackupLimit: 2})
	cases := []struct {
		name   string
		body   map[string]any
		header []string
		status int
		code   string
	}{
		{"bad instance id", map[string]any{"instance_id": "abc", "name": "backup-1"}, nil, 400, huaweicloudsim.CodeInvalidParameter},
		{"unknown instance", map[string]any{"instance_id": "00000000000000000000000000000000in07", "name": "backup-1"}, nil, 404, huaweicloudsim.CodeNotFound},
		{"bad name", map[string]any{"instance_id": taurusdbsim.InstanceID(0), "name": "1x"}, nil, 400, huaweicloudsim.CodeInvalidParameter},
		{"bad description", map[string]any{"instance_id": taurusdbsim.InstanceID(0), "name": "backup-1", "description": "a=b"}, nil, 400, huaweicloudsim.CodeInvalidParameter},
		{"bad X-Language", map[string]any{"instance_id": taurusdbsim.InstanceID(0), "name": "backup-1"}, []string{"X-Language", "fr-fr"}, 400, huaweicloudsim.CodeInvalidParameter},
		{"busy instance", map[string]any{"instance_id": taurusdbsim.BusyInstance, "name": "backup-1"}, nil, 409, huaweicloudsim.CodeInstanceBusy},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assertError(t, call(t, s, http.MethodPost, project+"/backups/create", nil, c.body, taurusdbsim.SecretKey, c.header...), c.status, c.code)
		})
	}
	assert.Empty(t, s.Inventory())

	// The manual-backup quota of the project.
	require.Equal(t, http.StatusCreated, create(t, s, taurusdbsim.InstanceID(0), "backup-1").Status)
	require.Equal(t, http.StatusCreated, create(t, s, taurusdbsim.InstanceID(1), "backup-1").Status)
	assertError(t, create(t, s, taurusdbsim.InstanceID(2), "backup-1"), http.StatusRequestEntityTooLarge, huaweicloudsim.CodeManualBackupLimit)
	assert.Len(t, s.Inventory(), 2)
}

func TestFailingInstance(t *testing.T) {
	s := start(t, taurusdbsim.Options{})
	a := create(t, s, taurusdbsim.FailingInstance, "doomed")
	require.Equal(t, http.StatusCreated, a.Status)
	s.Advance(time.Hour)
	j := call(t, s, http.MethodGet, project+"/jobs", url.Values{"id": {a.Str("job_id")}}, nil, taurusdbsim.SecretKey)
	m := j.Body["job"].(map[string]any)
	assert.Equal(t, "Failed", m["status"])
	assert.NotEmpty(t, m["fail_reason"])
	st, ok := s.BackupStatus(a.Body["backup"].(map[string]any)["id"].(string))
	assert.True(t, ok)
	assert.Equal(t, "FAILED", st)
}

func TestJobVisibilityDelay(t *testing.T) {
	s := start(t, taurusdbsim.Options{JobVisibilityDelay: 5 * time.Second})
	a := create(t, s, taurusdbsim.InstanceID(0), "backup-1")
	job := a.Str("job_id")
	assertError(t, call(t, s, http.MethodGet, project+"/jobs", url.Values{"id": {job}}, nil, taurusdbsim.SecretKey), http.StatusNotFound, huaweicloudsim.CodeNotFound)
	jobs := call(t, s, http.MethodGet, project+"/immediate-jobs", nil, nil, taurusdbsim.SecretKey)
	assert.Empty(t, jobs.Body["jobs"], "not listed either")
	s.Advance(6 * time.Second)
	assert.Equal(t, http.StatusOK, call(t, s, http.MethodGet, project+"/jobs", url.Values{"id": {job}}, nil, taurusdbsim.SecretKey).Status)
	jobs = call(t, s, http.MethodGet, project+"/immediate-jobs",
		url.Values{"start_time": {time.Now().Add(-time.Hour).UTC().Format(huaweicloudsim.TimeLayout)}}, nil, taurusdbsim.SecretKey)
	list := jobs.Body["jobs"].([]any)
	require.Len(t, list, 1)
	assert.Equal(t, job, list[0].(map[string]any)["job_id"])
	assert.Equal(t, taurusdbsim.JobName, list[0].(map[string]any)["job_name"])
}

func TestInjectedFaults(t *testing.T) {
	s := start(t, taurusdbsim.Options{})
	s.FailNext(provider.Throttled, 1, 7*time.Second)
	a := call(t, s, http.MethodGet, project+"/backups", nil, nil, taurusdbsim.SecretKey)
	assertError(t, a, http.StatusTooManyRequests, huaweicloudsim.CodeThrottled)
	assert.Equal(t, "7", a.Header.Get("Retry-After"))
	s.FailNext(provider.Unavailable, 1, 0)
	assertError(t, call(t, s, http.MethodGet, project+"/backups", nil, nil, taurusdbsim.SecretKey), http.StatusServiceUnavailable, huaweicloudsim.CodeUnavailable)
	assert.Equal(t, 2, s.Faults())

	// A lost create is applied, but the client sees the connection drop.
	s.LoseNextCreate()
	raw, _ := json.Marshal(map[string]any{"instance_id": taurusdbsim.InstanceID(0), "name": "lost-one"})
	r, _ := http.NewRequest(http.MethodPost, s.Endpoint()+project+"/backups/create", bytes.NewReader(raw))
	r.Header.Set("Content-Type", "application/json")
	huaweicloudsim.SignRequest(r, raw, taurusdbsim.AccessKey, taurusdbsim.SecretKey, time.Now())
	_, err := http.DefaultClient.Do(r)
	require.Error(t, err, "no response")
	assert.Len(t, s.Inventory(), 1, "but the backup exists")
	assert.Equal(t, 3, s.Faults())
}

// A dropped create never reaches the provider: nothing is applied.
func TestDropNextCreate(t *testing.T) {
	s := start(t, taurusdbsim.Options{})
	s.DropNextCreate()
	assertError(t, call(t, s, http.MethodGet, project+"/backups", nil, nil, "wrong-secret"), http.StatusUnauthorized, huaweicloudsim.CodeAuthFailed)
	require.Equal(t, http.StatusOK, call(t, s, http.MethodGet, project+"/backups", nil, nil, taurusdbsim.SecretKey).Status, "only a create is dropped")
	raw, _ := json.Marshal(map[string]any{"instance_id": taurusdbsim.InstanceID(0), "name": "dropped-one"})
	r, _ := http.NewRequest(http.MethodPost, s.Endpoint()+project+"/backups/create", bytes.NewReader(raw))
	r.Header.Set("Content-Type", "application/json")
	huaweicloudsim.SignRequest(r, raw, taurusdbsim.AccessKey, taurusdbsim.SecretKey, time.Now())
	_, err := http.DefaultClient.Do(r)
	require.Error(t, err, "no response")
	assert.Empty(t, s.Inventory(), "and no backup")
	assert.Equal(t, 1, s.Faults())
	require.Equal(t, http.StatusCreated, create(t, s, taurusdbsim.InstanceID(0), "dropped-one").Status, "only the next create")
}

// A foreign backup is what a person makes in the console: the target's name
// on its instance, begun now, with its own job, and a description that
// carries no backupflow marker. The create API's rules hold against it.
func TestAddForeign(t *testing.T) {
	s := start(t, taurusdbsim.Options{Duration: time.Minute})
	inst := taurusdbsim.InstanceID(4)
	id := s.AddForeign(provider.Target{Resource: inst, BackupName: "console-one"})
	assert.Equal(t, []string{id}, s.Inventory())
	_, ok := s.JobOf(id)
	assert.True(t, ok, "it has a job, as a console backup does")

	l := call(t, s, http.MethodGet, project+"/backups", url.Values{"instance_id": {inst}, "name": {"console-one"}}, nil, taurusdbsim.SecretKey)
	require.Equal(t, http.StatusOK, l.Status, "%v", l.Body)
	items := l.Body["backups"].([]any)
	require.Len(t, items, 1)
	b := items[0].(map[string]any)
	assert.Equal(t, id, b["id"])
	assert.Equal(t, inst, b["instance_id"])
	assert.Equal(t, "BUILDING", b["status"])
	assert.Equal(t, huaweicloudsim.ForeignDescription, b["description"])
	assert.NotContains(t, b["description"], provider.MarkerPrefix)
	begin, err := time.Parse(huaweicloudsim.TimeLayout, b["begin_time"].(string))
	require.NoError(t, err)
	assert.WithinDuration(t, s.Now(), begin, 2*time.Second)

	s.Advance(time.Minute)
	assertError(t, create(t, s, inst, "console-one"), http.StatusConflict, taurusdbsim.CodeNameExists)
}

// The description is stored and returned as sent, in the create answer and
// the list, under the documented rule: at most 256 characters, no carriage
// return and none of ! < " = ' > &. A marker that broke the rule would be
// refused.
func TestDescriptionKeptVerbatim(t *testing.T) {
	s := start(t, taurusdbsim.Options{})
	marker := provider.Owner{WorkflowID: "wf", RunID: "r"}.Marker()
	longest := strings.Repeat("ü", 256-len(marker)-1) + " " + marker
	post := func(inst int, description string) answer {
		return call(t, s, http.MethodPost, project+"/backups/create", nil,
			map[string]any{"instance_id": taurusdbsim.InstanceID(inst), "name": "described", "description": description}, taurusdbsim.SecretKey)
	}
	a := post(20, longest)
	require.Equal(t, http.StatusCreated, a.Status, "%v", a.Body)
	b := a.Body["backup"].(map[string]any)
	assert.Equal(t, longest, b["description"])
	l := call(t, s, http.MethodGet, project+"/backups", url.Values{"backup_id": {b["id"].(string)}}, nil, taurusdbsim.SecretKey)
	require.Len(t, l.Body["backups"], 1)
	assert.Equal(t, longest, l.Body["backups"].([]any)[0].(map[string]any)["description"])

	for i, bad := range []string{"ü" + longest, "backupflow=0123", "made by <me>", "a\rb"} {
		assertError(t, post(21+i, bad), http.StatusBadRequest, huaweicloudsim.CodeInvalidParameter)
	}
}

func TestLatency(t *testing.T) {
	s := start(t, taurusdbsim.Options{})
	s.SetLatency(150 * time.Millisecond)
	began := time.Now()
	call(t, s, http.MethodGet, project+"/backups", nil, nil, taurusdbsim.SecretKey)
	assert.GreaterOrEqual(t, time.Since(began), 150*time.Millisecond)
}

func TestFixture(t *testing.T) {
	seen := map[string]bool{}
	for i := range taurusdbsim.DefaultResources {
		id := taurusdbsim.InstanceID(i)
		assert.Len(t, id, 36)
		assert.True(t, strings.HasSuffix(id, "in07"))
		assert.False(t, seen[id], "distinct")
		seen[id] = true
	}
	assert.Equal(t, taurusdbsim.InstanceID(5), taurusdbsim.InstanceID(5), "deterministic")
	for _, id := range []string{taurusdbsim.BusyInstance, taurusdbsim.FailingInstance} {
		assert.Len(t, id, 36)
		assert.True(t, strings.HasSuffix(id, "in07"))
		assert.False(t, seen[id], "special instances are not demo instances")
	}
	var a, b map[string]string
	require.NoError(t, json.Unmarshal(taurusdbsim.CreateSection(7), &a))
	require.NoError(t, json.Unmarshal(taurusdbsim.CreateSection(7), &b))
	assert.Equal(t, taurusdbsim.InstanceID(7), a["instance_id"])
	assert.Equal(t, taurusdbsim.InstanceID(7), taurusdbsim.InstanceID(207%taurusdbsim.DefaultResources))
	assert.NotEqual(t, a["name"], b["name"], "names never collide")
}

func TestBackupListPages(t *testing.T) {
	const pageSize = 2
	s := start(t, taurusdbsim.Options{PageSize: pageSize})
	instance := taurusdbsim.InstanceID(3)
	made := s.AddBackups(instance, 5)
	huaweiclient.CheckBackupListPaging(t, func(q url.Values) answer {
		q.Set("instance_id", instance)
		return call(t, s, http.MethodGet, project+"/backups", q, nil, taurusdbsim.SecretKey)
	}, made, pageSize, huaweicloudsim.CodeInvalidParameter)
}
