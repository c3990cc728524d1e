package huaweicloudsim_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/simulator/huaweicloudsim"
)

const (
	ak = "AKTEST0000000001"
	sk = "secret-for-signature-tests"
)

func lookup(a string) (string, bool) {
	if a == ak {
		return sk, true
	}
	return "", false
}

type body struct {
	InstanceID  string `json:"instance_id"`
	Description string `json:"description"`
}

// sdkSigned builds a request the way the official SDK does and signs it with
// the SDK's own signer, so the simulator's independent verifier is checked
// against the real thing.
func sdkSigned(t *testing.T, method, path string, query map[string]string, b any) (*http.Request, []byte) {
	t.Helper()
	builder := request.NewHttpRequestBuilder().WithEndpoint("http://127.0.0.1:8080").WithMethod(method).WithPath(path).
		AddHeaderParam("Content-Type", "application/json;charset=UTF-8").
		AddHeaderParam("X-Language", "en-us").
		AddHeaderParam("User-Agent", "huaweicloud-usdk-go/3.0").
		AddHeaderParam("X-Project-Id", "0b7fa0bd6e9a4d47a3b1c0ffee5eed07")
	for k, v := range query {
		builder.AddQueryParam(k, reflectValue(v))
	}
	if b != nil {
		builder.WithBody("", b)
	}
	req := builder.Build()
	headers, err := signer.Sign(req, ak, sk)
	require.NoError(t, err)
	for k, v := range headers {
		req.AddHeaderParam(k, v)
	}
	hr, err := req.ConvertRequest()
	require.NoError(t, err)
	var raw []byte
	if hr.Body != nil {
		raw, err = io.ReadAll(hr.Body)
		require.NoError(t, err)
	}
	hr.Body = io.NopCloser(bytes.NewReader(raw))
	hr.Host = hr.URL.Host
	return hr, raw
}

func TestVerifyAcceptsSDKSignatures(t *testing.T) {
	cases := []struct {
		name, method, path string
		query              map[string]string
		body               any
	}{
		{"POST with body", http.MethodPost, "/v3/0b7fa0bd6e9a4d47a3b1c0ffee5eed07/backups/create", nil,
			body{InstanceID: "07033b125fd94a8a96896f8bcfee6ddain07", Description: "nightly backup, ünïcode & spaces"}},
		{"GET with query", http.MethodGet, "/v3/0b7fa0bd6e9a4d47a3b1c0ffee5eed07/backups",
			map[string]string{"instance_id": "abc", "name": "a b+c", "offset": "0", "limit": "100"}, nil},
		{"GET with time query", http.MethodGet, "/v3/p/immediate-jobs", map[string]string{"start_time": "2026-01-02T03:04:05+0000"}, nil},
		{"DELETE", http.MethodDelete, "/v3/p/backups/2f4ddb93-b901-4b08-93d8-1d2e472f30fe", nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, raw := sdkSigned(t, c.method, c.path, c.query, c.body)
			assert.Nil(t, huaweicloudsim.VerifySignature(r, raw, lookup, time.Now()))
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	path := "/v3/p/backups/create"
	cases := []struct {
		name   string
		tamper func(r *http.Request, raw []byte) []byte
		now    time.Time
	}{
		{"tampered body", func(r *http.Request, raw []byte) []byte { return bytes.Replace(raw, []byte("in07"), []byte("in01"), 1) }, time.Now()},
		{"tampered path", func(r *http.Request, raw []byte) []byte { r.URL.Path = "/v3/q/backups/create"; return raw }, time.Now()},
		{"tampered query", func(r *http.Request, raw []byte) []byte { r.URL.RawQuery = "limit=1"; return raw }, time.Now()},
		{"tampered signed header", func(r *http.Request, raw []byte) []byte { r.Header.Set("X-Language", "zh-cn"); return raw }, time.Now()},
		{"wrong secret", func(r *http.Request, raw []byte) []byte {
			huaweicloudsim.SignRequest(r, raw, ak, "not-the-secret", time.Now())
			return raw
		}, time.Now()},
		{"unknown access key", func(r *http.Request, raw []byte) []byte {
			huaweicloudsim.SignRequest(r, raw, "AKUNKNOWN", sk, time.Now())
			return raw
		}, time.Now()},
		{"missing Authorization", func(r *http.Request, raw []byte) []byte { r.Header.Del("Authorization"); return raw }, time.Now()},
		{"other algorithm", func(r *http.Request, raw []byte) []byte {
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x")
			return raw
		}, time.Now()},
		{"stale X-Sdk-Date", func(r *http.Request, raw []byte) []byte { return raw }, time.Now().Add(20 * time.Minute)},
		{"missing X-Sdk-Date", func(r *http.Request, raw []byte) []byte { r.Header.Del(huaweicloudsim.HeaderSdkDate); return raw }, time.Now()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, raw := sdkSigned(t, http.MethodPost, path, nil, body{InstanceID: "07033b125fd94a8a96896f8bcfee6ddain07"})
			raw = c.tamper(r, raw)
			e := huaweicloudsim.VerifySignature(r, raw, lookup, c.now)
			require.NotNil(t, e)
			assert.Equal(t, http.StatusUnauthorized, e.Status)
			assert.Equal(t, huaweicloudsim.CodeAuthFailed, e.Code)
			assert.NotEmpty(t, e.Message)
		})
	}
}

func TestSignRequestMatchesVerifier(t *testing.T) {
	raw := []byte(`{"name":"x"}`)
	r, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/v3/p/backups?instance_id=a%20b", bytes.NewReader(raw))
	require.NoError(t, err)
	r.Header.Set("Content-Type", "application/json")
	huaweicloudsim.SignRequest(r, raw, ak, sk, time.Now())
	assert.Nil(t, huaweicloudsim.VerifySignature(r, raw, lookup, time.Now()))
	r.Header.Set("Content-Type", "text/plain") // Content-Type is not signed, as in the SDK
	assert.Nil(t, huaweicloudsim.VerifySignature(r, raw, lookup, time.Now()))
}

// otcVectors were signed by Open Telekom Cloud's own SDK (gophertelekomcloud
// signer_helper.go, golangsdk.Sign, commit 30e3307593c0a3c6cc92ed1309d873fdf9241c8b)
// with access key otcAK and secret otcSK at 2026-03-01T12:00:00Z, headers
// Accept, Content-Type (application/json) and User-Agent (golangsdk). The
// first two have the empty region and service that SDK always uses.
var otcVectors = []struct {
	name, method, url, body, authorization string
}{
	{"POST create, empty scope", http.MethodPost, "http://127.0.0.1:8443/v3/0483b6b16e954cb88930a360d2c4e663/backups",
		`{"instance_id":"d8e6ca5a624745bcb546a227aa3ae1cfin01","name":"backup-1","description":"manual backup"}`,
		"SDK-HMAC-SHA256 Credential=AKOTCVECTOR000000001/20260301///sdk_request, SignedHeaders=accept;content-type;host;user-agent;x-sdk-date, Signature=45ca201e0f95e0c88e9a1a4a0ef726f02bb8533a86f2a06409840af8cd73cb79"},
	{"GET list with unsorted query, empty scope", http.MethodGet,
		"http://127.0.0.1:8443/v3/0483b6b16e954cb88930a360d2c4e663/backups?instance_id=d8e6ca5a624745bcb546a227aa3ae1cfin01&limit=100&backup_type=manual&offset=0", "",
		"SDK-HMAC-SHA256 Credential=AKOTCVECTOR000000001/20260301///sdk_request, SignedHeaders=accept;content-type;host;user-agent;x-sdk-date, Signature=3439c811959cf2adb0f450cc5003fe91d861bac41fcdaf9d3d8f07068b705794"},
	{"GET with region and service", http.MethodGet,
		"http://127.0.0.1:8443/v3/0483b6b16e954cb88930a360d2c4e663/instances?id=d8e6ca5a624745bcb546a227aa3ae1cfin01", "",
		"SDK-HMAC-SHA256 Credential=AKOTCVECTOR000000001/20260301/eu-de/rds/sdk_request, SignedHeaders=accept;content-type;host;user-agent;x-sdk-date, Signature=32a1ffc85bd5b6a1d20d76ef314832079234bfd1d7fe7445c0b8f7fac253b6c0"},
}

const (
	otcAK = "AKOTCVECTOR000000001"
	otcSK = "otc-vector-secret"
)

var otcVectorTime = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func otcLookup(a string) (string, bool) {
	if a == otcAK {
		return otcSK, true
	}
	return "", false
}

// otcVectorRequest is vector v as the simulator receives it.
func otcVectorRequest(t *testing.T, method, url, body, authorization string) (*http.Request, []byte) {
	t.Helper()
	r, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	r.Host = r.URL.Host
	r.Header.Set("Accept", "application/json")
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", "golangsdk")
	r.Header.Set(huaweicloudsim.HeaderSdkDate, otcVectorTime.Format(huaweicloudsim.SdkDateLayout))
	r.Header.Set("Authorization", authorization)
	return r, []byte(body)
}

func TestVerifyScopedAcceptsOTCSDKSignatures(t *testing.T) {
	for _, v := range otcVectors {
		t.Run(v.name, func(t *testing.T) {
			r, raw := otcVectorRequest(t, v.method, v.url, v.body, v.authorization)
			assert.Nil(t, huaweicloudsim.VerifyScopedSignature(r, raw, otcLookup, otcVectorTime))
			// The Huawei form's verifier cannot read it.
			assert.NotNil(t, huaweicloudsim.VerifySignature(r, raw, otcLookup, otcVectorTime))
		})
	}
}

func TestVerifyScopedRejects(t *testing.T) {
	v := otcVectors[0]
	cases := []struct {
		name   string
		tamper func(r *http.Request, raw []byte) []byte
		now    time.Time
	}{
		{"tampered body", func(r *http.Request, raw []byte) []byte {
			return bytes.Replace(raw, []byte("backup-1"), []byte("backup-2"), 1)
		}, otcVectorTime},
		{"tampered signed header", func(r *http.Request, raw []byte) []byte { r.Header.Set("Content-Type", "text/plain"); return raw }, otcVectorTime},
		{"tampered path", func(r *http.Request, raw []byte) []byte { r.URL.Path += "x"; return raw }, otcVectorTime},
		{"other region in scope", func(r *http.Request, raw []byte) []byte {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "20260301//", "20260301/eu-de/", 1))
			return raw
		}, otcVectorTime},
		{"scope date is not X-Sdk-Date's", func(r *http.Request, raw []byte) []byte {
			r.Header.Set(huaweicloudsim.HeaderSdkDate, "20260302T000100Z")
			return raw
		}, otcVectorTime.Add(12 * time.Hour)},
		{"stale X-Sdk-Date", func(r *http.Request, raw []byte) []byte { return raw }, otcVectorTime.Add(20 * time.Minute)},
		{"wrong secret", func(r *http.Request, raw []byte) []byte {
			huaweicloudsim.SignScopedRequest(r, raw, otcAK, "not-the-secret", "", "", otcVectorTime)
			return raw
		}, otcVectorTime},
		{"unknown access key", func(r *http.Request, raw []byte) []byte {
			huaweicloudsim.SignScopedRequest(r, raw, "AKUNKNOWN", otcSK, "", "", otcVectorTime)
			return raw
		}, otcVectorTime},
		{"Huawei SDK form (Access=, raw secret key)", func(r *http.Request, raw []byte) []byte {
			huaweicloudsim.SignRequest(r, raw, otcAK, otcSK, otcVectorTime)
			return raw
		}, otcVectorTime},
		{"malformed scope", func(r *http.Request, raw []byte) []byte {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/sdk_request", "/aws4_request", 1))
			return raw
		}, otcVectorTime},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, raw := otcVectorRequest(t, v.method, v.url, v.body, v.authorization)
			raw = c.tamper(r, raw)
			e := huaweicloudsim.VerifyScopedSignature(r, raw, otcLookup, c.now)
			require.NotNil(t, e)
			assert.Equal(t, http.StatusUnauthorized, e.Status)
			assert.Equal(t, huaweicloudsim.CodeAuthFailed, e.Code)
			assert.NotContains(t, e.Message, otcSK)
			assert.NotContains(t, e.Message, strings.TrimPrefix(v.authorization[strings.Index(v.authorization, "Signature="):], "Signature="))
		})
	}
	// The Huawei SDK's own signer is refused too, as a bad signature.
	r, raw := sdkSigned(t, http.MethodPost, "/v3/p/backups", nil, body{InstanceID: "d8e6ca5a624745bcb546a227aa3ae1cfin01"})
	e := huaweicloudsim.VerifyScopedSignature(r, raw, lookup, time.Now())
	require.NotNil(t, e)
	assert.Equal(t, http.StatusUnauthorized, e.Status)
}

func TestScopedSigningKeyIsDerived(t *testing.T) {
	k := huaweicloudsim.ScopedSigningKey(otcSK, "20260301", "", "")
	assert.Len(t, k, 32)
	assert.NotEqual(t, k, huaweicloudsim.ScopedSigningKey(otcSK, "20260302", "", ""), "the key changes with the date")
	assert.NotEqual(t, k, huaweicloudsim.ScopedSigningKey(otcSK, "20260301", "eu-de", ""), "and with the region")
	assert.NotEqual(t, k, huaweicloudsim.ScopedSigningKey(otcSK, "20260301", "", "rds"), "and with the service")
	assert.NotContains(t, string(k), otcSK)
}

func TestSignScopedRequestMatchesVerifier(t *testing.T) {
	for _, post := range []bool{true, false} {
		method, raw := http.MethodGet, []byte(nil)
		if post {
			method = http.MethodPost // a POST without a body signs its query as the body
		}
		r, err := http.NewRequest(method, "http://127.0.0.1:1/v3/p/backups?b=2&A=1&b=3&name=a%20b", bytes.NewReader(raw))
		require.NoError(t, err)
		r.Host = r.URL.Host
		r.Header.Set("Content-Type", "application/json")
		huaweicloudsim.SignScopedRequest(r, raw, otcAK, otcSK, "eu-de", "rds", time.Now())
		assert.Nil(t, huaweicloudsim.VerifyScopedSignature(r, raw, otcLookup, time.Now()), method)
	}
}
