// Package alirds is a loopback simulator of the Alibaba Cloud ApsaraDB RDS
// OpenAPI (RPC style, version 2014-08-15), just large enough for backupflow:
// CreateBackup, DescribeBackupTasks, DescribeBackups, DeleteBackup,
// DescribeDBInstanceAttribute and DescribeDatabases.
//
// It speaks the real wire protocol so the official Go SDK
// (github.com/aliyun/alibaba-cloud-sdk-go/services/rds) runs end to end
// against it: POST (or GET) to "/", every parameter in the query string (form
// body parameters are accepted and signed too, as the SDK's signer would),
// the RPC HMAC-SHA1 signature verified, JSON answers that carry a RequestId,
// and errors in Alibaba's shape ({"RequestId","HostId","Code","Message",
// "Recommend"} with the HTTP status the API documents).
//
// The model: instances with an engine (MySQL, SQLServer, MariaDB,
// PostgreSQL), a state (Running, Rebooting, Stopped, Deleting, ...), a lock
// mode and databases; at most one unfinished backup task per instance; at
// most 20 backup sets per instance per day; a task moves through NoStart,
// Preparing, Waiting, Uploading and Checking (the uploaded files are
// verified) and ends Finished (or Failed), with Process rising from 0 to 100
// (a percentage) over Options.Duration of simulator time.
//
// Every error code it answers with is in one catalog (codes.go); the
// provider facts behind the model, with their sources, are in
// docs/providers/alirds.md.
package alirdssim

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/simulator/simkit"
)

// Test-only credentials the simulator accepts by default. They are not secrets.
const (
	// AccessKeyID is the AccessKeyId the simulator knows.
	AccessKeyID = "LTAI5tBackupflowSimulator"
	// AccessKeySecret is its secret (test-only, never a real credential).
	AccessKeySecret = "backupflow-simulator-secret-test-only"
	// Region is the region the fixture lives in; any RegionId is accepted.
	Region = "cn-hangzhou"
	// APIVersion is the only RDS API version the simulator speaks.
	APIVersion = "2014-08-15"
)

// Options configure a simulator.
type Options struct {
	// Addr is the listen address; it must be a loopback address. Default "127.0.0.1:0".
	Addr string
	// Duration is how long (simulator time) a backup task runs. Default 2s.
	Duration time.Duration
	// Resources is the number of MySQL instances in the fixture. Default 200.
	Resources int
	// AccessKeyID and AccessKeySecret are the credentials accepted; default
	// the AccessKeyID and AccessKeySecret constants.
	AccessKeyID     string
	AccessKeySecret string
	// MaxClockSkew is how far a request's Timestamp may be from real time. Default 15m.
	MaxClockSkew time.Duration
}

// DefaultResources is the fixture size CreateSection assumes.
const DefaultResources = 200

// Server is a running simulator. It implements simkit.Simulator.
type Server struct {
	simkit.Base
	opts Options

	mu        sync.Mutex
	instances map[string]*instance
	order     []string
	tasks     map[int64]*task
	backups   map[string]*backupSet
	jobSeq    int64
	backupSeq int64
	reqSeq    uint64
	nonces    map[string]time.Time
}

// Start starts a simulator with the default fixture on a loopback address.
func Start(opts Options) (*Server, error) {
	opts.Addr = simkit.Default(opts.Addr, simkit.DefaultAddr)
	opts.Duration = simkit.Default(opts.Duration, 2*time.Second)
	opts.Resources = simkit.Default(opts.Resources, DefaultResources)
	opts.AccessKeyID = simkit.Default(opts.AccessKeyID, AccessKeyID)
	opts.AccessKeySecret = simkit.Default(opts.AccessKeySecret, AccessKeySecret)
	opts.MaxClockSkew = simkit.Default(opts.MaxClockSkew, 15*time.Minute)
	s := &Server{
		opts:      opts,
		instances: map[string]*instance{},
		tasks:     map[int64]*task{},
		backups:   map[string]*backupSet{},
		jobSeq:    5073730,
		backupSeq: 346650270,
		nonces:    map[string]time.Time{},
	}
	s.RandomFault = randomFault
	s.seed(time.Now().UTC())
	if err := s.Serve(simkit.ServeHTTP(opts.Addr, s)); err != nil {
		return nil, fmt.Errorf("alirds simulator: %w", err)
	}
	return s, nil
}

// Now is the simulator's clock: real time plus what Advance added.
func (s *Server) Now() time.Time { return s.Clock.Now().UTC() }

func (s *Server) nowLocked() time.Time { return s.Now() }

// Advance moves the simulator's clock forward: running tasks progress by d.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Clock.Advance(d)
	s.settleLocked(s.nowLocked())
}

// Inventory lists every backup the simulator holds (in any state but
// deleted), sorted, by the ID the API shows for it: a backup still being
// made by its task by its BackupJobId (RDS shows a task's BackupId only once
// it has Finished), a finished one by its BackupId. CurrentID follows a
// backup from the one ID to the other.
func (s *Server) Inventory() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(s.nowLocked())
	ids := make([]string, 0, len(s.backups)+len(s.tasks))
	for id := range s.backups {
		ids = append(ids, id)
	}
	for _, t := range s.tasks {
		if !t.settled {
			ids = append(ids, strconv.FormatInt(t.jobID, 10))
		}
	}
	sort.Strings(ids)
	return ids
}

// CurrentID is the ID Inventory lists now for the backup it once listed as
// id: the BackupId of a task that has finished since (it was listed by its
// BackupJobId while it ran), else id itself.
func (s *Server) CurrentID(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(s.nowLocked())
	n, err := strconv.ParseInt(id, 10, 64)
	if t, ok := s.tasks[n]; err == nil && ok && t.settled && s.backups[t.backupID] != nil {
		return t.backupID
	}
	return id
}

// The Backend's fault controls are simkit's: LoseNextCreate makes the next
// successful CreateBackup apply and then drop the connection without an
// answer; DropNextCreate makes the next CreateBackup fail before it applies
// (the simulator closes the connection without reading further or
// answering; the call is counted); FailNext makes the next n authenticated
// calls fail without effect (see faultError); SetFaultRate injects a random
// fault into each authenticated call (see randomFault).

// randomFault is a fault SetFaultRate injects: HTTP 503 ServiceUnavailable,
// HTTP 500 InternalError, HTTP 400 Throttling.User with Retry-After: 1, or a
// lost response after the call was applied.
func randomFault(r *rand.Rand) simkit.Fault {
	switch r.IntN(4) {
	case 0:
		return simkit.Fault{Class: provider.Unavailable}
	case 1:
		return simkit.Fault{Class: provider.Internal}
	case 2:
		return simkit.Fault{Class: provider.Throttled, RetryAfter: time.Second}
	}
	return simkit.Fault{Kind: simkit.Lose}
}

// ServeHTTP serves the RPC API on "/".
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.Delay(r.Context()) != nil {
		return
	}

	s.mu.Lock()
	requestID := s.newRequestIDLocked()
	// The Date header is the provider's clock, as on the real endpoint; here
	// that is the simulator clock, so Advance moves it too.
	w.Header().Set("Date", s.nowLocked().Format(http.TimeFormat))
	if r.URL.Path != "/" && r.URL.Path != "" {
		s.Count("")
		s.mu.Unlock()
		writeError(w, requestID, apiErr("InvalidAction.NotFound", "RPC-style requests go to \"/\"."))
		return
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		s.Count("")
		s.mu.Unlock()
		writeError(w, requestID, apiErr("UnsupportedHTTPMethod", "This http method is not supported."))
		return
	}
	params, err := readParams(r)
	if err != nil {
		s.Count("")
		s.mu.Unlock()
		writeError(w, requestID, apiErr("InvalidParameter", err.Error()))
		return
	}
	action := params.Get("Action")
	s.Count(action)
	if action == "CreateBackup" && s.TakeDrop() {
		s.mu.Unlock()
		simkit.DropConnection(w, false)
		return
	}
	if e := s.authenticateLocked(r.Method, params); e != nil {
		s.mu.Unlock()
		writeError(w, requestID, e)
		return
	}
	e, loseAfterApply := s.injectedFaultLocked()
	if e != nil {
		s.mu.Unlock()
		writeError(w, requestID, e)
		return
	}
	body, e := s.dispatchLocked(action, params)
	if e == nil && action == "CreateBackup" && s.TakeLose() {
		loseAfterApply = true
	}
	s.mu.Unlock()

	if loseAfterApply {
		simkit.DropConnection(w, false)
		return
	}
	if e != nil {
		writeError(w, requestID, e)
		return
	}
	body["RequestId"] = requestID
	writeJSON(w, http.StatusOK, requestID, body)
}

// injectedFaultLocked serves a FailNext fault, or a random one under
// SetFaultRate: an error answered before the call is applied, or (lose)
// the instruction to apply the call and then drop its answer.
func (s *Server) injectedFaultLocked() (e *apiError, lose bool) {
	ft, ok := s.TakeQueued("")
	if !ok {
		ft, ok = s.TakeRandom()
	}
	switch {
	case !ok:
		return nil, false
	case ft.Kind == simkit.Lose:
		return nil, true
	}
	if code, given := ft.Answer.(string); given {
		return apiErr(code, ""), false
	}
	return faultError(ft.Class, ft.RetryAfter), false
}

func faultError(class provider.Class, retryAfter time.Duration) *apiError {
	switch class {
	case provider.Unavailable:
		return apiErr("ServiceUnavailable", "The request has failed due to a temporary failure of the server.")
	case provider.Throttled:
		e := apiErr("Throttling.User", "Request was denied due to user flow control.")
		if retryAfter > 0 {
			e.retryAfter = retryAfter
		}
		return e
	default:
		return apiErr("InternalError", "The request processing has failed due to some unknown error, exception or failure.")
	}
}

// readParams collects the query parameters and, for a form body, the body
// parameters: the RPC signature covers both.
func readParams(r *http.Request) (url.Values, error) {
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("the query string is malformed: %v", err)
	}
	if r.Body == nil {
		return params, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("the request body could not be read: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return params, nil
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/x-www-form-urlencoded" {
		return params, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("the form body is malformed: %v", err)
	}
	for k, vs := range form {
		if _, dup := params[k]; dup {
			return nil, fmt.Errorf("parameter %q appears in both the query and the body", k)
		}
		params[k] = vs
	}
	return params, nil
}

// PercentEncode is the RPC signature's encoding: RFC 3986 percent-encoding
// with only A-Z a-z 0-9 - _ . ~ left as they are.
func PercentEncode(s string) string {
	e := url.QueryEscape(s)
	e = strings.ReplaceAll(e, "+", "%20")
	e = strings.ReplaceAll(e, "*", "%2A")
	return strings.ReplaceAll(e, "%7E", "~")
}

// StringToSign is the RPC string to sign for a request's parameters (the
// Signature parameter excluded): METHOD&%2F&percentEncode(canonical query),
// the canonical query being the parameters sorted by name, each name and
// value percent-encoded and joined as name=value with '&'.
func StringToSign(method string, params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	pairs := make([]string, 0, len(keys))
	for _, k := range keys {
		pairs = append(pairs, PercentEncode(k)+"="+PercentEncode(params.Get(k)))
	}
	return method + "&" + PercentEncode("/") + "&" + PercentEncode(strings.Join(pairs, "&"))
}

// Sign returns base64(HMAC-SHA1(secret + "&", stringToSign)).
func Sign(stringToSign, secret string) string {
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	mac.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// authenticateLocked checks the common parameters and the signature.
func (s *Server) authenticateLocked(method string, p url.Values) *apiError {
	for _, name := range []string{"Action", "Version", "AccessKeyId", "Signature", "SignatureMethod", "SignatureVersion", "SignatureNonce", "Timestamp"} {
		if p.Get(name) == "" {
			if strings.HasPrefix(name, "Signature") {
				return apiErr("IncompleteSignature", fmt.Sprintf("The request signature does not conform to Aliyun standards: %s is missing.", name))
			}
			return apiErr("MissingParameter", fmt.Sprintf("The input parameter %q that is mandatory for processing this request is not supplied.", name))
		}
	}
	if p.Get("SignatureMethod") != "HMAC-SHA1" || p.Get("SignatureVersion") != "1.0" {
		return apiErr("IncompleteSignature", "The request signature does not conform to Aliyun standards: only SignatureMethod HMAC-SHA1 and SignatureVersion 1.0 are supported.")
	}
	if p.Get("AccessKeyId") != s.opts.AccessKeyID {
		return apiErr("InvalidAccessKeyId.NotFound", "Specified access key is not found.")
	}
	sts := StringToSign(method, p)
	want := Sign(sts, s.opts.AccessKeySecret)
	if !hmac.Equal([]byte(want), []byte(p.Get("Signature"))) {
		return apiErr("SignatureDoesNotMatch", "Specified signature is not matched with our calculation. server string to sign is:"+sts)
	}
	ts, err := time.Parse("2006-01-02T15:04:05Z", p.Get("Timestamp"))
	if err != nil {
		return apiErr("InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")
	}
	// Signatures are checked against real time: the simulator clock (Advance) only drives backups.
	real := time.Now()
	if d := real.Sub(ts); d > s.opts.MaxClockSkew || d < -s.opts.MaxClockSkew {
		return apiErr("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
	}
	for n, seen := range s.nonces {
		if real.Sub(seen) > s.opts.MaxClockSkew {
			delete(s.nonces, n)
		}
	}
	nonce := p.Get("SignatureNonce")
	if _, used := s.nonces[nonce]; used {
		return apiErr("SignatureNonceUsed", "Specified signature nonce was used already.")
	}
	s.nonces[nonce] = real
	if p.Get("Version") != APIVersion {
		return apiErr("InvalidVersion", fmt.Sprintf("Specified parameter Version %q is not valid.", p.Get("Version")))
	}
	if f := p.Get("Format"); f != "" && !strings.EqualFold(f, "JSON") {
		return apiErr("InvalidParameter", "The simulator answers in JSON only (Format=JSON).")
	}
	return nil
}

func (s *Server) newRequestIDLocked() string {
	s.reqSeq++
	n := s.reqSeq
	return fmt.Sprintf("5E1D0C3A-%04X-4B1F-8AC5-%012X", (n>>48)&0xffff, n&0xffffffffffff)
}

// apiError is an answer in Alibaba's error shape.
type apiError struct {
	status     int
	code       string
	message    string
	retryAfter time.Duration
}

func writeError(w http.ResponseWriter, requestID string, e *apiError) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.retryAfter+time.Second-1)/time.Second)))
	}
	writeJSON(w, e.status, requestID, map[string]any{
		"RequestId": requestID,
		"HostId":    "rds.aliyuncs.com",
		"Code":      e.code,
		"Message":   e.message,
		"Recommend": "https://api.aliyun.com/troubleshoot?q=" + url.QueryEscape(e.code) + "&product=Rds",
	})
}

func writeJSON(w http.ResponseWriter, status int, requestID string, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"Code":"InternalError","Message":"encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.Header().Set("x-acs-request-id", requestID)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// ErrUnknownInstance is returned by the test knobs for an instance the fixture lacks.
var ErrUnknownInstance = errors.New("alirds simulator: no such instance")
