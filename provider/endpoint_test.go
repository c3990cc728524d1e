package provider

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	epVar  = "BACKUPFLOW_X_ENDPOINT"
	insVar = "BACKUPFLOW_X_INSECURE"
)

func TestCheckEndpointAccepts(t *testing.T) {
	cases := []struct {
		value    string
		insecure bool
		want     Endpoint
		url      string
		hostPort string
	}{
		{"", false, Endpoint{}, "", ""},
		{"https://rds.eu-de.otc.t-systems.com", false, Endpoint{"https", "rds.eu-de.otc.t-systems.com"},
			"https://rds.eu-de.otc.t-systems.com", "rds.eu-de.otc.t-systems.com:443"},
		{"HTTPS://rds.aliyuncs.com:8443/", false, Endpoint{"https", "rds.aliyuncs.com:8443"}, "https://rds.aliyuncs.com:8443", "rds.aliyuncs.com:8443"},
		{"spanner.googleapis.com:443", false, Endpoint{"https", "spanner.googleapis.com:443"}, "https://spanner.googleapis.com:443", "spanner.googleapis.com:443"},
		{"rds.aliyuncs.com", false, Endpoint{"https", "rds.aliyuncs.com"}, "https://rds.aliyuncs.com", "rds.aliyuncs.com:443"},
		{"http://127.0.0.1:8080", true, Endpoint{"http", "127.0.0.1:8080"}, "http://127.0.0.1:8080", "127.0.0.1:8080"},
		{"http://127.9.9.9:1", true, Endpoint{"http", "127.9.9.9:1"}, "http://127.9.9.9:1", "127.9.9.9:1"},
		{"127.0.0.1:9010", true, Endpoint{"http", "127.0.0.1:9010"}, "http://127.0.0.1:9010", "127.0.0.1:9010"},
		{"http://[::1]:8080", true, Endpoint{"http", "[::1]:8080"}, "http://[::1]:8080", "[::1]:8080"},
		{"http://LocalHost", true, Endpoint{"http", "LocalHost"}, "http://LocalHost", "LocalHost:80"},
		{"https://[::1]", false, Endpoint{"https", "[::1]"}, "https://[::1]", "[::1]:443"},
	}
	for _, c := range cases {
		t.Run(c.value, func(t *testing.T) {
			ep, err := CheckEndpoint(epVar, insVar, c.value, c.insecure)
			require.NoError(t, err)
			assert.Equal(t, c.want, ep)
			assert.Equal(t, c.url, ep.URL())
			assert.Equal(t, c.hostPort, ep.HostPort())
			assert.Equal(t, c.insecure, ep.Plaintext())
			assert.Equal(t, c.value == "", ep.IsZero())
		})
	}
}

func TestCheckEndpointRefuses(t *testing.T) {
	cases := []struct {
		name     string
		value    string
		insecure bool
		// wantVar is the variable the error names first; rule is part of the rule.
		wantVar, rule string
	}{
		{"insecure without endpoint", "", true, insVar, "requires " + epVar},
		{"http without insecure", "http://127.0.0.1:8080", false, epVar, "plain http is only for a loopback simulator with " + insVar + "=true"},
		{"http to a remote host without insecure", "http://rds.aliyuncs.com", false, epVar, "plain http"},
		{"http to a remote host with insecure", "http://rds.aliyuncs.com", true, insVar, "only allowed with a loopback endpoint"},
		{"bare remote host with insecure", "rds.aliyuncs.com:80", true, insVar, "only allowed with a loopback endpoint"},
		{"a private address is not loopback", "http://10.0.0.1:80", true, insVar, "loopback"},
		{"a name that merely starts like localhost", "http://localhost.example.com", true, insVar, "loopback"},
		{"https with insecure", "https://127.0.0.1:8080", true, insVar, "an https:// URL"},
		{"user info", "https://user:hunter2@rds.aliyuncs.com", false, epVar, "must not carry user info"},
		{"user info without scheme", "user:hunter2@rds.aliyuncs.com", false, epVar, "must not carry user info"},
		{"query", "https://rds.aliyuncs.com/?AccessKeyId=LTAI&Signature=abc", false, epVar, "must not carry a query"},
		{"empty query", "https://rds.aliyuncs.com?", false, epVar, "must not carry a query"},
		{"fragment", "https://rds.aliyuncs.com#frag", false, epVar, "must not carry a query or a fragment"},
		{"path", "https://rds.aliyuncs.com/v1", false, epVar, "without a path"},
		{"scheme we do not speak", "ftp://rds.aliyuncs.com", false, epVar, "the scheme must be https"},
		{"no host", "https://", false, epVar, "must be https://host[:port] or host[:port]"},
		{"no host but a port", "https://:443", false, epVar, "must be https://host[:port]"},
		{"space in host", "rds aliyuncs.com", false, epVar, "must be https://host[:port]"},
		{"port out of range", "https://rds.aliyuncs.com:70000", false, epVar, "the port must be 1-65535"},
		{"port zero", "127.0.0.1:0", true, epVar, "the port must be 1-65535"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ep, err := CheckEndpoint(epVar, insVar, c.value, c.insecure)
			require.Error(t, err)
			assert.Zero(t, ep)
			var ee *EndpointError
			require.True(t, errors.As(err, &ee))
			assert.Equal(t, c.wantVar, ee.Var)
			assert.Contains(t, ee.Rule, c.rule)
			assert.Regexp(t, `^`+c.wantVar+`: `, err.Error(), "the message starts with the variable")
			assert.NotContains(t, err.Error(), "hunter2", "a credential in the value is not quoted")
			assert.NotContains(t, err.Error(), "Signature=abc")
		})
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.255.255.254": true, "::1": true, "localhost": true, "LOCALHOST": true,
		"::ffff:127.0.0.1": true,
		"128.0.0.1":        false, "0.0.0.0": false, "::": false, "10.0.0.1": false, "localhost.": false,
		"rds.aliyuncs.com": false, "": false,
	} {
		assert.Equal(t, want, IsLoopback(host), host)
	}
}

// redirector answers every request with a 307 to target (with a query that
// must not be quoted back); the target counts what reaches it.
func redirector(t *testing.T) (redirect *httptest.Server, target *httptest.Server, reached *atomic.Int32) {
	t.Helper()
	reached = &atomic.Int32{}
	target = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
	}))
	t.Cleanup(target.Close)
	redirect = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/elsewhere?token=secret-in-query#frag", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirect.Close)
	return redirect, target, reached
}

func TestNoRedirectsNeverReachesTheTarget(t *testing.T) {
	redirect, target, reached := redirector(t)
	client := &http.Client{Transport: NoRedirects(http.DefaultTransport, epVar)}
	req, err := http.NewRequest(http.MethodPost, redirect.URL+"/?Signature=abc", http.NoBody)
	require.NoError(t, err)
	req.Header.Set("Authorization", "secret-header")
	resp, err := client.Do(req)
	if resp != nil {
		_ = resp.Body.Close()
	}
	require.Error(t, err)
	var pe *Error
	require.True(t, errors.As(err, &pe), "%v", err)
	assert.Equal(t, FailedPrecondition, pe.Class)
	assert.False(t, pe.Class.Retryable())
	assert.Equal(t, http.StatusTemporaryRedirect, pe.HTTPStatus)
	assert.Contains(t, pe.Message, target.URL+"/elsewhere")
	assert.Contains(t, pe.Message, epVar)
	assert.NotContains(t, pe.Error(), "secret-in-query")
	assert.NotContains(t, pe.Error(), "frag")
	assert.Zero(t, reached.Load(), "the redirect target received nothing")
}

func TestNoRedirectsPassesOtherAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/not-modified" {
			w.WriteHeader(http.StatusNotModified) // a 3xx without Location is no redirect
			return
		}
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)
	client := &http.Client{Transport: NoRedirects(http.DefaultTransport, epVar)}
	for path, want := range map[string]int{"/": http.StatusTeapot, "/not-modified": http.StatusNotModified} {
		resp, err := client.Get(srv.URL + path)
		require.NoError(t, err)
		_ = resp.Body.Close()
		assert.Equal(t, want, resp.StatusCode)
	}
}

func TestRefuseRedirects(t *testing.T) {
	redirect, _, reached := redirector(t)
	client := &http.Client{CheckRedirect: RefuseRedirects}
	resp, err := client.Post(redirect.URL, "application/json", nil)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode, "the client hands the redirect back")
	assert.Zero(t, reached.Load())
	e := RedirectError(resp, "")
	assert.Contains(t, e.Message, "set the endpoint to the API endpoint itself")
	assert.NotContains(t, e.Message, "secret-in-query")
}
