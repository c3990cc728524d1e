package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	ceclient "github.com/cloudevents/sdk-go/v2/client"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// SignatureHeader carries a webhook request's signature:
// "sha256=" and the hex HMAC-SHA256 of the exact request body.
const SignatureHeader = "X-Backupflow-Signature"

// PlanExtension is the CloudEvents extension attribute holding the plan.
const PlanExtension = "plan"

// DefaultTimeout bounds one delivery attempt when Deliverer.HTTP is nil.
const DefaultTimeout = 10 * time.Second

// Deliverer sends one event to one sink per call; retrying is the
// caller's (a Temporal activity's) business.
type Deliverer struct {
	// HTTP is the client used; nil means one with DefaultTimeout. Redirects
	// are never followed, whatever the client says: a signed event goes to
	// the configured URL or nowhere.
	HTTP *http.Client
}

// DeliveryError is a delivery that did not succeed. Status is the HTTP
// status, 0 when no response came (network error, timeout). Permanent
// means retrying cannot help (most 4xx, redirects, a bad sink); otherwise
// RetryAfter is the receiver's Retry-After, 0 when it sent none.
// Its text never holds the URL's path or query, nor any secret.
type DeliveryError struct {
	Sink       string
	Status     int
	Permanent  bool
	RetryAfter time.Duration
	Message    string
}

func (e *DeliveryError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "notify: sink %q: ", e.Sink)
	if e.Status != 0 {
		fmt.Fprintf(&b, "HTTP %d", e.Status)
	} else {
		b.WriteString("no response")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Permanent {
		b.WriteString(" (permanent)")
	} else if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// Deliver sends e to s: a signed structured CloudEvent to a webhook, a
// text to a Slack incoming webhook. A failure is a *DeliveryError.
func (d *Deliverer) Deliver(ctx context.Context, s Sink, e Event) error {
	if !json.Valid(e.Data) && len(e.Data) > 0 {
		return &DeliveryError{Sink: s.Name, Permanent: true, Message: "event data is not valid JSON"}
	}
	switch s.Kind {
	case SinkWebhook:
		return d.deliverWebhook(ctx, s, e)
	case SinkSlack:
		return d.deliverSlack(ctx, s, e)
	}
	return &DeliveryError{Sink: s.Name, Permanent: true, Message: fmt.Sprintf("unknown sink kind %q", s.Kind)}
}

// CloudEvent converts e to the SDK's event: CloudEvents 1.0 with
// datacontenttype application/json and the plan as extension attribute.
func CloudEvent(e Event) (event.Event, error) {
	ce := event.New(event.CloudEventsVersionV1)
	ce.SetID(e.ID)
	ce.SetType(string(e.Type))
	ce.SetSource(e.Source)
	if e.Subject != "" {
		ce.SetSubject(e.Subject)
	}
	if !e.Time.IsZero() {
		ce.SetTime(e.Time)
	}
	if e.Plan != "" {
		ce.SetExtension(PlanExtension, e.Plan)
	}
	if len(e.Data) > 0 {
		// A json.RawMessage (not []byte, which the SDK sends as
		// data_base64) makes the data a JSON value in the body.
		if err := ce.SetData(event.ApplicationJSON, e.Data); err != nil {
			return ce, err
		}
	} else {
		ce.SetDataContentType(event.ApplicationJSON)
	}
	return ce, ce.Validate()
}

// FromCloudEvent is CloudEvent's inverse, for receivers.
func FromCloudEvent(ce event.Event) Event {
	e := Event{ID: ce.ID(), Type: Type(ce.Type()), Source: ce.Source(), Subject: ce.Subject(),
		Time: ce.Time().UTC(), Data: json.RawMessage(ce.Data())}
	// Compact, as New makes it: an indented body gives the same Event.
	var compact bytes.Buffer
	if json.Compact(&compact, e.Data) == nil {
		e.Data = compact.Bytes()
	}
	if plan, ok := ce.Extensions()[PlanExtension].(string); ok {
		e.Plan = plan
	}
	return e
}

// ParseCloudEvent reads a structured CloudEvents 1.0 JSON body, as a
// webhook receives it (after checking its signature with Verify).
func ParseCloudEvent(body []byte) (Event, error) {
	var ce event.Event
	if err := json.Unmarshal(body, &ce); err != nil {
		return Event{}, fmt.Errorf("not a structured CloudEvent: %w", err)
	}
	if v := ce.SpecVersion(); v != event.CloudEventsVersionV1 {
		return Event{}, fmt.Errorf("specversion %q is not 1.0", v)
	}
	if err := ce.Validate(); err != nil {
		return Event{}, fmt.Errorf("not a valid CloudEvent: %w", err)
	}
	return FromCloudEvent(ce), nil
}

func (d *Deliverer) deliverWebhook(ctx context.Context, s Sink, e Event) error {
	if s.secret == nil || len(s.secret.key) == 0 {
		return &DeliveryError{Sink: s.Name, Permanent: true,
			Message: "no signing key loaded (sinks come from ParseSinks or LoadSinks)"}
	}
	ce, err := CloudEvent(e)
	if err != nil {
		return &DeliveryError{Sink: s.Name, Permanent: true, Message: "not a valid CloudEvent: " + redactIn(err.Error(), s.URL)}
	}
	rec := &recorder{}
	hc := d.client()
	hc.Transport = &signer{next: transport(hc), key: s.secret.key, rec: rec}
	p, err := cehttp.New(cehttp.WithClient(*hc), cehttp.WithTarget(s.URL))
	if err != nil {
		return &DeliveryError{Sink: s.Name, Permanent: true, Message: "bad target: " + redactIn(err.Error(), s.URL)}
	}
	c, err := ceclient.New(p, ceclient.WithForceStructured())
	if err != nil {
		return &DeliveryError{Sink: s.Name, Permanent: true, Message: redactIn(err.Error(), s.URL)}
	}
	result := c.Send(ctx, ce)
	if rec.status == 0 {
		if result == nil {
			return nil // cannot happen: a sent request records its status
		}
		return networkError(s, result, rec.sent)
	}
	return classify(s, rec.status, rec.header, rec.body)
}

func (d *Deliverer) deliverSlack(ctx context.Context, s Sink, e Event) error {
	body, err := json.Marshal(map[string]string{"text": Text(e)})
	if err != nil {
		return &DeliveryError{Sink: s.Name, Permanent: true, Message: err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return &DeliveryError{Sink: s.Name, Permanent: true, Message: "bad URL " + redactURL(s.URL)}
	}
	req.Header.Set("Content-Type", "application/json")
	rec := &recorder{}
	hc := d.client()
	hc.Transport = &signer{next: transport(hc), rec: rec}
	resp, err := hc.Do(req)
	if err != nil {
		return networkError(s, err, rec.sent)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	_ = resp.Body.Close()
	return classify(s, rec.status, rec.header, rec.body)
}

// client copies the configured client, refusing redirects: 3xx comes back
// as the response and is classified permanent.
func (d *Deliverer) client() *http.Client {
	hc := &http.Client{Timeout: DefaultTimeout}
	if d != nil && d.HTTP != nil {
		c := *d.HTTP
		hc = &c
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return hc
}

func transport(hc *http.Client) http.RoundTripper {
	if hc.Transport != nil {
		return hc.Transport
	}
	return http.DefaultTransport
}

// recorder keeps what the one response said: the SDK reports the status
// but not the headers, and Retry-After is in a header.
type recorder struct {
	sent   bool
	status int
	header http.Header
	body   []byte
}

// maxErrorBody bounds how much of an error response goes into the error.
const maxErrorBody = 256

// signer signs the body it actually sends (when key is set) and records
// the response.
type signer struct {
	next http.RoundTripper
	key  []byte
	rec  *recorder
}

func (t *signer) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	out.ContentLength = int64(len(body))
	if t.key != nil {
		out.Header.Set(SignatureHeader, Sign(t.key, body))
	}
	t.rec.sent = true
	resp, err := t.next.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	t.rec.status, t.rec.header = resp.StatusCode, resp.Header
	if resp.StatusCode/100 != 2 {
		// Keep the start of an error body for the message; the SDK reads
		// the rest.
		head, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		t.rec.body = head
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	}
	return resp, nil
}

// Sign returns the signature header value for body: "sha256=" and the
// hex HMAC-SHA256 of body keyed with secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether header is body's signature under secret, in
// constant time.
func Verify(secret, body []byte, header string) bool {
	hexSum, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok || len(secret) == 0 {
		return false
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// classify turns a response into nil or a *DeliveryError: 2xx is
// delivered; 408, 429 and 5xx are worth retrying; everything else,
// redirects included, is permanent.
func classify(s Sink, status int, header http.Header, body []byte) error {
	if status/100 == 2 {
		return nil
	}
	e := &DeliveryError{Sink: s.Name, Status: status, Message: http.StatusText(status)}
	// A receiver's error page may echo the request path, which is a Slack
	// URL's credential.
	if detail := redactIn(printable(body), s.URL); detail != "" {
		if e.Message != "" {
			e.Message += ": "
		}
		e.Message += detail
	}
	switch {
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests, status/100 == 5:
		e.RetryAfter = retryAfter(header.Get("Retry-After"), time.Now())
	case status/100 == 3:
		e.Permanent = true
		e.Message = "redirect not followed (" + http.StatusText(status) + "); configure the final URL"
	default:
		e.Permanent = true
	}
	return e
}

// retryAfter reads Retry-After: delay-seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(365*24*time.Hour/time.Second))) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		if d := at.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// networkError wraps a failure without a response. It is retryable,
// unless the request was never sent (the sink itself is wrong). Its text
// names the URL by scheme and host only.
func networkError(s Sink, err error, sent bool) error {
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		msg = fmt.Sprintf("%s %s: %v", ue.Op, redactURL(s.URL), ue.Err)
	}
	return &DeliveryError{Sink: s.Name, Permanent: !sent && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded),
		Message: redactIn(msg, s.URL)}
}

// redactIn replaces any spelling of rawURL in msg by its scheme and host.
func redactIn(msg, rawURL string) string {
	if rawURL == "" {
		return msg
	}
	short := redactURL(rawURL)
	msg = strings.ReplaceAll(msg, rawURL, short)
	if u, err := url.Parse(rawURL); err == nil {
		msg = strings.ReplaceAll(msg, u.String(), short)
		if u.RawQuery != "" {
			msg = strings.ReplaceAll(msg, u.RawQuery, "…")
		}
		if len(u.Path) > 1 {
			msg = strings.ReplaceAll(msg, u.Path, "/…")
		}
	}
	return msg
}

// printable keeps an error body's first line of printable text.
func printable(body []byte) string {
	s := strings.TrimSpace(string(body))
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, s)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// headlines are the Slack text's first words per type.
var headlines = map[Type]string{
	BackupStarted:    ":arrow_forward: backup started",
	BackupSucceeded:  ":large_green_circle: backup succeeded",
	BackupFailed:     ":red_circle: backup failed",
	BackupCancelled:  ":white_circle: backup cancelled",
	CopySucceeded:    ":large_green_circle: backup copied",
	RetentionDeleted: ":wastebasket: retention deleted a backup",
	RetentionRefused: ":warning: retention refused to delete a backup",
	RPOBreached:      ":red_circle: RPO breached",
	RPORecovered:     ":large_green_circle: RPO met again",
	PlanRunMissed:    ":warning: plan run missed",
	PlanRunExpired:   ":warning: plan run expired",
}

// maxTextField bounds one free-text field (a failure) in a Slack text.
const maxTextField = 500

// Text is the Slack message for e, one to three lines: what happened and
// where (plan, target, provider resource) with the failure or reason;
// the backup; and the RPO or schedule figures when the type has them.
// For example:
//
//	:red_circle: backup failed — plan nightly, target orders (spanner projects/p/instances/i/databases/orders): quota exceeded
func Text(e Event) string {
	var d Data
	_ = json.Unmarshal(e.Data, &d) // a payload that does not decode leaves the headline and subject
	head, ok := headlines[e.Type]
	if !ok {
		head = string(e.Type)
	}
	plan := d.Plan
	if plan == "" {
		plan = e.Plan
	}
	var where []string
	if plan != "" {
		where = append(where, "plan "+plan)
	}
	resource := d.Resource
	if resource == "" {
		resource = e.Subject
	}
	if resource != "" && d.Provider != "" {
		resource = d.Provider + " " + resource
	}
	switch {
	case d.Target != "" && resource != "":
		where = append(where, fmt.Sprintf("target %s (%s)", d.Target, resource))
	case d.Target != "":
		where = append(where, "target "+d.Target)
	case resource != "":
		where = append(where, resource)
	}
	line := head
	if len(where) > 0 {
		line += " — " + strings.Join(where, ", ")
	}
	why := d.Failure
	if why == "" {
		why = d.Reason
	}
	if why != "" {
		line += ": " + oneLine(why)
		if d.Class != "" {
			line += " (" + d.Class + ")"
		}
	}
	lines := []string{line}

	var backup []string
	if name := firstNonEmpty(d.BackupName, d.BackupID); name != "" {
		backup = append(backup, "backup "+name)
	}
	if d.Kind != "" {
		backup = append(backup, "kind "+d.Kind)
	}
	if d.WorkflowID != "" {
		backup = append(backup, "workflow "+d.WorkflowID)
	}
	if len(backup) > 0 {
		lines = append(lines, strings.Join(backup, ", "))
	}

	var figures []string
	if d.RPOSeconds > 0 {
		figures = append(figures, "RPO "+(time.Duration(d.RPOSeconds)*time.Second).String())
	}
	if d.LastGood != nil {
		figures = append(figures, "last good backup "+d.LastGood.UTC().Format(time.RFC3339))
	}
	if d.BreachedSince != nil {
		figures = append(figures, "breached since "+d.BreachedSince.UTC().Format(time.RFC3339))
	}
	if d.ScheduledAt != nil {
		figures = append(figures, "scheduled at "+d.ScheduledAt.UTC().Format(time.RFC3339))
	}
	if len(figures) > 0 {
		lines = append(lines, strings.Join(figures, ", "))
	}
	return slackEscape(strings.Join(lines, "\n"))
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// oneLine folds a free text onto one bounded line.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > maxTextField {
		s = string(r[:maxTextField]) + "…"
	}
	return s
}

// slackEscape escapes the three characters Slack's text format reserves.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
