package notify_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/notify"
	"github.com/backupflow/backupflow/notify/notifytest"
)

const secret = "receiver-secret-0123456789"

// sinks parses a sinks file whose webhook secret file holds key.
func sinks(t *testing.T, key, yaml string) []notify.Sink {
	t.Helper()
	s, err := notify.ParseSinks([]byte(yaml), func(name string) ([]byte, error) {
		if name != "/secret" {
			return nil, fmt.Errorf("no file %s", name)
		}
		return []byte(key + "\n"), nil
	})
	require.NoError(t, err)
	return s
}

func event(key string) notify.Event {
	at := time.Date(2026, 12, 3, 2, 0, 0, 0, time.UTC)
	return notify.New(notify.BackupSucceeded, "backup-orders", "db/orders", "nightly", at,
		notify.Data{Plan: "nightly", Target: "orders", Provider: "spanner", Resource: "db/orders", BackupID: "b-" + key}, key)
}

func TestReceiverAcceptsSignedEventsOnceByID(t *testing.T) {
	r := notifytest.NewReceiver(t, []byte(secret))
	require.True(t, strings.HasPrefix(r.URL, "http://127.0.0.1:"), r.URL)
	s := sinks(t, secret, "sinks: [{name: ops, kind: webhook, url: '"+r.URL+"', secretFile: /secret}]")[0]
	d := &notify.Deliverer{}
	e1, e2 := event("1"), event("2")
	ctx := context.Background()
	require.NoError(t, d.Deliver(ctx, s, e1))
	require.NoError(t, d.Deliver(ctx, s, e1)) // a redelivery after a crash
	require.NoError(t, d.Deliver(ctx, s, e2))
	require.Equal(t, []notify.Event{e1, e2}, r.Events())
	require.Equal(t, 3, r.Deliveries())
	require.Equal(t, 3, r.Requests())
	require.Zero(t, r.BadSignatures())
	require.Empty(t, r.BadRequests())
}

func TestReceiverRefusesBadSignatures(t *testing.T) {
	r := notifytest.NewReceiver(t, []byte(secret))
	wrong := sinks(t, "not-the-receivers-secret", "sinks: [{name: ops, kind: webhook, url: '"+r.URL+"', secretFile: /secret}]")[0]
	err := (&notify.Deliverer{}).Deliver(context.Background(), wrong, event("1"))
	var de *notify.DeliveryError
	require.ErrorAs(t, err, &de)
	require.Equal(t, http.StatusUnauthorized, de.Status)
	require.True(t, de.Permanent)
	require.NotContains(t, err.Error(), "not-the-receivers-secret")
	require.Equal(t, 1, r.BadSignatures())
	require.Equal(t, 1, r.Requests())
	require.Zero(t, r.Deliveries())
	require.Empty(t, r.Events())

	// A tampered body under the original signature is refused too.
	body := []byte(`{"specversion":"1.0","id":"x","type":"t","source":"/s"}`)
	sig := notify.Sign([]byte(secret), body)
	tampered := bytes.Replace(body, []byte(`"x"`), []byte(`"y"`), 1)
	status := post(t, r.URL, "application/cloudevents+json", sig, tampered)
	require.Equal(t, http.StatusUnauthorized, status)
	require.Equal(t, 2, r.BadSignatures())

	// Signed, but not a structured CloudEvent.
	status = post(t, r.URL, "application/json", notify.Sign([]byte(secret), body), body)
	require.Equal(t, http.StatusUnsupportedMediaType, status)
	notCE := []byte(`{"hello":"world"}`)
	status = post(t, r.URL, "application/cloudevents+json", notify.Sign([]byte(secret), notCE), notCE)
	require.Equal(t, http.StatusBadRequest, status)
	require.Len(t, r.BadRequests(), 2)
	require.Equal(t, 2, r.BadSignatures())
	require.Empty(t, r.Events())
}

func post(t *testing.T, url, contentType, sig string, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set(notify.SignatureHeader, sig)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return resp.StatusCode
}

func TestReceiverFailWith(t *testing.T) {
	r := notifytest.NewReceiver(t, []byte(secret))
	s := sinks(t, secret, "sinks: [{name: ops, kind: webhook, url: '"+r.URL+"', secretFile: /secret}]")[0]
	d := &notify.Deliverer{}
	r.FailWith(http.StatusServiceUnavailable)
	err := d.Deliver(context.Background(), s, event("1"))
	var de *notify.DeliveryError
	require.ErrorAs(t, err, &de)
	require.Equal(t, http.StatusServiceUnavailable, de.Status)
	require.False(t, de.Permanent)
	require.Equal(t, 1, r.Requests())
	require.Zero(t, r.Deliveries())

	r.FailWith(0)
	require.NoError(t, d.Deliver(context.Background(), s, event("1")))
	require.Equal(t, 2, r.Requests())
	require.Equal(t, 1, r.Deliveries())
}

func TestReceiverWaitFor(t *testing.T) {
	r := notifytest.NewReceiver(t, []byte(secret))
	s := sinks(t, secret, "sinks: [{name: ops, kind: webhook, url: '"+r.URL+"', secretFile: /secret}]")[0]
	errs := make(chan error, 1)
	go func() {
		var err error
		for i := range 5 {
			if err = (&notify.Deliverer{}).Deliver(context.Background(), s, event(fmt.Sprint(i))); err != nil {
				break
			}
		}
		errs <- err
	}()
	got := r.WaitFor(t, 10*time.Second, func(es []notify.Event) bool { return len(es) == 5 })
	require.Len(t, got, 5)
	require.NoError(t, <-errs)
	for i, e := range got {
		require.Equal(t, event(fmt.Sprint(i)).ID, e.ID)
	}
}

// recordingTB notes a failed WaitFor instead of failing the test.
type recordingTB struct {
	testing.TB
	failed bool
}

func (r *recordingTB) Fatalf(string, ...any) { r.failed = true }
func (r *recordingTB) Helper()               {}

func TestReceiverWaitForTimesOut(t *testing.T) {
	r := notifytest.NewReceiver(t, []byte(secret))
	tb := &recordingTB{TB: t}
	got := r.WaitFor(tb, 50*time.Millisecond, func(es []notify.Event) bool { return len(es) > 0 })
	require.True(t, tb.failed)
	require.Empty(t, got)
}

func TestSlackReceiver(t *testing.T) {
	r := notifytest.NewSlackReceiver(t)
	s := sinks(t, secret, "sinks: [{name: chat, kind: slack, url: '"+r.URL+"'}]")[0]
	d := &notify.Deliverer{}
	e := event("1")
	require.NoError(t, d.Deliver(context.Background(), s, e))
	require.Equal(t, []string{notify.Text(e)}, r.Texts())

	r.FailWith(http.StatusTooManyRequests)
	err := d.Deliver(context.Background(), s, e)
	var de *notify.DeliveryError
	require.ErrorAs(t, err, &de)
	require.Equal(t, http.StatusTooManyRequests, de.Status)
	require.False(t, de.Permanent)
	require.NotContains(t, err.Error(), "/services/", "the Slack URL's path is a credential")
	r.FailWith(0)

	require.Equal(t, http.StatusBadRequest, post(t, r.URL, "application/json", "", []byte(`{"txt":"x"}`)))
	require.Equal(t, 3, r.Requests())
	texts := r.WaitFor(t, time.Second, func(ts []string) bool { return len(ts) == 1 })
	require.Contains(t, texts[0], "backup succeeded — plan nightly, target orders (spanner db/orders)")
}
