package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func webhookSink(name, url string) Sink {
	return Sink{Name: name, Kind: SinkWebhook, URL: url, SecretFile: "/etc/bf/secret", secret: &secretKey{key: []byte(testSecret)}}
}

func failedEvent() Event {
	at := time.Date(2026, 12, 3, 2, 0, 5, 123000000, time.UTC)
	return New(BackupFailed, "backup-orders-1", "projects/p/instances/i/databases/orders", "nightly", at, Data{
		Plan: "nightly", Target: "orders", Provider: "spanner", Kind: "full",
		Resource: "projects/p/instances/i/databases/orders", WorkflowID: "backup-orders-1", RunID: "run-1",
		Failure: "quota exceeded", Class: "quota",
	}, "backup-orders-1", "run-1")
}

func TestWebhookDeliversSignedStructuredCloudEvent(t *testing.T) {
	e := failedEvent()
	type got struct {
		header http.Header
		body   []byte
		path   string
	}
	requests := make(chan got, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		requests <- got{r.Header.Clone(), body, r.URL.RequestURI()}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)

	d := &Deliverer{}
	require.NoError(t, d.Deliver(context.Background(), webhookSink("ops", srv.URL+"/hook?x=1"), e))
	r := <-requests
	require.Equal(t, "/hook?x=1", r.path)
	require.Equal(t, "application/cloudevents+json", r.header.Get("Content-Type"))
	require.Empty(t, r.header.Get("Ce-Id"), "structured mode keeps attributes in the body")
	require.True(t, Verify([]byte(testSecret), r.body, r.header.Get(SignatureHeader)), "signature over the received body")
	require.Equal(t, Sign([]byte(testSecret), r.body), r.header.Get(SignatureHeader))

	var ce map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(r.body, &ce))
	str := func(k string) string {
		var s string
		require.NoError(t, json.Unmarshal(ce[k], &s), k)
		return s
	}
	require.Equal(t, "1.0", str("specversion"))
	require.Equal(t, e.ID, str("id"))
	require.Equal(t, string(BackupFailed), str("type"))
	require.Equal(t, "/backupflow/backup-orders-1", str("source"))
	require.Equal(t, "projects/p/instances/i/databases/orders", str("subject"))
	require.Equal(t, "application/json", str("datacontenttype"))
	require.Equal(t, "nightly", str("plan"))
	at, err := time.Parse(time.RFC3339Nano, str("time"))
	require.NoError(t, err)
	require.True(t, at.Equal(e.Time), "time %s", at)
	require.JSONEq(t, string(e.Data), string(ce["data"]))
	var data Data
	require.NoError(t, json.Unmarshal(ce["data"], &data))
	require.Equal(t, "quota exceeded", data.Failure)
}

func TestWebhookWithoutPlanHasNoPlanAttribute(t *testing.T) {
	bodies := make(chan []byte, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		bodies <- body
	}))
	t.Cleanup(srv.Close)
	e := New(BackupSucceeded, "wf", "db", "", time.Unix(0, 0), Data{Resource: "db"}, "k")
	require.NoError(t, (&Deliverer{}).Deliver(context.Background(), webhookSink("ops", srv.URL), e))
	var ce map[string]any
	require.NoError(t, json.Unmarshal(<-bodies, &ce))
	require.NotContains(t, ce, "plan")
	require.Equal(t, e.ID, ce["id"])
}

func TestVerify(t *testing.T) {
	secret, body := []byte(testSecret), []byte(`{"specversion":"1.0","id":"x"}`)
	sig := Sign(secret, body)
	require.True(t, strings.HasPrefix(sig, "sha256="))
	require.Len(t, sig, len("sha256=")+64)
	require.True(t, Verify(secret, body, sig))

	tampered := bytes.Clone(body)
	tampered[len(tampered)-3] = 'y'
	require.False(t, Verify(secret, tampered, sig), "tampered body")
	require.False(t, Verify([]byte("another-secret-0123456789"), body, sig), "wrong secret")
	require.False(t, Verify(secret, body, strings.TrimPrefix(sig, "sha256=")), "no scheme")
	require.False(t, Verify(secret, body, "sha256=zz"), "not hex")
	require.False(t, Verify(secret, body, "sha256="+strings.Repeat("0", 64)), "zero")
	require.False(t, Verify(nil, body, Sign(nil, body)), "no secret")
	require.False(t, Verify(secret, body, ""), "no header")
}

func TestSlackDeliversText(t *testing.T) {
	type got struct {
		header http.Header
		body   []byte
	}
	requests := make(chan got, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		requests <- got{r.Header.Clone(), body}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	e := failedEvent()
	require.NoError(t, (&Deliverer{}).Deliver(context.Background(), Sink{Name: "team", Kind: SinkSlack, URL: srv.URL + "/services/T/B/X"}, e))
	r := <-requests
	require.Equal(t, "application/json", r.header.Get("Content-Type"))
	require.Empty(t, r.header.Get(SignatureHeader))
	var msg map[string]string
	require.NoError(t, json.Unmarshal(r.body, &msg))
	require.Equal(t, map[string]string{"text": Text(e)}, msg)
	require.Equal(t, ":red_circle: backup failed — plan nightly, target orders (spanner projects/p/instances/i/databases/orders): quota exceeded (quota)\n"+
		"kind full, workflow backup-orders-1", msg["text"])
}

func TestText(t *testing.T) {
	at := time.Date(2026, 12, 3, 2, 0, 0, 0, time.UTC)
	last, since := at.Add(-26*time.Hour), at.Add(-2*time.Hour)
	cases := []struct {
		name string
		e    Event
		want string
	}{
		{"succeeded", New(BackupSucceeded, "wf", "db", "nightly", at, Data{Plan: "nightly", Target: "orders", Provider: "spanner",
			Resource: "db", BackupName: "projects/p/backups/b1"}, "k"),
			":large_green_circle: backup succeeded — plan nightly, target orders (spanner db)\nbackup projects/p/backups/b1"},
		{"hand-started", New(BackupStarted, "wf", "db", "", at, Data{Provider: "spanner", Resource: "db", WorkflowID: "wf"}, "k"),
			":arrow_forward: backup started — spanner db\nworkflow wf"},
		{"retention refused", New(RetentionRefused, "wf", "db", "nightly", at, Data{Plan: "nightly", Target: "orders",
			BackupID: "b7", Reason: "last good backup"}, "k"),
			":warning: retention refused to delete a backup — plan nightly, target orders (db): last good backup\nbackup b7"},
		{"rpo breached", New(RPOBreached, "wf", "db", "nightly", at, Data{Plan: "nightly", Target: "orders", Provider: "spanner",
			Resource: "db", RPOSeconds: 3600, LastGood: &last, BreachedSince: &since}, "k"),
			":red_circle: RPO breached — plan nightly, target orders (spanner db)\nRPO 1h0m0s, last good backup 2026-12-02T00:00:00Z, breached since 2026-12-03T00:00:00Z"},
		{"planrun missed", New(PlanRunMissed, "wf", "", "nightly", at, Data{Plan: "nightly", Target: "orders",
			ScheduledAt: &at, Failure: "worker down\n  for an hour"}, "k"),
			":warning: plan run missed — plan nightly, target orders: worker down for an hour\nscheduled at 2026-12-03T02:00:00Z"},
		{"escaped", New(BackupFailed, "wf", "db", "", at, Data{Resource: "db", Failure: "<b> & </b>"}, "k"),
			":red_circle: backup failed — db: &lt;b&gt; &amp; &lt;/b&gt;"},
		{"unknown type", Event{Type: "io.example.other.v1", Subject: "db"}, "io.example.other.v1 — db"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, Text(c.e))
		})
	}
	for _, typ := range Types {
		require.Contains(t, headlines, typ, "every type has a headline")
	}
	long := Text(New(BackupFailed, "wf", "db", "", at, Data{Failure: strings.Repeat("x", 2000)}, "k"))
	require.Less(t, len(long), 600)
}

// closedURL is a loopback address nothing listens on.
func closedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr
}

func TestClassification(t *testing.T) {
	retryDate := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	cases := []struct {
		status     int
		retryAfter string
		wantErr    bool
		permanent  bool
		wantAfter  [2]time.Duration // inclusive bounds
	}{
		{status: 200},
		{status: 202},
		{status: 204},
		{status: 301, wantErr: true, permanent: true},
		{status: 307, wantErr: true, permanent: true},
		{status: 400, wantErr: true, permanent: true},
		{status: 401, wantErr: true, permanent: true},
		{status: 404, wantErr: true, permanent: true},
		{status: 410, wantErr: true, permanent: true},
		{status: 408, wantErr: true},
		{status: 429, retryAfter: "120", wantErr: true, wantAfter: [2]time.Duration{120 * time.Second, 120 * time.Second}},
		{status: 429, retryAfter: retryDate, wantErr: true, wantAfter: [2]time.Duration{58 * time.Minute, time.Hour}},
		{status: 429, retryAfter: "soon", wantErr: true},
		{status: 500, wantErr: true},
		{status: 503, retryAfter: "7", wantErr: true, wantAfter: [2]time.Duration{7 * time.Second, 7 * time.Second}},
	}
	var redirected atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { redirected.Add(1) }))
	t.Cleanup(other.Close)
	for _, c := range cases {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			if c.retryAfter != "" {
				w.Header().Set("Retry-After", c.retryAfter)
			}
			if c.status/100 == 3 {
				w.Header().Set("Location", other.URL)
			}
			w.WriteHeader(c.status)
			_, _ = io.WriteString(w, "receiver says no\nsecond line")
		}))
		for _, s := range []Sink{webhookSink("hook", srv.URL), {Name: "chat", Kind: SinkSlack, URL: srv.URL}} {
			err := (&Deliverer{}).Deliver(context.Background(), s, failedEvent())
			if !c.wantErr {
				require.NoError(t, err, "%d %s", c.status, s.Kind)
				continue
			}
			var de *DeliveryError
			require.ErrorAs(t, err, &de, "%d %s", c.status, s.Kind)
			require.Equal(t, s.Name, de.Sink)
			require.Equal(t, c.status, de.Status)
			require.Equal(t, c.permanent, de.Permanent, "%d %s", c.status, s.Kind)
			require.GreaterOrEqual(t, de.RetryAfter, c.wantAfter[0], "%d %q", c.status, c.retryAfter)
			require.LessOrEqual(t, de.RetryAfter, c.wantAfter[1], "%d %q", c.status, c.retryAfter)
			require.Contains(t, err.Error(), `sink "`+s.Name+`"`)
			require.Contains(t, err.Error(), "HTTP "+strconv.Itoa(c.status))
			if c.status/100 != 3 {
				require.Contains(t, err.Error(), "receiver says no")
				require.NotContains(t, err.Error(), "second line")
			}
		}
		srv.Close()
	}
	require.Zero(t, redirected.Load(), "a redirect is never followed")

	for _, s := range []Sink{webhookSink("hook", closedURL(t)), {Name: "chat", Kind: SinkSlack, URL: closedURL(t)}} {
		err := (&Deliverer{}).Deliver(context.Background(), s, failedEvent())
		var de *DeliveryError
		require.ErrorAs(t, err, &de)
		require.Zero(t, de.Status)
		require.False(t, de.Permanent, "connection refused is retryable: %v", err)
		require.Contains(t, err.Error(), "connection refused")
		require.Contains(t, err.Error(), `sink "`+s.Name+`": no response`)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 3, 2, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                                 0,
		"0":                                0,
		"-5":                               0,
		"30":                               30 * time.Second,
		" 30 ":                             30 * time.Second,
		"Thu, 03 Dec 2026 02:01:30 GMT":    90 * time.Second,
		"Thu, 03 Dec 2026 01:59:00 GMT":    0,
		"Thursday, 03-Dec-26 02:00:10 GMT": 10 * time.Second,
		"later":                            0,
		"99999999999999":                   365 * 24 * time.Hour,
	} {
		require.Equal(t, want, retryAfter(in, now), "%q", in)
	}
}

func TestRedirectNotFollowedEvenByAFollowingClient(t *testing.T) {
	var redirected atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { redirected.Add(1) }))
	t.Cleanup(other.Close)
	srv := httptest.NewServer(http.RedirectHandler(other.URL, http.StatusPermanentRedirect))
	t.Cleanup(srv.Close)
	d := &Deliverer{HTTP: &http.Client{}} // the default client follows redirects
	err := d.Deliver(context.Background(), webhookSink("hook", srv.URL), failedEvent())
	var de *DeliveryError
	require.ErrorAs(t, err, &de)
	require.True(t, de.Permanent)
	require.Equal(t, http.StatusPermanentRedirect, de.Status)
	require.Contains(t, de.Message, "redirect not followed")
	require.Zero(t, redirected.Load())
	require.Nil(t, d.HTTP.CheckRedirect, "the caller's client is not changed")
}

func TestErrorsNeverShowURLPathQueryOrSecret(t *testing.T) {
	// The receiver echoes the request URL, as some error pages do.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, "no route for "+r.URL.String()+" signed "+r.Header.Get(SignatureHeader))
	}))
	t.Cleanup(srv.Close)
	path := "/services/T0/B0/SLACKPATH?token=QUERYTOKEN"
	refused := closedURL(t)
	sinks := []Sink{
		webhookSink("hook", srv.URL+path), {Name: "chat", Kind: SinkSlack, URL: srv.URL + path},
		webhookSink("hook-down", refused+path), {Name: "chat-down", Kind: SinkSlack, URL: refused + path},
	}
	for _, s := range sinks {
		err := (&Deliverer{}).Deliver(context.Background(), s, failedEvent())
		require.Error(t, err, s.Name)
		msg := err.Error()
		require.Contains(t, msg, s.Name)
		require.NotContains(t, msg, "SLACKPATH", s.Name)
		require.NotContains(t, msg, "QUERYTOKEN", s.Name)
		require.NotContains(t, msg, testSecret, s.Name)
		var de *DeliveryError
		require.ErrorAs(t, err, &de)
		require.NotContains(t, de.Message, "SLACKPATH")
	}
}

func TestTimeoutIsRetryable(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	d := &Deliverer{HTTP: &http.Client{Timeout: 100 * time.Millisecond}}
	err := d.Deliver(context.Background(), webhookSink("slow", srv.URL+"/x?token=QUERYTOKEN"), failedEvent())
	var de *DeliveryError
	require.ErrorAs(t, err, &de)
	require.Zero(t, de.Status)
	require.False(t, de.Permanent, "%v", err)
	require.NotContains(t, err.Error(), "QUERYTOKEN")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = (&Deliverer{}).Deliver(ctx, Sink{Name: "chat", Kind: SinkSlack, URL: srv.URL}, failedEvent())
	require.ErrorAs(t, err, &de)
	require.False(t, de.Permanent, "a cancelled attempt is not the sink's fault: %v", err)
}

func TestBadSinkOrEventIsPermanent(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	d := &Deliverer{}
	cases := map[string]struct {
		s Sink
		e Event
	}{
		"webhook without a loaded secret": {Sink{Name: "a", Kind: SinkWebhook, URL: srv.URL}, failedEvent()},
		"unknown kind":                    {Sink{Name: "a", Kind: "email", URL: srv.URL}, failedEvent()},
		"invalid data":                    {webhookSink("a", srv.URL), Event{ID: "x", Type: BackupFailed, Source: "/s", Data: json.RawMessage("{")}},
		"event without id":                {webhookSink("a", srv.URL), Event{Type: BackupFailed, Source: "/s", Data: json.RawMessage("{}")}},
	}
	for name, c := range cases {
		err := d.Deliver(context.Background(), c.s, c.e)
		var de *DeliveryError
		require.ErrorAs(t, err, &de, name)
		require.True(t, de.Permanent, "%s: %v", name, err)
		require.Zero(t, de.Status, name)
	}
	require.Zero(t, hits.Load())
}

func TestCloudEventRoundTrip(t *testing.T) {
	e := failedEvent()
	ce, err := CloudEvent(e)
	require.NoError(t, err)
	js, err := json.Marshal(ce)
	require.NoError(t, err)
	back, err := ParseCloudEvent(js)
	require.NoError(t, err)
	require.Equal(t, e.ID, back.ID)
	require.Equal(t, e.Type, back.Type)
	require.Equal(t, e.Source, back.Source)
	require.Equal(t, e.Subject, back.Subject)
	require.Equal(t, e.Plan, back.Plan)
	require.True(t, e.Time.Equal(back.Time))
	require.JSONEq(t, string(e.Data), string(back.Data))
}

func TestParseCloudEventRefuses(t *testing.T) {
	for in, want := range map[string]string{
		`not json`: "not a structured CloudEvent",
		`{"specversion":"0.3","id":"x","type":"t","source":"/s"}`: "specversion",
		`{"specversion":"1.0","type":"t","source":"/s"}`:          "id",
	} {
		_, err := ParseCloudEvent([]byte(in))
		require.ErrorContains(t, err, want, in)
	}
}
