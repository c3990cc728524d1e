package otcrds_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	hw "github.com/backupflow/backupflow/simulator/huaweicloud"
	"github.com/backupflow/backupflow/simulator/huaweicloud/huaweitest"
	sim "github.com/backupflow/backupflow/simulator/otcrds"
)

type answer = huaweitest.Answer

var (
	start       = huaweitest.Starter(sim.Start)
	assertError = huaweitest.AssertError
	token       = huaweitest.Token
	none        = huaweitest.Unsigned
)

func signed(secret string) huaweitest.Auth { return huaweitest.Signed(sim.AccessKey, secret) }

func call(t *testing.T, s *sim.Server, method, path string, query url.Values, body any, auth huaweitest.Auth) answer {
	t.Helper()
	return huaweitest.Call(t, s.Endpoint(), method, path, query, body, auth)
}

var project = "/v3/" + sim.ProjectID

func tokenRequest(user, password, domain, projectID string) map[string]any {
	return map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{
			"user": map[string]any{"name": user, "password": password, "domain": map[string]any{"name": domain}}}},
		"scope": map[string]any{"project": map[string]any{"id": projectID}},
	}}
}

func getToken(t *testing.T, s *sim.Server) string {
	t.Helper()
	a := call(t, s, http.MethodPost, "/v3/auth/tokens", nil, tokenRequest(sim.Username, sim.Password, sim.Domain, sim.ProjectID), none)
	require.Equal(t, http.StatusCreated, a.Status, "%v", a.Body)
	tok := a.Header.Get("X-Subject-Token")
	require.NotEmpty(t, tok)
	return tok
}

func TestIAMTokens(t *testing.T) {
	s := start(t, sim.Options{TokenTTL: time.Hour})
	a := call(t, s, http.MethodPost, "/v3/auth/tokens", nil, tokenRequest(sim.Username, sim.Password, sim.Domain, sim.ProjectID), none)
	require.Equal(t, http.StatusCreated, a.Status)
	tk := a.Body["token"].(map[string]any)
	issued, err := time.Parse(time.RFC3339, tk["issued_at"].(string))
	require.NoError(t, err)
	expires, err := time.Parse(time.RFC3339, tk["expires_at"].(string))
	require.NoError(t, err)
	assert.Equal(t, time.Hour, expires.Sub(issued))
	tok := a.Header.Get("X-Subject-Token")

	// Wrong password, domain or project scope: the IAM error shape, no token.
	for _, req := range []map[string]any{
		tokenRequest(sim.Username, "wrong", sim.Domain, sim.ProjectID),
		tokenRequest(sim.Username, sim.Password, "OTHERDOMAIN", sim.ProjectID),
	} {
		bad := call(t, s, http.MethodPost, "/v3/auth/tokens", nil, req, none)
		assert.Equal(t, http.StatusUnauthorized, bad.Status)
		assert.Empty(t, bad.Header.Get("X-Subject-Token"))
		assert.NotNil(t, bad.Body["error"])
	}
	bad := call(t, s, http.MethodPost, "/v3/auth/tokens", nil, tokenRequest(sim.Username, sim.Password, sim.Domain, "ffffffffffffffffffffffffffffffff"), none)
	assert.Equal(t, http.StatusBadRequest, bad.Status)
	assert.Equal(t, 1, s.TokensIssued())

	// The token works, for its project only, until it expires.
	assert.Equal(t, http.StatusOK, call(t, s, http.MethodGet, project+"/instances", nil, nil, token(tok)).Status)
	assertError(t, call(t, s, http.MethodGet, "/v3/ffffffffffffffffffffffffffffffff/instances", nil, nil, token(tok)), http.StatusForbidden, hw.CodeForbidden)
	assertError(t, call(t, s, http.MethodGet, project+"/instances", nil, nil, token("forged")), http.StatusUnauthorized, hw.CodeAuthFailed)
	s.Advance(time.Hour)
	assertError(t, call(t, s, http.MethodGet, project+"/instances", nil, nil, token(tok)), http.StatusUnauthorized, hw.CodeTokenExpired)

	// Revoked tokens are refused.
	tok2 := getToken(t, s)
	assert.Equal(t, http.StatusOK, call(t, s, http.MethodGet, project+"/instances", nil, nil, token(tok2)).Status)
	s.RevokeTokens()
	assertError(t, call(t, s, http.MethodGet, project+"/instances", nil, nil, token(tok2)), http.StatusUnauthorized, hw.CodeAuthFailed)
}

func TestAKSKSignature(t *testing.T) {
	s := start(t, sim.Options{})
	assert.Equal(t, http.StatusOK, call(t, s, http.MethodGet, project+"/instances", nil, nil, signed(sim.SecretKey)).Status)
	assertError(t, call(t, s, http.MethodGet, project+"/instances", nil, nil, signed("wrong")), http.StatusUnauthorized, hw.CodeAuthFailed)
	assertError(t, call(t, s, http.MethodGet, project+"/instances", nil, nil, none), http.StatusUnauthorized, hw.CodeAuthFailed)
	a := call(t, s, http.MethodPost, project+"/backups", nil, map[string]any{"instance_id": sim.InstanceID(0), "name": "backup-1"}, signed("wrong"))
	assertError(t, a, http.StatusUnauthorized, hw.CodeAuthFailed)
	assert.Empty(t, s.Inventory())
}

func TestInstances(t *testing.T) {
	s := start(t, sim.Options{Resources: 3})
	all := call(t, s, http.MethodGet, project+"/instances", nil, nil, signed(sim.SecretKey))
	assert.EqualValues(t, 3+6, all.Body["total_count"])
	one := func(id string) map[string]any {
		a := call(t, s, http.MethodGet, project+"/instances", url.Values{"id": {id}}, nil, signed(sim.SecretKey))
		list := a.Body["instances"].([]any)
		require.Len(t, list, 1)
		return list[0].(map[string]any)
	}
	assert.Equal(t, "Replica", one(sim.ReplicaInstance)["type"])
	assert.Equal(t, "SQLServer", one(sim.SQLServerInstance)["datastore"].(map[string]any)["type"])
	assert.Equal(t, "PostgreSQL", one(sim.PostgreSQLInstance)["datastore"].(map[string]any)["type"])
	assert.Equal(t, "MODIFYING", one(sim.BusyInstance)["status"])
	m := one(sim.InstanceID(1))
	assert.Equal(t, "MySQL", m["datastore"].(map[string]any)["type"])
	assert.Equal(t, "ACTIVE", m["status"])
	none := call(t, s, http.MethodGet, project+"/instances", url.Values{"id": {"0123456789abcdef0123456789abcdefin01"}}, nil, signed(sim.SecretKey))
	assert.Empty(t, none.Body["instances"])
}

func TestCreateRules(t *testing.T) {
	s := start(t, sim.Options{ManualBackupLimit: 3})
	post := func(body map[string]any) answer {
		return call(t, s, http.MethodPost, project+"/backups", nil, body, signed(sim.SecretKey))
	}
	cases := []struct {
		name   string
		body   map[string]any
		status int
		code   string
	}{
		{"read replica", map[string]any{"instance_id": sim.ReplicaInstance, "name": "backup-1"}, 400, hw.CodeInvalidParameter},
		{"databases on MySQL", map[string]any{"instance_id": sim.InstanceID(0), "name": "backup-1", "databases": []map[string]string{{"name": "sales"}}}, 400, hw.CodeInvalidParameter},
		{"databases on PostgreSQL", map[string]any{"instance_id": sim.PostgreSQLInstance, "name": "backup-1", "databases": []map[string]string{{"name": "sales"}}}, 400, hw.CodeInvalidParameter},
		{"unknown SQL Server database", map[string]any{"instance_id": sim.SQLServerInstance, "name": "backup-1", "databases": []map[string]string{{"name": "nope"}}}, 400, hw.CodeInvalidParameter},
		{"bad name", map[string]any{"instance_id": sim.InstanceID(0), "name": "a"}, 400, hw.CodeInvalidParameter},
		{"bad description", map[string]any{"instance_id": sim.InstanceID(0), "name": "backup-1", "description": "x>y"}, 400, hw.CodeInvalidParameter},
		{"unknown instance", map[string]any{"instance_id": "0123456789abcdef0123456789abcdefin01", "name": "backup-1"}, 404, hw.CodeNotFound},
		{"busy instance", map[string]any{"instance_id": sim.BusyInstance, "name": "backup-1"}, 409, hw.CodeInstanceBusyRDS},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { assertError(t, post(c.body), c.status, c.code) })
	}
	assert.Empty(t, s.Inventory())

	// A partial backup of SQL Server databases.
	a := post(map[string]any{"instance_id": sim.SQLServerInstance, "name": "partial-1", "databases": []map[string]string{{"name": "sales"}, {"name": "audit"}}})
	require.Equal(t, http.StatusOK, a.Status, "%v", a.Body)
	b := a.Body["backup"].(map[string]any)
	assert.Equal(t, "BUILDING", b["status"])
	assert.Len(t, b["databases"], 2)
	assertError(t, post(map[string]any{"instance_id": sim.SQLServerInstance, "name": "partial-2"}), http.StatusConflict, hw.CodeBackupInProgRDS)
	s.Advance(time.Minute)
	assertError(t, post(map[string]any{"instance_id": sim.SQLServerInstance, "name": "partial-1"}), http.StatusBadRequest, hw.CodeNameExists)
	require.Equal(t, http.StatusOK, post(map[string]any{"instance_id": sim.InstanceID(0), "name": "partial-1"}).Status)
	require.Equal(t, http.StatusOK, post(map[string]any{"instance_id": sim.InstanceID(1), "name": "x-1234"}).Status)
	assertError(t, post(map[string]any{"instance_id": sim.InstanceID(2), "name": "x-1234"}), http.StatusRequestEntityTooLarge, hw.CodeManualBackupLimit)
	assert.Len(t, s.Inventory(), 3)
}

func TestBackupLifecycle(t *testing.T) {
	s := start(t, sim.Options{Duration: time.Minute})
	tok := getToken(t, s)
	inst := sim.InstanceID(5)
	a := call(t, s, http.MethodPost, project+"/backups", nil, map[string]any{"instance_id": inst, "name": "backup-1", "description": "d"}, token(tok))
	require.Equal(t, http.StatusOK, a.Status, "%v", a.Body)
	id := a.Body["backup"].(map[string]any)["id"].(string)
	assert.NotContains(t, a.Body, "job_id", "OTC returns no job ID")

	list := func() map[string]any {
		l := call(t, s, http.MethodGet, project+"/backups", url.Values{"instance_id": {inst}, "backup_id": {id}}, nil, token(tok))
		require.Equal(t, http.StatusOK, l.Status, "%v", l.Body)
		items := l.Body["backups"].([]any)
		require.Len(t, items, 1)
		return items[0].(map[string]any)
	}
	assert.Equal(t, "BUILDING", list()["status"])
	assertError(t, call(t, s, http.MethodDelete, project+"/backups/"+id, nil, nil, token(tok)), http.StatusConflict, hw.CodeBackupInProgress)
	s.Advance(time.Minute)
	rec := list()
	assert.Equal(t, "COMPLETED", rec["status"])
	assert.NotEmpty(t, rec["end_time"])
	assert.Equal(t, http.StatusOK, call(t, s, http.MethodDelete, project+"/backups/"+id, nil, nil, token(tok)).Status)
	assertError(t, call(t, s, http.MethodDelete, project+"/backups/"+id, nil, nil, token(tok)), http.StatusNotFound, hw.CodeNotFound)
	assert.Empty(t, s.Inventory())
	// instance_id is mandatory on the list.
	assertError(t, call(t, s, http.MethodGet, project+"/backups", nil, nil, token(tok)), http.StatusBadRequest, hw.CodeInvalidParameter)
}

func TestDateHeaderFollowsSimulatorClock(t *testing.T) {
	s := start(t, sim.Options{})
	s.Advance(3 * time.Hour)
	a := call(t, s, http.MethodGet, project+"/instances", nil, nil, signed(sim.SecretKey))
	date, err := http.ParseTime(a.Header.Get("Date"))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(3*time.Hour), date, 5*time.Second)
}

func TestFixture(t *testing.T) {
	for _, id := range []string{sim.InstanceID(0), sim.InstanceID(199), sim.ReplicaInstance, sim.ReplicaPrimary,
		sim.SQLServerInstance, sim.PostgreSQLInstance, sim.BusyInstance, sim.FailingInstance} {
		assert.Len(t, id, 36, id)
		assert.Regexp(t, `^[0-9a-f]{32}in0[134]$`, id)
	}
	assert.True(t, strings.HasSuffix(sim.SQLServerInstance, "in04"))
	assert.True(t, strings.HasSuffix(sim.PostgreSQLInstance, "in03"))
	var sec map[string]any
	require.NoError(t, json.Unmarshal(sim.CreateSection(12), &sec))
	assert.Equal(t, sim.InstanceID(12), sec["instance_id"])
}
