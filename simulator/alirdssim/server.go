package alirdssim

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/backupflow/backupflow/simulator/simkit"
)

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
