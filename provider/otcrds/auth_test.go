package otcrds_test

import (
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
	rds "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/rds/v3"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/rds/v3/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/huaweicloud"
	"github.com/backupflow/backupflow/provider/otcrds"
	"github.com/backupflow/backupflow/simulator/otcrdssim"
)

// The driver's signer gives, for the requests the Huawei SDK builds, the
// signatures Open Telekom Cloud's own SDK gives for the same requests. The
// expected values were computed with gophertelekomcloud's golangsdk.Sign
// (signer_helper.go, commit 30e3307593c0a3c6cc92ed1309d873fdf9241c8b) at
// 2026-03-01T12:00:00Z, access key AKOTCVECTOR000000001, secret
// otc-vector-secret, headers Content-Type, User-Agent and X-Project-Id.
func TestSignerMatchesOTCSDK(t *testing.T) {
	const projectID = "0483b6b16e954cb88930a360d2c4e663"
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	base := func(method string) *request.HttpRequestBuilder {
		return request.NewHttpRequestBuilder().WithEndpoint("http://127.0.0.1:8443").WithMethod(method).
			WithPath("/v3/{project_id}/backups").
			AddHeaderParam("Content-Type", "application/json").
			AddHeaderParam("User-Agent", "huaweicloud-usdk-go/3.0")
	}
	cases := []struct {
		name      string
		req       *request.DefaultHttpRequest
		signature string
	}{
		{"POST create", base(http.MethodPost).
			WithBody("", map[string]string{"instance_id": "d8e6ca5a624745bcb546a227aa3ae1cfin01", "name": "backup-1"}).Build(),
			"24b99313c8953438d3d758c705019cc6be803c9afbf2f645ddc77922914a6839"},
		{"GET list", base(http.MethodGet).
			AddQueryParam("instance_id", reflect.ValueOf("d8e6ca5a624745bcb546a227aa3ae1cfin01")).
			AddQueryParam("offset", reflect.ValueOf(0)).
			AddQueryParam("limit", reflect.ValueOf(100)).
			AddQueryParam("backup_type", reflect.ValueOf("manual")).Build(),
			"84abde1fcb74b66843a930f43de2e7583b5476f1cfe2fe7fef515343a4f7c4e3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			signed, err := otcrds.SignOTC(c.req, "AKOTCVECTOR000000001", "otc-vector-secret", projectID, at)
			require.NoError(t, err)
			h := signed.GetHeaderParams()
			assert.Equal(t, "20260301T120000Z", h["X-Sdk-Date"])
			assert.Equal(t, "SDK-HMAC-SHA256 Credential=AKOTCVECTOR000000001/20260301///sdk_request, "+
				"SignedHeaders=content-type;host;user-agent;x-project-id;x-sdk-date, Signature="+c.signature, h["Authorization"])
			assert.Equal(t, "/v3/"+projectID+"/backups", signed.GetPath())
		})
	}
}

// A request signed the Huawei SDK's way (Access=<AK>, keyed with the raw
// secret key) is refused by OTC as a bad signature; the driver's OTC form is
// accepted. Both go through the official SDK.
func TestHuaweiSignatureRefusedOTCAccepted(t *testing.T) {
	s := startSim(t, otcrdssim.Options{})
	cred, err := basic.NewCredentialsBuilder().WithAk(otcrdssim.AccessKey).WithSk(otcrdssim.SecretKey).WithProjectId(otcrdssim.ProjectID).SafeBuild()
	require.NoError(t, err)
	hc, err := huaweicloud.BuildClient(rds.RdsClientBuilder(), huaweicloud.ClientOptions{Endpoint: s.Endpoint(), Credential: cred})
	require.NoError(t, err)
	_, err = rds.NewRdsClient(hc).ListInstances(&model.ListInstancesRequest{})
	e := pe(t, huaweicloud.MapError("otcrds", err))
	assert.Equal(t, 401, e.HTTPStatus)
	assert.Equal(t, "APIG.0301", e.Code)
	assert.Equal(t, provider.Permission, e.Class)

	d := newDriver(t, akskConfig(s, otcrdssim.SecretKey))
	require.NoError(t, d.Preflight(ctx(t), job(section(nil))), "the OTC form is accepted")
}

// recorder keeps what a driver sends: the Authorization headers (signatures)
// and X-Auth-Token values.
type recorder struct {
	mu      sync.Mutex
	secrets []string
}

func (r *recorder) observe(req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a := req.Header.Get("Authorization"); a != "" {
		_, sig, _ := strings.Cut(a, "Signature=")
		r.secrets = append(r.secrets, sig)
	}
	if tok := req.Header.Get("X-Auth-Token"); tok != "" {
		r.secrets = append(r.secrets, tok)
	}
}

// No secret key, password, derived key, signature or token reaches an error
// message, whatever fails.
func TestNoSecretInErrors(t *testing.T) {
	s := startSim(t, otcrdssim.Options{})
	today := time.Now().UTC().Format("20060102")
	secrets := []string{otcrdssim.SecretKey, otcrdssim.Password, "wrong-secret", "wrong-password"}
	for _, sk := range []string{otcrdssim.SecretKey, "wrong-secret"} {
		k := otcrds.SigningKey(sk, today)
		secrets = append(secrets, hex.EncodeToString(k), string(k))
	}
	var errs []error
	rec := &recorder{}
	drive := func(d *otcrds.Driver) {
		d.ObserveRequests(rec.observe)
		j := job(section(nil))
		errs = append(errs, d.Preflight(ctx(t), j))
		_, err := d.Start(ctx(t), j)
		errs = append(errs, err)
		_, err = d.Poll(ctx(t), provider.Operation{ID: "x", BackupID: "x", Resource: otcrdssim.InstanceID(0)})
		errs = append(errs, err)
		errs = append(errs, d.Delete(ctx(t), provider.Operation{ID: "x", BackupID: "x", Resource: otcrdssim.InstanceID(0)}))
	}
	drive(newDriver(t, akskConfig(s, "wrong-secret")))
	drive(newDriver(t, tokenConfig(s, "wrong-password")))
	// With good credentials the provider refuses other things (a name in use by
	// somebody else, a backup still building, a throttled call): no secret either.
	good := newDriver(t, akskConfig(s, otcrdssim.SecretKey))
	good.ObserveRequests(rec.observe)
	op, err := good.Start(ctx(t), job(section(map[string]any{"name": "no-secrets"})))
	require.NoError(t, err)
	errs = append(errs, good.Delete(ctx(t), op))
	s.FailNext(provider.Throttled, 1, time.Second)
	_, err = good.Poll(ctx(t), op)
	errs = append(errs, err)
	tok := newDriver(t, tokenConfig(s, otcrdssim.Password))
	tok.ObserveRequests(rec.observe)
	other := job(section(map[string]any{"name": "no-secrets"})) // another owner: the name is not provably ours
	_, err = tok.Start(ctx(t), other)
	errs = append(errs, err)

	rec.mu.Lock()
	secrets = append(secrets, rec.secrets...)
	rec.mu.Unlock()
	require.NotEmpty(t, rec.secrets, "signatures and tokens were seen")
	for _, err := range errs {
		require.Error(t, err)
		var e *provider.Error
		require.True(t, errors.As(err, &e), "%v", err)
		for _, secret := range secrets {
			require.NotEmpty(t, secret)
			assert.NotContains(t, err.Error(), secret)
			assert.NotContains(t, e.Message, secret)
		}
	}
}

// The IAM client never follows a redirect: a 307 would send the password
// again, to wherever Location points.
func TestIAMRedirectNotFollowed(t *testing.T) {
	s := startSim(t, otcrdssim.Options{})
	var mu sync.Mutex
	reached := 0
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		reached++
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(target.Close)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+r.URL.Path+"?token=secret-in-query", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirect.Close)

	cfg := tokenConfig(s, otcrdssim.Password)
	cfg.IAMEndpoint = redirect.URL
	d := newDriver(t, cfg)
	e := pe(t, d.Preflight(ctx(t), job(section(nil))))
	assert.Equal(t, provider.FailedPrecondition, e.Class)
	assert.False(t, e.Class.Retryable())
	assert.Equal(t, http.StatusTemporaryRedirect, e.HTTPStatus)
	assert.Contains(t, e.Message, "BACKUPFLOW_OTCRDS_IAM_ENDPOINT")
	assert.Contains(t, e.Message, target.URL)
	assert.NotContains(t, e.Error(), "secret-in-query")
	assert.NotContains(t, e.Error(), otcrdssim.Password)
	mu.Lock()
	assert.Zero(t, reached, "the password was not sent to the redirect target")
	mu.Unlock()
	assert.Zero(t, s.Calls(), "no RDS call without a token")
}
