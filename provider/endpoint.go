package provider

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Endpoint is a provider endpoint that passed CheckEndpoint.
type Endpoint struct {
	// Scheme is "https", or "http" for a loopback simulator marked insecure.
	Scheme string
	// Host is host[:port] as given.
	Host string
}

// IsZero reports whether no endpoint was given.
func (e Endpoint) IsZero() bool { return e.Host == "" }

// Plaintext reports whether the endpoint is spoken without TLS.
func (e Endpoint) Plaintext() bool { return e.Scheme == "http" }

// URL is scheme://host[:port], the form HTTP SDKs take.
func (e Endpoint) URL() string {
	if e.IsZero() {
		return ""
	}
	return e.Scheme + "://" + e.Host
}

// HostPort is host:port, the port defaulting to the scheme's: the form gRPC dials.
func (e Endpoint) HostPort() string {
	if e.IsZero() {
		return ""
	}
	if _, _, err := net.SplitHostPort(e.Host); err == nil {
		return e.Host
	}
	port := "443"
	if e.Plaintext() {
		port = "80"
	}
	return net.JoinHostPort(strings.Trim(e.Host, "[]"), port)
}

// CheckEndpoint applies the one transport rule every driver follows to the
// value of endpointVar (BACKUPFLOW_<P>_ENDPOINT or another endpoint of the
// driver) and the insecure flag of insecureVar (BACKUPFLOW_<P>_INSECURE):
//
//   - the value is https://host[:port] or host[:port] (spoken over TLS);
//   - plaintext (http://host[:port], or host[:port] with the flag) needs the
//     flag and a loopback host (127.0.0.0/8, ::1, localhost): a simulator;
//   - the flag with a non-loopback host, or with an https:// URL, is refused;
//   - user info, a path, a query or a fragment is refused: credentials and
//     signed parameters have no place in configuration that gets logged.
//
// An empty value is no endpoint (the SDK's default), unless the flag is set.
// Errors name the variable and the rule, and never quote a value that could
// hold a credential.
func CheckEndpoint(endpointVar, insecureVar, value string, insecure bool) (Endpoint, error) {
	bad := func(name, format string, args ...any) (Endpoint, error) {
		return Endpoint{}, &EndpointError{Var: name, Rule: fmt.Sprintf(format, args...)}
	}
	if value == "" {
		if insecure {
			return bad(insecureVar, "requires %s: plaintext is only for a loopback simulator's address", endpointVar)
		}
		return Endpoint{}, nil
	}
	shown := strconv.Quote(value)
	if strings.ContainsAny(value, "@?#") {
		shown = "(value not shown: it may hold a credential)"
	}
	scheme, rest := "", value
	if i := strings.Index(value, "://"); i >= 0 {
		scheme, rest = strings.ToLower(value[:i]), value[i+3:]
		if scheme != "https" && scheme != "http" {
			return bad(endpointVar, "the scheme must be https (http only for a loopback simulator), got %s", shown)
		}
	}
	u, err := url.Parse("https://" + rest)
	switch {
	case err != nil || u.Host == "" || u.Hostname() == "":
		return bad(endpointVar, "must be https://host[:port] or host[:port], got %s", shown)
	case u.User != nil:
		return bad(endpointVar, "must not carry user info (user:password@): give credentials in their own variables")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(rest, "?#"):
		return bad(endpointVar, "must not carry a query or a fragment: signed parameters and tokens have no place in an endpoint")
	case u.Path != "" && u.Path != "/":
		return bad(endpointVar, "must be https://host[:port] or host[:port], without a path, got %s", shown)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return bad(endpointVar, "the port must be 1-65535, got %s", shown)
		}
	}
	switch {
	case scheme == "https" && insecure:
		return bad(insecureVar, "is true (plaintext) but %s is an https:// URL; unset one of them", endpointVar)
	case scheme == "http" && !insecure:
		return bad(endpointVar, "plain http is only for a loopback simulator with %s=true; use https://, got %s", insecureVar, shown)
	case insecure && !IsLoopback(u.Hostname()):
		return bad(insecureVar, "true (plaintext) is only allowed with a loopback endpoint (127.0.0.0/8, ::1, localhost); %s is %s",
			endpointVar, shown)
	}
	ep := Endpoint{Scheme: "https", Host: u.Host}
	if insecure {
		ep.Scheme = "http"
	}
	return ep, nil
}

// IsLoopback reports whether host (without port) is a loopback address or localhost.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// EndpointError is a refused endpoint setting: the variable at fault and the rule.
type EndpointError struct {
	Var, Rule string
}

func (e *EndpointError) Error() string { return e.Var + ": " + e.Rule }

// RefuseRedirects is the CheckRedirect of every HTTP client that carries
// credentials: following a 307 or 308 would send the request, credentials
// and all, to wherever Location points. The client returns the redirect
// answer itself, for the caller to report.
func RefuseRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// NoRedirects wraps the transport of an SDK client whose http.Client cannot be
// given a CheckRedirect: a redirect answer ends the call with a
// FailedPrecondition error before the client could follow it. endpointVar is
// the variable to fix.
func NoRedirects(base http.RoundTripper, endpointVar string) http.RoundTripper {
	return noRedirects{base: base, endpointVar: endpointVar}
}

type noRedirects struct {
	base        http.RoundTripper
	endpointVar string
}

func (n noRedirects) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := n.base.RoundTrip(r)
	if err != nil || resp.StatusCode < 300 || resp.StatusCode > 399 || resp.Header.Get("Location") == "" {
		return resp, err
	}
	_ = resp.Body.Close()
	return nil, RedirectError(resp, n.endpointVar)
}

// RedirectError reports a redirect answer to a request that carried
// credentials: only a person can fix the endpoint, so it is not retried.
// Location is quoted without user info, query or fragment.
func RedirectError(resp *http.Response, endpointVar string) *Error {
	where := "an unnamed location"
	if u, err := resp.Location(); err == nil {
		where = u.Scheme + "://" + u.Host + u.Path
	}
	fix := "the endpoint"
	if endpointVar != "" {
		fix = endpointVar
	}
	return &Error{Class: FailedPrecondition, HTTPStatus: resp.StatusCode,
		Message: fmt.Sprintf("the endpoint answered with a redirect (%d) to %s; requests carrying credentials never "+
			"follow redirects: set %s to the API endpoint itself", resp.StatusCode, where, fix)}
}
