package otcrds

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/impl"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"

	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/huaweicloud"
)

// refreshFraction is the share of a token's lifetime after which the driver
// gets a new one (OTC tokens last 24 hours, docs/providers/otcrds.md "Units
// and time zones": a new one after about 19.2 h).
const refreshFraction = 0.8

// tokenSource gets IAM tokens (POST {iam}/v3/auth/tokens, password identity
// scoped to the project; the token is the X-Subject-Token response header) and
// keeps the current one until refreshFraction of its lifetime has passed. The
// lifetime is expires_at - issued_at, both on IAM's clock, and the refresh
// moment is measured on the local clock from when the token arrived, so clock
// skew between the worker and IAM does not matter. It is plain net/http: the
// IAM API is not part of the RDS SDK.
type tokenSource struct {
	url                               string
	user, password, domain, projectID string
	client                            *http.Client
	now                               func() time.Time

	mu        sync.Mutex
	token     string
	refreshAt time.Time
}

// Token returns a valid token, getting a new one when none is cached or the
// cached one is due for refresh.
func (s *tokenSource) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" && s.now().Before(s.refreshAt) {
		return s.token, nil
	}
	tok, lifetime, err := s.fetch(ctx)
	if err != nil {
		return "", err
	}
	s.token = tok
	s.refreshAt = s.now().Add(time.Duration(refreshFraction * float64(lifetime)))
	return tok, nil
}

// cached returns the current token without fetching ("" when none).
func (s *tokenSource) cached() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token
}

// invalidate drops token if it is still the current one (after a 401).
func (s *tokenSource) invalidate(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == token {
		s.token = ""
	}
}

type tokenBody struct {
	Auth tokenAuth `json:"auth"`
}

type tokenAuth struct {
	Identity struct {
		Methods  []string `json:"methods"`
		Password struct {
			User struct {
				Name     string `json:"name"`
				Password string `json:"password"`
				Domain   struct {
					Name string `json:"name"`
				} `json:"domain"`
			} `json:"user"`
		} `json:"password"`
	} `json:"identity"`
	Scope struct {
		Project struct {
			ID string `json:"id"`
		} `json:"project"`
	} `json:"scope"`
}

func (s *tokenSource) fetch(ctx context.Context) (string, time.Duration, error) {
	var body tokenBody
	a := &body.Auth
	a.Identity.Methods = []string{"password"}
	a.Identity.Password.User.Name = s.user
	a.Identity.Password.User.Password = s.password
	a.Identity.Password.User.Domain.Name = s.domain
	a.Scope.Project.ID = s.projectID
	raw, err := json.Marshal(body)
	if err != nil {
		return "", 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(raw))
	if err != nil {
		return "", 0, &provider.Error{Class: provider.InvalidArgument, Provider: name, Message: "IAM token request: " + err.Error(), Err: err}
	}
	req.Header.Set("Content-Type", "application/json;charset=utf8")
	resp, err := s.client.Do(req)
	if err != nil {
		return "", 0, &provider.Error{Class: provider.Unavailable, Provider: name,
			Message: "IAM token request failed: " + err.Error(), Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", 0, &provider.Error{Class: provider.Unavailable, Provider: name, Message: "IAM token answer cut short: " + err.Error(), Err: err}
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return "", 0, redirectError(resp)
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return "", 0, iamError(resp, data)
	}
	tok := resp.Header.Get("X-Subject-Token")
	if tok == "" {
		return "", 0, &provider.Error{Class: provider.Internal, Provider: name, HTTPStatus: resp.StatusCode,
			Message: "IAM answered without an X-Subject-Token header"}
	}
	var out struct {
		Token struct {
			ExpiresAt string `json:"expires_at"`
			IssuedAt  string `json:"issued_at"`
		} `json:"token"`
	}
	lifetime := 24 * time.Hour // OTC's documented token lifetime, if the answer does not say
	if json.Unmarshal(data, &out) == nil {
		exp, err1 := huaweicloud.ParseTime(out.Token.ExpiresAt)
		iss, err2 := huaweicloud.ParseTime(out.Token.IssuedAt)
		if err1 == nil && err2 == nil && exp.After(iss) {
			lifetime = exp.Sub(iss)
		}
	}
	return tok, lifetime, nil
}

// refuseRedirect stops the IAM client at a redirect: following a 307 or 308
// would send the password again, to wherever Location points.
var refuseRedirect = provider.RefuseRedirects

// redirectError reports a redirect from IAM (provider.RedirectError): only a
// person can fix the endpoint, so it is not retried.
func redirectError(resp *http.Response) *provider.Error {
	e := provider.RedirectError(resp, "BACKUPFLOW_OTCRDS_IAM_ENDPOINT")
	e.Provider, e.RequestID = name, resp.Header.Get("X-Request-Id")
	e.Message = "IAM token request: " + e.Message
	return e
}

// tokenCredentials is an auth.ICredential for the SDK that authenticates with
// an IAM token (X-Auth-Token) instead of signing. The SDK builder checks the
// credential's type name, so clients using it are built with
// WithCredentialsType(tokenCredentialsType).
type tokenCredentials struct {
	source    *tokenSource
	projectID string
	timeout   time.Duration
}

const tokenCredentialsType = "otcrds.tokenCredentials"

var _ auth.ICredential = (*tokenCredentials)(nil)

// ProcessAuthParams implements auth.ICredential: the project ID is given, so
// there is nothing to look up.
func (c *tokenCredentials) ProcessAuthParams(*impl.DefaultHttpClient, string) (auth.ICredential, error) {
	return c, nil
}

// ProcessAuthRequest implements auth.ICredential: it fills {project_id} and
// adds X-Auth-Token. The driver fetches the token under the call's context
// before each call; fetching here only happens if that token was dropped.
func (c *tokenCredentials) ProcessAuthRequest(_ *impl.DefaultHttpClient, req *request.DefaultHttpRequest) (*request.DefaultHttpRequest, error) {
	tok := c.source.cached()
	if tok == "" {
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		defer cancel()
		var err error
		if tok, err = c.source.Token(ctx); err != nil {
			return nil, err
		}
	}
	return req.Builder().
		AddAutoFilledPathParam("project_id", c.projectID).
		AddHeaderParam("X-Project-Id", c.projectID).
		AddHeaderParam("X-Auth-Token", tok).
		Build(), nil
}

func (c *tokenCredentials) String() string {
	return fmt.Sprintf("otcrds token credentials (project %s)", c.projectID)
}
