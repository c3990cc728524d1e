package huaweicloud_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	hw "github.com/backupflow/backupflow/simulator/huaweicloud"
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
			assert.Nil(t, hw.VerifySignature(r, raw, lookup, time.Now()))
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
			hw.SignRequest(r, raw, ak, "not-the-secret", time.Now())
			return raw
		}, time.Now()},
		{"unknown access key", func(r *http.Request, raw []byte) []byte {
			hw.SignRequest(r, raw, "AKUNKNOWN", sk, time.Now())
			return raw
		}, time.Now()},
		{"missing Authorization", func(r *http.Request, raw []byte) []byte { r.Header.Del("Authorization"); return raw }, time.Now()},
		{"other algorithm", func(r *http.Request, raw []byte) []byte {
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x")
			return raw
		}, time.Now()},
		{"stale X-Sdk-Date", func(r *http.Request, raw []byte) []byte { return raw }, time.Now().Add(20 * time.Minute)},
		{"missing X-Sdk-Date", func(r *http.Request, raw []byte) []byte { r.Header.Del(hw.HeaderSdkDate); return raw }, time.Now()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, raw := sdkSigned(t, http.MethodPost, path, nil, body{InstanceID: "07033b125fd94a8a96896f8bcfee6ddain07"})
			raw = c.tamper(r, raw)
			e := hw.VerifySignature(r, raw, lookup, c.now)
			require.NotNil(t, e)
			assert.Equal(t, http.StatusUnauthorized, e.Status)
			assert.Equal(t, hw.CodeAuthFailed, e.Code)
			assert.NotEmpty(t, e.Message)
		})
	}
}

func TestSignRequestMatchesVerifier(t *testing.T) {
	raw := []byte(`{"name":"x"}`)
	r, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/v3/p/backups?instance_id=a%20b", bytes.NewReader(raw))
	require.NoError(t, err)
	r.Header.Set("Content-Type", "application/json")
	hw.SignRequest(r, raw, ak, sk, time.Now())
	assert.Nil(t, hw.VerifySignature(r, raw, lookup, time.Now()))
	r.Header.Set("Content-Type", "text/plain") // Content-Type is not signed, as in the SDK
	assert.Nil(t, hw.VerifySignature(r, raw, lookup, time.Now()))
}
