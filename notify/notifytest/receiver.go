// Package notifytest has loopback receivers for backupflow's
// notifications: a webhook receiver that checks signatures and CloudEvents
// the way a real one should, and a Slack-compatible one recording texts.
package notifytest

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/backupflow/backupflow/notify"
)

// maxBody bounds what a receiver reads of one request.
const maxBody = 1 << 20

// state is what both receivers share: counters, the failure switch and a
// channel closed at every change, for WaitFor.
type state struct {
	mu       sync.Mutex
	failWith int
	requests int
	changed  chan struct{}
}

func newState() state { return state{changed: make(chan struct{})} }

// notify wakes waiters; mu is held.
func (s *state) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// begin counts a request and returns the status to fail it with, 0 for none.
func (s *state) begin() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.notify()
	return s.failWith
}

// Receiver is a webhook sink on 127.0.0.1 that accepts a request only if
// its X-Backupflow-Signature verifies and its body is a structured
// CloudEvents 1.0 event; it keeps every accepted event.
type Receiver struct {
	// URL is the receiver's address, for a sink's url.
	URL string

	secret        []byte
	st            state
	events        []notify.Event
	seen          map[string]bool
	deliveries    int
	badSignatures int
	badRequests   []string
}

// NewReceiver starts a receiver that checks signatures with secret; it
// stops when the test ends.
func NewReceiver(t testing.TB, secret []byte) *Receiver {
	t.Helper()
	r := &Receiver{secret: bytes.Clone(secret), st: newState(), seen: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.URL = srv.URL + "/events"
	return r
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, maxBody))
	if status := r.st.begin(); status != 0 {
		w.WriteHeader(status)
		return
	}
	if err != nil {
		r.reject(w, http.StatusBadRequest, "reading the body: "+err.Error())
		return
	}
	if req.Method != http.MethodPost {
		r.reject(w, http.StatusMethodNotAllowed, "method "+req.Method)
		return
	}
	if !notify.Verify(r.secret, body, req.Header.Get(notify.SignatureHeader)) {
		r.st.mu.Lock()
		r.badSignatures++
		r.st.notify()
		r.st.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); mt != "application/cloudevents+json" {
		r.reject(w, http.StatusUnsupportedMediaType, "content type "+req.Header.Get("Content-Type")+" is not structured CloudEvents JSON")
		return
	}
	e, err := notify.ParseCloudEvent(body)
	if err != nil {
		r.reject(w, http.StatusBadRequest, err.Error())
		return
	}
	r.st.mu.Lock()
	r.deliveries++
	if !r.seen[e.ID] {
		r.seen[e.ID] = true
		r.events = append(r.events, e)
	}
	r.st.notify()
	r.st.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *Receiver) reject(w http.ResponseWriter, status int, why string) {
	r.st.mu.Lock()
	r.badRequests = append(r.badRequests, why)
	r.st.notify()
	r.st.mu.Unlock()
	http.Error(w, why, status)
}

// FailWith answers every request with status until FailWith(0).
func (r *Receiver) FailWith(status int) {
	r.st.mu.Lock()
	defer r.st.mu.Unlock()
	r.st.failWith = status
}

// Events is every accepted event, each ID once, in arrival order.
func (r *Receiver) Events() []notify.Event {
	r.st.mu.Lock()
	defer r.st.mu.Unlock()
	return slices.Clone(r.events)
}

// Deliveries counts accepted requests, duplicates included.
func (r *Receiver) Deliveries() int {
	r.st.mu.Lock()
	defer r.st.mu.Unlock()
	return r.deliveries
}

// Requests counts every request received, failed and refused ones included.
func (r *Receiver) Requests() int {
	r.st.mu.Lock()
	defer r.st.mu.Unlock()
	return r.st.requests
}

// BadSignatures counts requests refused with 401 for their signature.
func (r *Receiver) BadSignatures() int {
	r.st.mu.Lock()
	defer r.st.mu.Unlock()
	return r.badSignatures
}

// BadRequests says why each other refused request was refused (wrong
// content type, not a CloudEvent...).
func (r *Receiver) BadRequests() []string {
	r.st.mu.Lock()
	defer r.st.mu.Unlock()
	return slices.Clone(r.badRequests)
}

// WaitFor waits until ok holds for the accepted events and returns them;
// the test fails if timeout passes first.
func (r *Receiver) WaitFor(t testing.TB, timeout time.Duration, ok func([]notify.Event) bool) []notify.Event {
	t.Helper()
	return waitFor(t, &r.st, timeout, func() []notify.Event { return slices.Clone(r.events) }, ok)
}

// waitFor checks ok at every change of st until it holds or timeout
// passes; snapshot runs with st.mu held.
func waitFor[T any](t testing.TB, st *state, timeout time.Duration, snapshot func() []T, ok func([]T) bool) []T {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		st.mu.Lock()
		got, changed := snapshot(), st.changed
		st.mu.Unlock()
		if ok(got) {
			return got
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("notifytest: condition not met within %s; received %d: %+v", timeout, len(got), got)
			return got
		}
	}
}

// SlackReceiver is a Slack-compatible incoming webhook on 127.0.0.1: it
// accepts a JSON body {"text": "..."} and keeps the texts.
type SlackReceiver struct {
	// URL is the receiver's address; like a real one it holds a path
	// that stands for a credential.
	URL string

	st    state
	texts []string
}

// NewSlackReceiver starts a Slack-compatible receiver; it stops when the
// test ends.
func NewSlackReceiver(t testing.TB) *SlackReceiver {
	t.Helper()
	r := &SlackReceiver{st: newState()}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.URL = srv.URL + "/services/T0000/B0000/notifytest"
	return r
}

func (r *SlackReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, maxBody))
	if status := r.st.begin(); status != 0 {
		w.WriteHeader(status)
		return
	}
	var msg struct {
		Text string `json:"text"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil || req.Method != http.MethodPost || mt != "application/json" || dec.Decode(&msg) != nil || msg.Text == "" {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	r.st.mu.Lock()
	r.texts = append(r.texts, msg.Text)
	r.st.notify()
	r.st.mu.Unlock()
	_, _ = io.WriteString(w, "ok")
}

// FailWith answers every request with status until FailWith(0).
func (r *SlackReceiver) FailWith(status int) {
	r.st.mu.Lock()
	defer r.st.mu.Unlock()
	r.st.failWith = status
}

// Texts is every accepted message's text, in arrival order.
func (r *SlackReceiver) Texts() []string {
	r.st.mu.Lock()
	defer r.st.mu.Unlock()
	return slices.Clone(r.texts)
}

// Requests counts every request received, failed ones included.
func (r *SlackReceiver) Requests() int {
	r.st.mu.Lock()
	defer r.st.mu.Unlock()
	return r.st.requests
}

// WaitFor waits until ok holds for the accepted texts and returns them;
// the test fails if timeout passes first.
func (r *SlackReceiver) WaitFor(t testing.TB, timeout time.Duration, ok func([]string) bool) []string {
	t.Helper()
	return waitFor(t, &r.st, timeout, func() []string { return slices.Clone(r.texts) }, ok)
}
