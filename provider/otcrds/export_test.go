package otcrds

import (
	"net/http"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"

	"github.com/backupflow/backupflow/provider"
)

// SetClock replaces the driver's clock (token refresh timing) in tests.
func (d *Driver) SetClock(now func() time.Time) { d.now = now }

// SignOTC signs req with the driver's AK/SK credential as of now.
func SignOTC(req *request.DefaultHttpRequest, accessKey, secretKey, projectID string, now time.Time) (*request.DefaultHttpRequest, error) {
	c := &akskCredentials{accessKey: accessKey, secretKey: provider.Secret(secretKey), projectID: projectID, now: func() time.Time { return now }}
	return c.ProcessAuthRequest(nil, req)
}

// SigningKey is the key the driver derives from secretKey for date (yyyymmdd).
func SigningKey(secretKey, date string) []byte { return signingKey(secretKey, date, "", "") }

// ObserveRequests shows every request the driver sends (SDK and IAM) to f.
func (d *Driver) ObserveRequests(f func(*http.Request)) {
	d.transport = observer{base: d.transport, f: f}
	if d.tokens != nil {
		d.tokens.client.Transport = d.transport
	}
	c, err := d.newClient(d.transport)
	if err != nil {
		panic(err)
	}
	d.client = c
}

type observer struct {
	base http.RoundTripper
	f    func(*http.Request)
}

func (o observer) RoundTrip(r *http.Request) (*http.Response, error) {
	o.f(r)
	return o.base.RoundTrip(r)
}
