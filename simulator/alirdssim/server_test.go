package alirdssim_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/rds"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/simulator/alirdssim"
	"github.com/backupflow/backupflow/simulator/simkit"
)

const duration = 10 * time.Second

func start(t *testing.T) *alirdssim.Server {
	t.Helper()
	s, err := alirdssim.Start(alirdssim.Options{Duration: duration, Resources: 20})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

var nonce atomic.Int64

// request is one hand-made RPC request: sign fills in the common parameters
// and the signature; tamper runs after signing.
type request struct {
	method  string
	params  map[string]string
	secret  string
	keyID   string
	when    time.Time
	nonce   string
	tamper  func(url.Values)
	form    url.Values // sent as a form body (signed)
	unsign  url.Values // sent as a form body added after signing
	timeout time.Duration
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	err    error
}

func (a answer) str(key string) string { s, _ := a.body[key].(string); return s }

func do(t *testing.T, s *alirdssim.Server, r request) answer {
	t.Helper()
	if r.method == "" {
		r.method = http.MethodPost
	}
	if r.secret == "" {
		r.secret = alirdssim.AccessKeySecret
	}
	if r.keyID == "" {
		r.keyID = alirdssim.AccessKeyID
	}
	if r.when.IsZero() {
		r.when = time.Now()
	}
	if r.nonce == "" {
		r.nonce = fmt.Sprintf("nonce-%d-%d", time.Now().UnixNano(), nonce.Add(1))
	}
	q := url.Values{}
	for k, v := range map[string]string{
		"Format": "JSON", "Version": alirdssim.APIVersion, "AccessKeyId": r.keyID, "SignatureMethod": "HMAC-SHA1",
		"SignatureVersion": "1.0", "SignatureNonce": r.nonce, "Timestamp": r.when.UTC().Format("2006-01-02T15:04:05Z"), "RegionId": alirdssim.Region,
	} {
		q.Set(k, v)
	}
	for k, v := range r.params {
		q.Set(k, v)
	}
	signed := url.Values{}
	for k, v := range q {
		signed[k] = v
	}
	for k, v := range r.form {
		signed[k] = v
	}
	q.Set("Signature", alirdssim.Sign(alirdssim.StringToSign(r.method, signed), r.secret))
	if r.tamper != nil {
		r.tamper(q)
	}
	body := url.Values{}
	for k, v := range r.form {
		body[k] = v
	}
	for k, v := range r.unsign {
		body[k] = v
	}
	req, err := http.NewRequest(r.method, s.Endpoint()+"/?"+q.Encode(), strings.NewReader(body.Encode()))
	require.NoError(t, err)
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	client := &http.Client{Timeout: 10 * time.Second}
	if r.timeout > 0 {
		client.Timeout = r.timeout
	}
	resp, err := client.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := answer{status: resp.StatusCode, header: resp.Header}
	require.NoError(t, json.Unmarshal(raw, &a.body), "%s", raw)
	return a
}

func action(name string, kv ...string) map[string]string {
	m := map[string]string{"Action": name}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// requireError checks Alibaba's error shape.
func requireError(t *testing.T, a answer, status int, code string) {
	t.Helper()
	require.NoError(t, a.err)
	require.Equal(t, status, a.status, "%v", a.body)
	assert.Equal(t, code, a.str("Code"), "%v", a.body)
	assert.NotEmpty(t, a.str("RequestId"))
	assert.NotEmpty(t, a.str("Message"))
	assert.NotEmpty(t, a.str("HostId"))
	assert.Contains(t, a.str("Recommend"), code)
}

func requireOK(t *testing.T, a answer) {
	t.Helper()
	require.NoError(t, a.err)
	require.Equal(t, http.StatusOK, a.status, "%v", a.body)
	assert.NotEmpty(t, a.str("RequestId"))
}

// TestStringToSignMatchesSDK checks the simulator's signature against the
// SDK's: a vector from the SDK's own tests, then a request signed by the
// SDK's signer with characters that need encoding.
func TestStringToSignMatchesSDK(t *testing.T) {
	assert.Equal(t, "GET&%2F&key%3Dvalue%26q%3Dhttp%253A%252F%252Fdomain%252F%253Fq%253Dvalue%2526q2%253Dvalue2",
		alirdssim.StringToSign("GET", url.Values{"key": {"value"}, "q": {"http://domain/?q=value&q2=value2"}}))

	req := rds.CreateDescribeBackupsRequest()
	req.DBInstanceId = "rm-a b*c~d"
	req.StartTime = "2024-01-02T03:04Z"
	req.BackupId = "1,2+3/4"
	require.NoError(t, requests.InitParams(req))
	require.NoError(t, auth.Sign(req, nil, alirdssim.Region, credentials.NewStaticAKCredentialsProvider(alirdssim.AccessKeyID, alirdssim.AccessKeySecret)))
	params := url.Values{}
	for k, v := range req.GetQueryParams() {
		if k != "Signature" {
			params.Set(k, v)
		}
	}
	assert.Empty(t, req.GetFormParams(), "the SDK sends every RPC parameter in the query")
	assert.Equal(t, req.GetStringToSign(), alirdssim.StringToSign("POST", params))
	assert.Equal(t, req.GetQueryParams()["Signature"], alirdssim.Sign(req.GetStringToSign(), alirdssim.AccessKeySecret))
}

func TestSignatureChecks(t *testing.T) {
	s := start(t)
	attr := action("DescribeDBInstanceAttribute", "DBInstanceId", alirdssim.MySQLInstanceID(1))

	requireOK(t, do(t, s, request{params: attr}))
	requireOK(t, do(t, s, request{method: http.MethodGet, params: attr}))
	requireOK(t, do(t, s, request{params: action("DescribeDBInstanceAttribute"), form: url.Values{"DBInstanceId": {alirdssim.MySQLInstanceID(1)}}}))

	bad := do(t, s, request{params: attr, secret: "wrong"})
	requireError(t, bad, 400, "SignatureDoesNotMatch")
	assert.Contains(t, bad.str("Message"), "server string to sign is:POST&%2F&", "the SDK shows the server's string to sign")

	requireError(t, do(t, s, request{params: attr, keyID: "LTAI5tUnknown"}), 404, "InvalidAccessKeyId.NotFound")
	requireError(t, do(t, s, request{params: attr, tamper: func(q url.Values) { q.Set("DBInstanceId", alirdssim.MySQLInstanceID(2)) }}), 400, "SignatureDoesNotMatch")
	requireError(t, do(t, s, request{params: attr, tamper: func(q url.Values) { q.Set("Extra", "x") }}), 400, "SignatureDoesNotMatch")
	requireError(t, do(t, s, request{params: attr, unsign: url.Values{"BackupId": {"1"}}}), 400, "SignatureDoesNotMatch")
	requireError(t, do(t, s, request{params: attr, tamper: func(q url.Values) { q.Del("Signature") }}), 400, "IncompleteSignature")
	requireError(t, do(t, s, request{params: attr, tamper: func(q url.Values) { q.Del("SignatureNonce") }}), 400, "IncompleteSignature")
	requireError(t, do(t, s, request{params: attr, when: time.Now().Add(-time.Hour)}), 400, "InvalidTimeStamp.Expired")

	// A refused CreateBackup changes nothing, but counts as a call.
	before, calls := s.Inventory(), s.Calls()
	requireError(t, do(t, s, request{params: action("CreateBackup", "DBInstanceId", alirdssim.MySQLInstanceID(1)), secret: "wrong"}), 400, "SignatureDoesNotMatch")
	assert.Equal(t, before, s.Inventory())
	assert.Equal(t, calls+1, s.Calls())
	assert.Equal(t, 1, s.CallsOf("CreateBackup"))
}

func TestNonceReplay(t *testing.T) {
	s := start(t)
	attr := action("DescribeDBInstanceAttribute", "DBInstanceId", alirdssim.MySQLInstanceID(1))
	requireOK(t, do(t, s, request{params: attr, nonce: "n-1"}))
	requireError(t, do(t, s, request{params: attr, nonce: "n-1"}), 400, "SignatureNonceUsed")
}

func TestUnknownActionAndInstance(t *testing.T) {
	s := start(t)
	requireError(t, do(t, s, request{params: action("StopDBInstance", "DBInstanceId", alirdssim.MySQLInstanceID(1))}), 404, "InvalidAction.NotFound")
	requireError(t, do(t, s, request{params: action("DescribeBackups", "DBInstanceId", "rm-nope")}), 404, "InvalidDBInstanceId.NotFound")
	resp, err := http.Post(s.Endpoint()+"/v1/backups", "application/json", nil)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "RPC requests go to /")
	requireError(t, do(t, s, request{params: action("CreateBackup")}), 400, "MissingDBInstanceId")
	requireError(t, do(t, s, request{params: action("DescribeDBInstanceAttribute", "DBInstanceId", alirdssim.MySQLInstanceID(1), "Version", "2099-01-01")}), 400, "InvalidVersion")
}

func tasks(t *testing.T, s *alirdssim.Server, instanceID string, kv ...string) []map[string]any {
	t.Helper()
	a := do(t, s, request{params: action("DescribeBackupTasks", append([]string{"DBInstanceId", instanceID}, kv...)...)})
	requireOK(t, a)
	items := a.body["Items"].(map[string]any)["BackupJob"].([]any)
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		out = append(out, it.(map[string]any))
	}
	return out
}

func backups(t *testing.T, s *alirdssim.Server, instanceID string, kv ...string) (int, []map[string]any) {
	t.Helper()
	a := do(t, s, request{params: action("DescribeBackups", append([]string{"DBInstanceId", instanceID}, kv...)...)})
	requireOK(t, a)
	items := a.body["Items"].(map[string]any)["Backup"].([]any)
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		out = append(out, it.(map[string]any))
	}
	var total int
	_, _ = fmt.Sscan(a.str("TotalRecordCount"), &total)
	return total, out
}

func createBackup(t *testing.T, s *alirdssim.Server, instanceID string, kv ...string) answer {
	t.Helper()
	return do(t, s, request{params: action("CreateBackup", append([]string{"DBInstanceId", instanceID}, kv...)...)})
}

func TestTaskLifecycle(t *testing.T) {
	s := start(t)
	id := alirdssim.MySQLInstanceID(3)
	before := len(s.Inventory())
	a := createBackup(t, s, id, "BackupMethod", "Logical", "BackupStrategy", "db", "DBName", "db01,db02")
	requireOK(t, a)
	job := a.str("BackupJobId")
	require.NotEmpty(t, job)
	assert.Len(t, s.Inventory(), before+1, "the running task's backup is in the inventory")

	var states []string
	last := -1
	for range 30 {
		ts := tasks(t, s, id, "BackupJobId", job)
		require.Len(t, ts, 1)
		j := ts[0]
		assert.Equal(t, "Manual", j["JobMode"])
		assert.Equal(t, "TempBackupTask", j["TaskAction"])
		assert.Equal(t, j["BackupStatus"], j["BackupProgressStatus"])
		var p int
		_, err := fmt.Sscan(j["Process"].(string), &p)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, p, last)
		last = p
		st := j["BackupStatus"].(string)
		if len(states) == 0 || states[len(states)-1] != st {
			states = append(states, st)
		}
		if st == alirdssim.StatusFinished {
			assert.Equal(t, 100, p)
			assert.NotEmpty(t, j["BackupId"])
			break
		}
		assert.Nil(t, j["BackupId"], "BackupId appears once Finished")
		assert.Len(t, tasks(t, s, id), 1, "unfinished: listed without BackupJobId")
		s.Advance(duration / 20)
	}
	assert.Equal(t, []string{"NoStart", "Preparing", "Waiting", "Uploading", "Checking", "Finished"}, states)
	assert.Empty(t, tasks(t, s, id), "a finished task is listed only by its BackupJobId")

	backupID := tasks(t, s, id, "BackupJobId", job)[0]["BackupId"].(string)
	total, sets := backups(t, s, id, "BackupId", backupID)
	require.Equal(t, 1, total)
	b := sets[0]
	assert.Equal(t, "Success", b["BackupStatus"])
	assert.Equal(t, "Manual", b["BackupMode"])
	assert.Equal(t, "Logical", b["BackupMethod"])
	assert.Equal(t, "db01,db02", b["BackupDBNames"])
	assert.Equal(t, "FullBackup", b["BackupType"])
	assert.Contains(t, s.Inventory(), backupID)

	requireOK(t, do(t, s, request{params: action("DeleteBackup", "DBInstanceId", id, "BackupId", backupID)}))
	assert.NotContains(t, s.Inventory(), backupID)
	requireError(t, do(t, s, request{params: action("DeleteBackup", "DBInstanceId", id, "BackupId", backupID)}), 400, "InvalidBackupSetID.NotFound")
	total, _ = backups(t, s, id, "BackupId", backupID)
	assert.Zero(t, total)
}

func TestOneTaskAtATime(t *testing.T) {
	s := start(t)
	id := alirdssim.MySQLInstanceID(4)
	requireOK(t, createBackup(t, s, id))
	requireError(t, createBackup(t, s, id), 400, "BackupJobExists")
	requireError(t, createBackup(t, s, alirdssim.BusyInstance), 400, "BackupJobExists")
	assert.Len(t, tasks(t, s, alirdssim.BusyInstance, "BackupMode", "Automated"), 1, "the busy instance's policy task")
	assert.Empty(t, tasks(t, s, alirdssim.BusyInstance, "BackupMode", "Manual"))
	s.Advance(duration)
	requireOK(t, createBackup(t, s, id))
}

func TestDailyLimit(t *testing.T) {
	s := start(t)
	requireError(t, createBackup(t, s, alirdssim.FullInstance), 400, "BackupTimesExceeded")
	assert.Equal(t, alirdssim.DailyBackupLimit, s.BackupsToday(alirdssim.FullInstance))

	id := alirdssim.MySQLInstanceID(5)
	for i := range alirdssim.DailyBackupLimit {
		requireOK(t, createBackup(t, s, id, "BackupType", "FullBackup"))
		s.Advance(duration)
		require.Equal(t, i+1, s.BackupsToday(id))
	}
	requireError(t, createBackup(t, s, id), 400, "BackupTimesExceeded")
	// The simulator counts the sets that exist: deleting one makes room (a documented choice).
	_, sets := backups(t, s, id)
	requireOK(t, do(t, s, request{params: action("DeleteBackup", "DBInstanceId", id, "BackupId", sets[0]["BackupId"].(string))}))
	requireOK(t, createBackup(t, s, id))
}

func TestCreateBackupRules(t *testing.T) {
	s := start(t)
	cases := []struct {
		name   string
		id     string
		kv     []string
		status int
		code   string
	}{
		{"unknown method", alirdssim.MySQLInstanceID(6), []string{"BackupMethod", "Incremental"}, 400, "InvalidBackupMethod.ValueNotSupport"},
		{"unknown type", alirdssim.MySQLInstanceID(6), []string{"BackupType", "Incremental"}, 400, "BackupType.NotSupport"},
		{"unknown strategy", alirdssim.MySQLInstanceID(6), []string{"BackupMethod", "Logical", "BackupStrategy", "table"}, 400, "InvalidParameter"},
		{"not running", alirdssim.NotRunningInstance, nil, 403, "IncorrectDBInstanceState"},
		{"deleting", alirdssim.DeletingInstance, nil, 403, "IncorrectDBInstanceState"},
		{"stopped", alirdssim.StoppedInstance, nil, 403, "IncorrectDBInstanceState"},
		{"locked", alirdssim.LockedInstance, nil, 403, "IncorrectDBInstanceLockMode"},
		{"MariaDB snapshot", alirdssim.MariaDBInstance, []string{"BackupMethod", "Snapshot"}, 400, "InvalidBackupMethod.ValueNotSupport"},
		{"MariaDB logical", alirdssim.MariaDBInstance, []string{"BackupMethod", "Logical"}, 400, "InvalidBackupMethod.ValueNotSupport"},
		{"strategy on MySQL physical", alirdssim.MySQLInstanceID(6), []string{"BackupType", "FullBackup", "BackupStrategy", "instance"}, 400, "InvalidParameter"},
		{"strategy on MySQL snapshot", alirdssim.MySQLInstanceID(6), []string{"BackupMethod", "Snapshot", "BackupStrategy", "instance"}, 400, "InvalidParameter"},
		{"strategy on SQL Server logical", alirdssim.SQLServerInstance, []string{"BackupMethod", "Logical", "BackupStrategy", "db", "DBName", "sales"}, 400, "InvalidParameter"},
		{"strategy on SQL Server physical Auto", alirdssim.SQLServerInstance, []string{"BackupStrategy", "db", "DBName", "sales"}, 400, "InvalidParameter"},
		{"DBName without strategy", alirdssim.MySQLInstanceID(6), []string{"BackupMethod", "Logical", "DBName", "db01"}, 400, "InvalidParameter"},
		{"strategy db without DBName", alirdssim.MySQLInstanceID(6), []string{"BackupMethod", "Logical", "BackupStrategy", "db"}, 400, "InvalidParameter"},
		{"missing database", alirdssim.MySQLInstanceID(6), []string{"BackupMethod", "Logical", "BackupStrategy", "db", "DBName", "nope"}, 404, "InvalidDBName.NotFound"},
		{"logical without databases", alirdssim.NoDatabaseInstance, []string{"BackupMethod", "Logical"}, 400, "InvalidBackupMethod.ValueNotSupport"},
		{"unknown instance", "rm-nope", nil, 404, "InvalidDBInstanceId.NotFound"},
	}
	before := s.Inventory()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { requireError(t, createBackup(t, s, c.id, c.kv...), c.status, c.code) })
	}
	assert.Equal(t, before, s.Inventory(), "refused requests create nothing")

	for _, ok := range []struct {
		id string
		kv []string
	}{
		{alirdssim.SQLServerInstance, []string{"BackupType", "FullBackup", "BackupStrategy", "db", "DBName", "sales,hr"}},
		{alirdssim.MariaDBInstance, []string{"BackupMethod", "Physical"}},
		{alirdssim.PostgreSQLInstance, nil},
		{alirdssim.MySQLInstanceID(7), []string{"BackupMethod", "Logical", "BackupStrategy", "instance"}},
		{alirdssim.MySQLInstanceID(8), []string{"BackupMethod", "Snapshot"}},
	} {
		requireOK(t, createBackup(t, s, ok.id, ok.kv...))
	}
	require.NoError(t, s.SetInstanceStatus(alirdssim.NotRunningInstance, "Running"))
	requireOK(t, createBackup(t, s, alirdssim.NotRunningInstance))
}

func TestDescribeBackupsFilters(t *testing.T) {
	s := start(t)
	total, sets := backups(t, s, alirdssim.FullInstance)
	assert.Equal(t, 20, total)
	assert.Len(t, sets, 20)
	for i := 1; i < len(sets); i++ {
		assert.GreaterOrEqual(t, sets[i-1]["BackupStartTime"], sets[i]["BackupStartTime"], "newest first")
	}
	total, _ = backups(t, s, alirdssim.FullInstance, "BackupMode", "Automated")
	assert.Equal(t, 1, total)
	day := s.Now().Truncate(24 * time.Hour)
	total, _ = backups(t, s, alirdssim.FullInstance, "StartTime", day.Format("2006-01-02T15:04Z"), "EndTime", day.Add(24*time.Hour-time.Minute).Format("2006-01-02T15:04Z"))
	assert.Equal(t, 20, total)
	total, _ = backups(t, s, alirdssim.FullInstance, "StartTime", day.Add(24*time.Hour).Format("2006-01-02T15:04Z"))
	assert.Zero(t, total)
	requireError(t, do(t, s, request{params: action("DescribeBackups", "DBInstanceId", alirdssim.FullInstance, "StartTime", "yesterday")}), 400, "InvalidStartTime.Malformed")
	requireError(t, do(t, s, request{params: action("DescribeBackups", "DBInstanceId", alirdssim.FullInstance, "PageSize", "10")}), 400, "InvalidPageSize")
	total, sets = backups(t, s, alirdssim.FullInstance, "PageSize", "30", "PageNumber", "2")
	assert.Equal(t, 20, total)
	assert.Empty(t, sets)
}

func TestDescribeDatabasesAndAttribute(t *testing.T) {
	s := start(t)
	a := do(t, s, request{params: action("DescribeDatabases", "DBInstanceId", alirdssim.SQLServerInstance)})
	requireOK(t, a)
	dbs := a.body["Databases"].(map[string]any)["Database"].([]any)
	assert.Len(t, dbs, 2)
	a = do(t, s, request{params: action("DescribeDatabases", "DBInstanceId", alirdssim.NoDatabaseInstance)})
	requireOK(t, a)
	assert.Empty(t, a.body["Databases"].(map[string]any)["Database"])

	for id, want := range map[string][3]string{
		alirdssim.MySQLInstanceID(0): {"MySQL", "Running", "Unlock"},
		alirdssim.SQLServerInstance:  {"SQLServer", "Running", "Unlock"},
		alirdssim.MariaDBInstance:    {"MariaDB", "Running", "Unlock"},
		alirdssim.PostgreSQLInstance: {"PostgreSQL", "Running", "Unlock"},
		alirdssim.NotRunningInstance: {"MySQL", "Rebooting", "Unlock"},
		alirdssim.StoppedInstance:    {"MySQL", "Stopped", "Unlock"},
		alirdssim.DeletingInstance:   {"MySQL", "Deleting", "Unlock"},
		alirdssim.LockedInstance:     {"MySQL", "Running", "LockByExpiration"},
	} {
		a := do(t, s, request{params: action("DescribeDBInstanceAttribute", "DBInstanceId", id)})
		requireOK(t, a)
		attr := a.body["Items"].(map[string]any)["DBInstanceAttribute"].([]any)[0].(map[string]any)
		assert.Equal(t, []any{want[0], want[1], want[2]}, []any{attr["Engine"], attr["DBInstanceStatus"], attr["LockMode"]}, id)
	}
}

func TestFailNext(t *testing.T) {
	s := start(t)
	attr := action("DescribeDBInstanceAttribute", "DBInstanceId", alirdssim.MySQLInstanceID(1))
	s.FailNext(provider.Throttled, 1, 7*time.Second)
	s.FailNext(provider.Unavailable, 1, 0)
	s.FailNext(provider.Internal, 1, 0)
	a := do(t, s, request{params: attr})
	requireError(t, a, 400, "Throttling.User")
	assert.Equal(t, "7", a.header.Get("Retry-After"))
	requireError(t, do(t, s, request{params: attr}), 503, "ServiceUnavailable")
	requireError(t, do(t, s, request{params: attr}), 500, "InternalError")
	requireOK(t, do(t, s, request{params: attr}))
	assert.Equal(t, 3, s.Faults())

	// Faults are not spent on requests the simulator refuses to authenticate.
	s.FailNext(provider.Unavailable, 1, 0)
	requireError(t, do(t, s, request{params: attr, secret: "wrong"}), 400, "SignatureDoesNotMatch")
	requireError(t, do(t, s, request{params: attr}), 503, "ServiceUnavailable")
}

func TestLoseNextCreate(t *testing.T) {
	s := start(t)
	id := alirdssim.MySQLInstanceID(9)
	before := len(s.Inventory())
	s.LoseNextCreate()
	a := createBackup(t, s, id)
	require.Error(t, a.err, "no answer: the connection was dropped")
	assert.Len(t, s.Inventory(), before+1, "but the backup was created")
	assert.Len(t, tasks(t, s, id, "BackupMode", "Manual"), 1)
	assert.Equal(t, 1, s.Faults())
	s.Advance(duration)
	requireOK(t, createBackup(t, s, id)) // only the next create is lost
}

var _ simkit.Simulator = (*alirdssim.Server)(nil)

// TestDropNextCreate: the connection breaks while the create is sent, so
// nothing applies; only the next create is dropped.
func TestDropNextCreate(t *testing.T) {
	s := start(t)
	id := alirdssim.MySQLInstanceID(10)
	before := s.Inventory()
	s.DropNextCreate()
	require.NoError(t, do(t, s, request{params: action("DescribeBackupTasks", "DBInstanceId", id)}).err, "other calls are not dropped")
	a := createBackup(t, s, id)
	require.Error(t, a.err, "no answer: the connection was dropped")
	assert.Equal(t, before, s.Inventory(), "and nothing was created")
	assert.Empty(t, tasks(t, s, id, "BackupMode", "Manual"))
	assert.Equal(t, 1, s.Faults())
	assert.Equal(t, 1, s.CallsOf("CreateBackup"))
	requireOK(t, createBackup(t, s, id))
	assert.Len(t, s.Inventory(), len(before)+1)
}

// TestAddForeign: somebody else's manual task looks like any other through
// the API, keeps the instance busy, and is in the inventory by its job.
func TestAddForeign(t *testing.T) {
	s := start(t)
	id := alirdssim.MySQLInstanceID(11)
	job := s.AddForeign(provider.Target{Resource: id})
	assert.Contains(t, s.Inventory(), job)
	ts := tasks(t, s, id, "BackupMode", "Manual")
	require.Len(t, ts, 1)
	assert.Equal(t, job, ts[0]["BackupJobId"])
	assert.Equal(t, "TempBackupTask", ts[0]["TaskAction"])
	requireError(t, createBackup(t, s, id), 400, "BackupJobExists")

	s.Advance(duration)
	assert.Contains(t, s.Inventory(), job, "it runs for ForeignDuration")
	s.Advance(alirdssim.ForeignDuration)
	set := s.CurrentID(job)
	assert.NotEqual(t, job, set, "finished: listed by its BackupId")
	assert.Contains(t, s.Inventory(), set)
	assert.NotContains(t, s.Inventory(), job)
	total, sets := backups(t, s, id, "BackupId", set)
	require.Equal(t, 1, total)
	assert.Equal(t, "Manual", sets[0]["BackupMode"])
	assert.Equal(t, "User", sets[0]["BackupInitiator"])

	assert.Panics(t, func() { s.AddForeign(provider.Target{Resource: "rm-nope"}) })
	assert.Panics(t, func() { s.AddForeign(provider.Target{Resource: alirdssim.BusyInstance}) }, "one task at a time")
}

// TestCurrentID: a running task is in the inventory by its BackupJobId and,
// once finished, by its BackupId; CurrentID follows it. Other IDs stay.
func TestCurrentID(t *testing.T) {
	s := start(t)
	id := alirdssim.MySQLInstanceID(12)
	a := createBackup(t, s, id)
	requireOK(t, a)
	job := a.str("BackupJobId")
	assert.Contains(t, s.Inventory(), job)
	assert.Equal(t, job, s.CurrentID(job), "still running")
	s.Advance(duration)
	set := tasks(t, s, id, "BackupJobId", job)[0]["BackupId"].(string)
	assert.Equal(t, set, s.CurrentID(job))
	assert.Equal(t, set, s.CurrentID(set))
	assert.Equal(t, "nothing", s.CurrentID("nothing"))

	require.NoError(t, s.FailNextBackup(id, "disk full"))
	failed := createBackup(t, s, id).str("BackupJobId")
	s.Advance(duration)
	assert.Equal(t, failed, s.CurrentID(failed), "a failed task left no set")
	assert.NotContains(t, s.Inventory(), failed)
}

// TestFaultRate: random faults are retryable, counted, and the same for a seed.
func TestFaultRate(t *testing.T) {
	outcomes := func() ([]string, int) {
		s := start(t)
		s.SetFaultRate(0.5, 42)
		var seen []string
		for range 40 {
			a := do(t, s, request{params: action("DescribeDBInstanceAttribute", "DBInstanceId", alirdssim.MySQLInstanceID(1))})
			switch {
			case a.err != nil:
				seen = append(seen, "lost")
			case a.status == 200:
				seen = append(seen, "ok")
			default:
				assert.Contains(t, []string{"ServiceUnavailable", "InternalError", "Throttling.User"}, a.str("Code"))
				seen = append(seen, a.str("Code"))
			}
		}
		s.SetFaultRate(0, 0)
		requireOK(t, do(t, s, request{params: action("DescribeDBInstanceAttribute", "DBInstanceId", alirdssim.MySQLInstanceID(1))}))
		return seen, s.Faults()
	}
	first, n1 := outcomes()
	second, n2 := outcomes()
	assert.Equal(t, first, second, "deterministic per seed")
	assert.Equal(t, n1, n2)
	faults := 0
	kinds := map[string]bool{}
	for _, o := range first {
		if o != "ok" {
			faults++
			kinds[o] = true
		}
	}
	assert.Equal(t, faults, n1)
	assert.Greater(t, faults, 5)
	assert.Less(t, faults, 35)
	assert.Len(t, kinds, 4, "all four kinds of fault: %v", kinds)
}

func TestLatency(t *testing.T) {
	s := start(t)
	s.SetLatency(5 * time.Second)
	a := do(t, s, request{params: action("DescribeDBInstanceAttribute", "DBInstanceId", alirdssim.MySQLInstanceID(1)), timeout: 100 * time.Millisecond})
	require.Error(t, a.err, "the answer comes after the client gave up")
	s.SetLatency(0)
	requireOK(t, do(t, s, request{params: action("DescribeDBInstanceAttribute", "DBInstanceId", alirdssim.MySQLInstanceID(1))}))
}

func TestLoopbackOnlyAndClock(t *testing.T) {
	_, err := alirdssim.Start(alirdssim.Options{Addr: "0.0.0.0:0"})
	require.Error(t, err)
	s := start(t)
	assert.True(t, strings.HasPrefix(s.Endpoint(), "http://127.0.0.1:"))
	t0 := s.Now()
	s.Advance(time.Hour)
	assert.GreaterOrEqual(t, s.Now().Sub(t0), time.Hour)
}

func TestCreateSection(t *testing.T) {
	seen := map[string]bool{}
	for seed := range alirdssim.DefaultResources {
		var c backup.AliRDSCreate
		require.NoError(t, backup.DecodeStrict(alirdssim.CreateSection(seed), &c))
		assert.False(t, seen[c.DBInstanceID], "distinct seeds, distinct instances")
		seen[c.DBInstanceID] = true
		if seed%2 == 1 {
			assert.Equal(t, "Logical", c.BackupMethod)
			assert.Equal(t, "db01", c.DBName)
		}
	}
	var c backup.AliRDSCreate
	require.NoError(t, backup.DecodeStrict(alirdssim.CreateSection(1001), &c))
	assert.Equal(t, alirdssim.MySQLInstanceID(1001%alirdssim.DefaultResources), c.DBInstanceID)
}

// DescribeBackups pages by PageSize (30 to 100) and PageNumber (from 1),
// counting every match in TotalRecordCount; Options.PageSize caps a page so
// callers' paging is exercised with a few sets.
func TestDescribeBackupsPages(t *testing.T) {
	s, err := alirdssim.Start(alirdssim.Options{Duration: duration, Resources: 20, PageSize: 2})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	id := alirdssim.MySQLInstanceID(3)
	made := s.AddBackups(id, 5)
	var all []string
	for page, sizes := 1, []int{2, 2, 1, 0}; page <= len(sizes); page++ {
		total, sets := backups(t, s, id, "PageSize", "100", "PageNumber", fmt.Sprint(page), "BackupMode", "Manual")
		assert.Equal(t, len(made), total)
		require.Len(t, sets, sizes[page-1], "page %d", page)
		for _, b := range sets {
			assert.Equal(t, "Success", b["BackupStatus"])
			all = append(all, b["BackupId"].(string))
		}
	}
	assert.ElementsMatch(t, made, all, "the pages hold every set once")
	total, sets := backups(t, s, id, "BackupMode", "Automated")
	assert.Zero(t, total)
	assert.Empty(t, sets)
	requireError(t, do(t, s, request{params: action("DescribeBackups", "DBInstanceId", id, "PageSize", "101")}), 400, "InvalidPageSize")
}
