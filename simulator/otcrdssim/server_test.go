package otcrdssim_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/simulator/huaweicloudsim"
	"github.com/backupflow/backupflow/simulator/huaweicloudsim/huaweiclient"
	"github.com/backupflow/backupflow/simulator/otcrdssim"
)

type answer = huaweiclient.Answer

var (
	start       = huaweiclient.Starter(otcrdssim.Start)
	assertError = huaweiclient.AssertError
	token       = huaweiclient.Token
	none        = huaweiclient.Unsigned
)

// signed signs requests in OTC's form (Credential scope, derived key), with
// the empty region and service OTC's SDK uses.
func signed(secret string) huaweiclient.Auth {
	return func(r *http.Request, raw []byte) {
		huaweicloudsim.SignScopedRequest(r, raw, otcrdssim.AccessKey, secret, "", "", time.Now())
	}
}

// huaweiSigned signs requests in the Huawei SDK's form (Access=, raw secret key).
func huaweiSigned(secret string) huaweiclient.Auth {
	return huaweiclient.Signed(otcrdssim.AccessKey, secret)
}

// OTC's gateway codes (APIG.xxxx, where Huawei Cloud says APIGW.xxxx).
const (
	codeAuthFailed   = "APIG.0301"
	codeForbidden    = "APIG.0302"
	codeTokenExpired = "APIG.0307"
)

func call(t *testing.T, s *otcrdssim.Server, method, path string, query url.Values, body any, auth huaweiclient.Auth) answer {
	t.Helper()
	return huaweiclient.Call(t, s.Endpoint(), method, path, query, body, auth)
}

var project = "/v3/" + otcrdssim.ProjectID

func tokenRequest(user, password, domain, projectID string) map[string]any {
	return map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{
			"user": map[string]any{"name": user, "password": password, "domain": map[string]any{"name": domain}}}},
		"scope": map[string]any{"project": map[string]any{"id": projectID}},
	}}
}

func getToken(t *testing.T, s *otcrdssim.Server) string {
	t.Helper()
	a := call(t, s, http.MethodPost, "/v3/auth/tokens", nil, tokenRequest(otcrdssim.Username, otcrdssim.Password, otcrdssim.Domain, otcrdssim.ProjectID), none)
	require.Equal(t, http.StatusCreated, a.Status, "%v", a.Body)
	tok := a.Header.Get("X-Subject-Token")
	require.NotEmpty(t, tok)
	return tok
}

func TestIAMTokens(t *testing.T) {
	s := start(t, otcrdssim.Options{TokenTTL: time.Hour})
	a := call(t, s, http.MethodPost, "/v3/auth/tokens", nil, tokenRequest(otcrdssim.Username, otcrdssim.Password, otcrdssim.Domain, otcrdssim.ProjectID), none)
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
		tokenRequest(otcrdssim.Username, "wrong", otcrdssim.Domain, otcrdssim.ProjectID),
		tokenRequest(otcrdssim.Username, otcrdssim.Password, "OTHERDOMAIN", otcrdssim.ProjectID),
	} {
		bad := call(t, s, http.MethodPost, "/v3/auth/tokens", nil, req, none)
		assert.Equal(t, http.StatusUnauthorized, bad.Status)
		assert.Empty(t, bad.Header.Get("X-Subject-Token"))
		assert.NotNil(t, bad.Body["error"])
	}
	bad := call(t, s, http.MethodPost, "/v3/auth/tokens", nil, tokenRequest(otcrdssim.Username, otcrdssim.Password, otcrdssim.Domain, "ffffffffffffffffffffffffffffffff"), none)
	assert.Equal(t, http.StatusBadRequest, bad.Status)
	assert.Equal(t, 1, s.TokensIssued())

	// The token works, for its project only, until it expires.
	assert.Equal(t, http.StatusOK, call(t, s, http.MethodGet, project+"/instances", nil, nil, token(tok)).Status)
	assertError(t, call(t, s, http.MethodGet, "/v3/ffffffffffffffffffffffffffffffff/instances", nil, nil, token(tok)), http.StatusForbidden, codeForbidden)
	assertError(t, call(t, s, http.MethodGet, project+"/instances", nil, nil, token("forged")), http.StatusUnauthorized, codeAuthFailed)
	s.Advance(time.Hour)
	assertError(t, call(t, s, http.MethodGet, project+"/instances", nil, nil, token(tok)), http.StatusUnauthorized, codeTokenExpired)

	// Revoked tokens are refused.
	tok2 := getToken(t, s)
	assert.Equal(t, http.StatusOK, call(t, s, http.MethodGet, project+"/instances", nil, nil, token(tok2)).Status)
	s.RevokeTokens()
	assertError(t, call(t, s, http.MethodGet, project+"/instances", nil, nil, token(tok2)), http.StatusUnauthorized, codeAuthFailed)
}

// OTC verifies its own signature form and refuses the Huawei SDK's, as it
// refuses any bad signature: 401 APIG.0301.
func TestAKSKSignature(t *testing.T) {
	s := start(t, otcrdssim.Options{})
	assert.Equal(t, http.StatusOK, call(t, s, http.MethodGet, project+"/instances", nil, nil, signed(otcrdssim.SecretKey)).Status)
	cases := []struct {
		name string
		auth huaweiclient.Auth
	}{
		{"Huawei SDK form, right secret", huaweiSigned(otcrdssim.SecretKey)},
		{"OTC form, wrong secret", signed("wrong")},
		{"no credentials", none},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := call(t, s, http.MethodGet, project+"/instances", nil, nil, c.auth)
			assertError(t, a, http.StatusUnauthorized, codeAuthFailed)
			assert.NotContains(t, a.Str("error_msg"), otcrdssim.SecretKey)
			assert.NotContains(t, a.Str("error_msg"), "Signature=")
		})
	}
	a := call(t, s, http.MethodPost, project+"/backups", nil, map[string]any{"instance_id": otcrdssim.InstanceID(0), "name": "backup-1"}, huaweiSigned(otcrdssim.SecretKey))
	assertError(t, a, http.StatusUnauthorized, codeAuthFailed)
	assert.Empty(t, s.Inventory())
	// Another project's path: 403 APIG.0302.
	assertError(t, call(t, s, http.MethodGet, "/v3/ffffffffffffffffffffffffffffffff/instances", nil, nil, signed(otcrdssim.SecretKey)), http.StatusForbidden, codeForbidden)
	// A path the API does not have: 404 APIG.0101.
	assertError(t, call(t, s, http.MethodGet, project+"/nothing-here", nil, nil, signed(otcrdssim.SecretKey)), http.StatusNotFound, "APIG.0101")
}

func TestInstances(t *testing.T) {
	s := start(t, otcrdssim.Options{Resources: 3})
	all := call(t, s, http.MethodGet, project+"/instances", nil, nil, signed(otcrdssim.SecretKey))
	assert.EqualValues(t, 3+6, all.Body["total_count"])
	one := func(id string) map[string]any {
		a := call(t, s, http.MethodGet, project+"/instances", url.Values{"id": {id}}, nil, signed(otcrdssim.SecretKey))
		list := a.Body["instances"].([]any)
		require.Len(t, list, 1)
		return list[0].(map[string]any)
	}
	assert.Equal(t, "Replica", one(otcrdssim.ReplicaInstance)["type"])
	assert.Equal(t, "SQLServer", one(otcrdssim.SQLServerInstance)["datastore"].(map[string]any)["type"])
	assert.Equal(t, "PostgreSQL", one(otcrdssim.PostgreSQLInstance)["datastore"].(map[string]any)["type"])
	assert.Equal(t, "MODIFYING", one(otcrdssim.BusyInstance)["status"])
	m := one(otcrdssim.InstanceID(1))
	assert.Equal(t, "MySQL", m["datastore"].(map[string]any)["type"])
	assert.Equal(t, "ACTIVE", m["status"])
	none := call(t, s, http.MethodGet, project+"/instances", url.Values{"id": {"0123456789abcdef0123456789abcdefin01"}}, nil, signed(otcrdssim.SecretKey))
	assert.Empty(t, none.Body["instances"])
}

func TestCreateRules(t *testing.T) {
	s := start(t, otcrdssim.Options{ManualBackupLimit: 3})
	post := func(body map[string]any) answer {
		return call(t, s, http.MethodPost, project+"/backups", nil, body, signed(otcrdssim.SecretKey))
	}
	cases := []struct {
		name   string
		body   map[string]any
		status int
		code   string
	}{
		{"instance_id missing", map[string]any{"name": "backup-1"}, 400, otcrdssim.CodeParameterError},
		{"read replica", map[string]any{"instance_id": otcrdssim.ReplicaInstance, "name": "backup-1"}, 400, otcrdssim.CodeParameterError},
		{"databases on MySQL", map[string]any{"instance_id": otcrdssim.InstanceID(0), "name": "backup-1", "databases": []map[string]string{{"name": "sales"}}}, 400, otcrdssim.CodeParameterError},
		{"databases on PostgreSQL", map[string]any{"instance_id": otcrdssim.PostgreSQLInstance, "name": "backup-1", "databases": []map[string]string{{"name": "sales"}}}, 400, otcrdssim.CodeParameterError},
		{"unknown SQL Server database", map[string]any{"instance_id": otcrdssim.SQLServerInstance, "name": "backup-1", "databases": []map[string]string{{"name": "nope"}}}, 400, otcrdssim.CodeNoSuchDatabase},
		{"bad name", map[string]any{"instance_id": otcrdssim.InstanceID(0), "name": "a"}, 400, otcrdssim.CodeParameterError},
		{"bad description", map[string]any{"instance_id": otcrdssim.InstanceID(0), "name": "backup-1", "description": "x>y"}, 400, otcrdssim.CodeInvalidDescription},
		{"unknown instance", map[string]any{"instance_id": "0123456789abcdef0123456789abcdefin01", "name": "backup-1"}, 404, otcrdssim.CodeInstanceNotFound},
		{"busy instance", map[string]any{"instance_id": otcrdssim.BusyInstance, "name": "backup-1"}, 409, otcrdssim.CodeInstanceBusy},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { assertError(t, post(c.body), c.status, c.code) })
	}
	assert.Empty(t, s.Inventory())

	// A partial backup of SQL Server databases.
	a := post(map[string]any{"instance_id": otcrdssim.SQLServerInstance, "name": "partial-1", "databases": []map[string]string{{"name": "sales"}, {"name": "audit"}}})
	require.Equal(t, http.StatusOK, a.Status, "%v", a.Body)
	b := a.Body["backup"].(map[string]any)
	assert.Equal(t, "BUILDING", b["status"])
	assert.Len(t, b["databases"], 2)
	assertError(t, post(map[string]any{"instance_id": otcrdssim.SQLServerInstance, "name": "partial-2"}), http.StatusConflict, otcrdssim.CodeBackupInProgress)
	s.Advance(time.Minute)
	require.Equal(t, http.StatusOK, post(map[string]any{"instance_id": otcrdssim.InstanceID(1), "name": "x-1234"}).Status)
	require.Equal(t, http.StatusOK, post(map[string]any{"instance_id": otcrdssim.InstanceID(2), "name": "y-1234"}).Status)
	assertError(t, post(map[string]any{"instance_id": otcrdssim.InstanceID(3), "name": "z-1234"}), http.StatusRequestEntityTooLarge, otcrdssim.CodeManualBackupLimit)
	assert.Len(t, s.Inventory(), 3)
}

// A backup name is unique in the whole project (otcrdssim.NameScope): the same name
// on another instance is refused, 409 DBS.201201, until that backup is gone.
func TestNameUniqueInProject(t *testing.T) {
	require.Equal(t, "project", otcrdssim.NameScope)
	s := start(t, otcrdssim.Options{Duration: time.Minute, DeleteDuration: time.Minute})
	post := func(inst int) answer {
		return call(t, s, http.MethodPost, project+"/backups", nil, map[string]any{"instance_id": otcrdssim.InstanceID(inst), "name": "nightly"}, signed(otcrdssim.SecretKey))
	}
	a := post(0)
	require.Equal(t, http.StatusOK, a.Status, "%v", a.Body)
	id := a.Body["backup"].(map[string]any)["id"].(string)
	assertError(t, post(0), http.StatusConflict, otcrdssim.CodeNameExists)
	assertError(t, post(1), http.StatusConflict, otcrdssim.CodeNameExists)
	s.Advance(time.Minute)
	require.Equal(t, http.StatusOK, call(t, s, http.MethodDelete, project+"/backups/"+id, nil, nil, signed(otcrdssim.SecretKey)).Status)
	assertError(t, post(1), http.StatusConflict, otcrdssim.CodeNameExists) // a backup being deleted still holds its name
	s.Advance(time.Minute)
	assert.Equal(t, http.StatusOK, post(1).Status, "the name is free once the backup is gone")
}

func TestBackupLifecycle(t *testing.T) {
	s := start(t, otcrdssim.Options{Duration: time.Minute})
	tok := getToken(t, s)
	inst := otcrdssim.InstanceID(5)
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
	del := func() answer { return call(t, s, http.MethodDelete, project+"/backups/"+id, nil, nil, token(tok)) }
	assertError(t, del(), http.StatusConflict, otcrdssim.CodeBackupBuilding)
	s.Advance(time.Minute)
	rec := list()
	assert.Equal(t, "COMPLETED", rec["status"])
	assert.NotEmpty(t, rec["end_time"])
	assert.EqualValues(t, 2097152, rec["size"], "kB")
	assert.Equal(t, http.StatusOK, del().Status)
	// Deletion takes DeleteDuration: the backup shows DELETING meanwhile.
	assert.Equal(t, "DELETING", list()["status"])
	st, ok := s.BackupStatus(id)
	assert.True(t, ok)
	assert.Equal(t, "DELETING", st)
	assert.Empty(t, s.Inventory(), "a backup being deleted is not left behind")
	assertError(t, del(), http.StatusBadRequest, otcrdssim.CodeBackupDeleting)
	s.Advance(otcrdssim.DefaultDeleteDuration)
	l := call(t, s, http.MethodGet, project+"/backups", url.Values{"instance_id": {inst}, "backup_id": {id}}, nil, token(tok))
	assert.Empty(t, l.Body["backups"])
	_, ok = s.BackupStatus(id)
	assert.False(t, ok)
	assertError(t, del(), http.StatusNotFound, otcrdssim.CodeBackupNotFound)
	// instance_id is mandatory on the list.
	assertError(t, call(t, s, http.MethodGet, project+"/backups", nil, nil, token(tok)), http.StatusBadRequest, otcrdssim.CodeParameterError)
}

// A foreign backup is what a person makes in the console: the target's name
// on its instance, begun now, with a description that carries no backupflow
// marker. The project-wide name rule holds against it.
func TestAddForeign(t *testing.T) {
	s := start(t, otcrdssim.Options{Duration: time.Minute})
	inst := otcrdssim.InstanceID(4)
	id := s.AddForeign(provider.Target{Resource: inst, BackupName: "console-one"})
	assert.Equal(t, []string{id}, s.Inventory())
	stored, ok := s.Description(id)
	require.True(t, ok)
	assert.Equal(t, huaweicloudsim.ForeignDescription, stored)
	assert.NotContains(t, stored, provider.MarkerPrefix)

	l := call(t, s, http.MethodGet, project+"/backups", url.Values{"instance_id": {inst}}, nil, signed(otcrdssim.SecretKey))
	require.Equal(t, http.StatusOK, l.Status, "%v", l.Body)
	items := l.Body["backups"].([]any)
	require.Len(t, items, 1)
	b := items[0].(map[string]any)
	assert.Equal(t, id, b["id"])
	assert.Equal(t, "console-one", b["name"])
	assert.Equal(t, "BUILDING", b["status"])
	begin, err := time.Parse(huaweicloudsim.TimeLayout, b["begin_time"].(string))
	require.NoError(t, err)
	assert.WithinDuration(t, s.Now(), begin, 2*time.Second)

	s.Advance(time.Minute)
	a := call(t, s, http.MethodPost, project+"/backups", nil, map[string]any{"instance_id": otcrdssim.InstanceID(5), "name": "console-one"}, signed(otcrdssim.SecretKey))
	assertError(t, a, http.StatusConflict, otcrdssim.CodeNameExists)
}

// The description is stored as sent and echoed by the create answer, under
// the documented rule (a marker that broke it would be refused); the
// documented backup list has no description field, so it returns none.
func TestDescriptionStoredNotListed(t *testing.T) {
	s := start(t, otcrdssim.Options{})
	marker := provider.Owner{WorkflowID: "wf", RunID: "r"}.Marker()
	longest := strings.Repeat("ü", 256-len(marker)-1) + " " + marker
	post := func(inst int, name, description string) answer {
		return call(t, s, http.MethodPost, project+"/backups", nil,
			map[string]any{"instance_id": otcrdssim.InstanceID(inst), "name": name, "description": description}, signed(otcrdssim.SecretKey))
	}
	a := post(20, "described", longest)
	require.Equal(t, http.StatusOK, a.Status, "%v", a.Body)
	b := a.Body["backup"].(map[string]any)
	assert.Equal(t, longest, b["description"])
	id := b["id"].(string)
	stored, ok := s.Description(id)
	require.True(t, ok)
	assert.Equal(t, longest, stored)
	l := call(t, s, http.MethodGet, project+"/backups", url.Values{"instance_id": {otcrdssim.InstanceID(20)}, "backup_id": {id}}, nil, signed(otcrdssim.SecretKey))
	require.Len(t, l.Body["backups"], 1)
	assert.NotContains(t, l.Body["backups"].([]any)[0], "description")

	for i, bad := range []string{"ü" + longest, "backupflow=0123", "made by <me>", "a\rb"} {
		assertError(t, post(21+i, "refused-"+string(rune('a'+i)), bad), http.StatusBadRequest, otcrdssim.CodeInvalidDescription)
	}
}

func TestDateHeaderFollowsSimulatorClock(t *testing.T) {
	s := start(t, otcrdssim.Options{})
	s.Advance(3 * time.Hour)
	a := call(t, s, http.MethodGet, project+"/instances", nil, nil, signed(otcrdssim.SecretKey))
	date, err := http.ParseTime(a.Header.Get("Date"))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(3*time.Hour), date, 5*time.Second)
}

func TestFixture(t *testing.T) {
	for _, id := range []string{otcrdssim.InstanceID(0), otcrdssim.InstanceID(199), otcrdssim.ReplicaInstance, otcrdssim.ReplicaPrimary,
		otcrdssim.SQLServerInstance, otcrdssim.PostgreSQLInstance, otcrdssim.BusyInstance, otcrdssim.FailingInstance} {
		assert.Len(t, id, 36, id)
		assert.Regexp(t, `^[0-9a-f]{32}in0[134]$`, id)
	}
	assert.True(t, strings.HasSuffix(otcrdssim.SQLServerInstance, "in04"))
	assert.True(t, strings.HasSuffix(otcrdssim.PostgreSQLInstance, "in03"))
	var sec map[string]any
	require.NoError(t, json.Unmarshal(otcrdssim.CreateSection(12), &sec))
	assert.Equal(t, otcrdssim.InstanceID(12), sec["instance_id"])
}

func TestBackupListPages(t *testing.T) {
	const pageSize = 2
	s := start(t, otcrdssim.Options{PageSize: pageSize})
	instance := otcrdssim.InstanceID(3)
	made := s.AddBackups(instance, 5)
	huaweiclient.CheckBackupListPaging(t, func(q url.Values) answer {
		q.Set("instance_id", instance)
		return call(t, s, http.MethodGet, project+"/backups", q, nil, signed(otcrdssim.SecretKey))
	}, made, pageSize, otcrdssim.CodeParameterError)
}
