package huaweicloud

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	core "github.com/huaweicloud/huaweicloud-sdk-go-v3/core"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"

	"github.com/backupflow/backupflow/provider"
)

// DefaultCallTimeout bounds one SDK call (connect, send, wait, read) when the
// configuration gives no other value.
const DefaultCallTimeout = 30 * time.Second

// ClientOptions configures an SDK client of the family.
type ClientOptions struct {
	// Endpoint is the service URL; "http://127.0.0.1:PORT" for a simulator.
	Endpoint string
	// Credential signs (AK/SK) or authenticates (token) each request.
	Credential auth.ICredential
	// CredentialType is the type name the SDK builder checks the credential
	// against ("<package>.<Type>"); empty for the SDK's basic.Credentials.
	CredentialType string
	// Timeout bounds each call (the SDK's HttpConfig timeout).
	Timeout time.Duration
	// Transport carries the requests; nil means a new NewTransport(). Drivers
	// share one transport between clients, and wrap it (HeaderCapture) for a
	// client that must see response headers.
	Transport http.RoundTripper
	// EndpointVar is the variable that sets Endpoint, named when the endpoint
	// answers with a redirect.
	EndpointVar string
}

// NewTransport returns the HTTP transport for a driver's SDK clients.
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// BuildClient finishes an SDK client builder (GaussDBClientBuilder(),
// RdsClientBuilder()): endpoint, credential, per-call timeout, a transport of
// its own that refuses redirects and ErrorHandler, which keeps Retry-After.
// It uses SafeBuild, never Build.
func BuildClient(b *core.HcHttpClientBuilder, o ClientOptions) (*core.HcHttpClient, error) {
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultCallTimeout
	}
	transport := o.Transport
	if transport == nil {
		transport = NewTransport()
	}
	// Every request carries a signature or a token: the SDK's client must not
	// follow a redirect (AllowRedirects false sets its CheckRedirect to stop),
	// and the redirect answer it then hands back, which its error handler
	// would read as a success, becomes a FailedPrecondition in the transport.
	hc := config.DefaultHttpConfig().WithTimeout(timeout).WithAllowRedirects(false).
		WithHttpRoundTripper(provider.NoRedirects(transport, o.EndpointVar))
	if o.CredentialType != "" {
		b = b.WithCredentialsType(o.CredentialType)
	}
	client, err := b.WithEndpoints([]string{o.Endpoint}).
		WithCredential(o.Credential).
		WithHttpConfig(hc).
		WithErrorHandler(ErrorHandler{}).
		SafeBuild()
	if err != nil {
		return nil, fmt.Errorf("build SDK client: %w", err)
	}
	return client, nil
}

// Run runs one context-less SDK call so that ctx still bounds the wait
// (provider.Call; the SDK's own HTTP timeout bounds the abandoned call). A
// call is not made under a context already done. The SDK's error is returned
// as it is: the driver's classify maps it.
func Run[T any](ctx context.Context, providerName string, fn func() (T, error)) (T, error) {
	if err := ctx.Err(); err != nil {
		var zero T
		return zero, &provider.Error{Class: provider.Unavailable, Provider: providerName,
			Message: "provider call not made: " + context.Cause(ctx).Error(), Err: err}
	}
	return provider.Call(ctx, fn)
}

// HeaderCapture is a RoundTripper that keeps the headers of the last response
// it carried. Give a client of its own to a call whose successful answer's
// headers matter (the SDK's response models drop them), e.g. Date, the
// provider's own clock.
type HeaderCapture struct {
	Base http.RoundTripper

	mu     sync.Mutex
	header http.Header
}

// RoundTrip implements http.RoundTripper.
func (c *HeaderCapture) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.Base.RoundTrip(r)
	if resp != nil {
		c.mu.Lock()
		c.header = resp.Header.Clone()
		c.mu.Unlock()
	}
	return resp, err
}

// ServerTime returns the Date of the last response, if it had one.
func (c *HeaderCapture) ServerTime() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.header == nil {
		return time.Time{}, false
	}
	t, err := http.ParseTime(c.header.Get("Date"))
	return t, err == nil
}

// VisibilityGrace is how long after a backup began a missing job or backup
// record still counts as "not visible yet" rather than gone: the family's
// task records can take seconds to appear. Two minutes is a guess
// (docs/providers/taurusdb.md, "A job ID the job API refuses";
// docs/providers/otcrds.md, "Guesses").
const VisibilityGrace = 2 * time.Minute

// ParsePercent reads a job's progress, "60%" or "60" (docs/providers/taurusdb.md,
// "Units, formats and time zones"), into 0-100; ok is false
// when there is no figure.
func ParsePercent(s string) (float64, bool) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%"))
	if s == "" {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) {
		return 0, false
	}
	return math.Max(0, math.Min(100, v)), true
}
