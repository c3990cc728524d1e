package ops

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// OIDC accepts access tokens issued by an OpenID Connect provider: JWTs
// signed with a key from the issuer's JWKS (found through its discovery
// document), naming Audience in "aud", issued by Issuer and not expired.
// This is what the Temporal Web UI sends with its passAccessToken setting.
//
// Discovery happens at the first request, not at start: an identity
// provider that is down must not stop the worker, only the endpoint.
type OIDC struct {
	Issuer   string
	Audience string
	// HTTPClient fetches the discovery document and the keys; nil means a
	// client with a 10 s timeout.
	HTTPClient *http.Client

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
}

// IssuerUnavailableError means the issuer's discovery document could not
// be read, so no token can be checked yet.
type IssuerUnavailableError struct {
	Issuer string
	Err    error
}

func (e *IssuerUnavailableError) Error() string {
	return fmt.Sprintf("OIDC issuer %s: discovery failed: %v", e.Issuer, e.Err)
}

func (e *IssuerUnavailableError) Unwrap() error { return e.Err }

// Verify checks a raw access token.
func (o *OIDC) Verify(ctx context.Context, raw string) error {
	v, err := o.verifierFor(ctx)
	if err != nil {
		return err
	}
	_, err = v.Verify(ctx, raw)
	return err
}

func (o *OIDC) verifierFor(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.verifier != nil {
		return o.verifier, nil
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	// The provider keeps the client (not ctx's deadline) for later key fetches.
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, hc), o.Issuer)
	if err != nil {
		return nil, &IssuerUnavailableError{Issuer: o.Issuer, Err: err}
	}
	o.verifier = p.Verifier(&oidc.Config{ClientID: o.Audience})
	return o.verifier, nil
}
