// Package huaweicloudsim is the simulator code shared by the Huawei Cloud API
// family simulators (TaurusDB, OTC RDS): AK/SK SDK-HMAC-SHA256 signature
// verification, the {error_code, error_msg} error writer, fault injection, a
// movable clock and the gateway that ties them in front of a provider's API,
// the Simulator that each Server embeds, and the backup table with the rules
// both APIs apply to manual backups.
package huaweicloudsim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Signature constants of the SDK's core/auth/signer.
const (
	SignAlgorithm   = "SDK-HMAC-SHA256"
	HeaderSdkDate   = "X-Sdk-Date"
	HeaderSdkSha256 = "X-Sdk-Content-Sha256"
	SdkDateLayout   = "20060102T150405Z"
	// MaxSignatureSkew is how far X-Sdk-Date may be from the real time.
	MaxSignatureSkew = 15 * time.Minute
)

// SecretLookup returns the secret key of an access key, if it is known.
type SecretLookup func(accessKey string) (secret string, ok bool)

// SingleKey is the SecretLookup of a simulator that accepts one access key.
func SingleKey(accessKey, secretKey string) SecretLookup {
	return func(ak string) (string, bool) {
		if ak == accessKey {
			return secretKey, true
		}
		return "", false
	}
}

// VerifySignature checks an SDK-HMAC-SHA256 signed request in the Huawei
// SDK's form, written independently of the SDK from its documented algorithm
// (so that it checks the SDK; do not replace it with the SDK's signer):
//
//	Authorization: SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<h1;h2>, Signature=<hex>
//	string to sign = "SDK-HMAC-SHA256\n" + X-Sdk-Date + "\n" + hex(sha256(canonical request))
//	canonical request = method \n path with a trailing "/" \n sorted escaped query \n
//	                    "name:value\n" per signed header \n signed headers \n hex(sha256(body))
//
// The key is the raw secret key. now is the real time (not the simulator's
// moved clock): the SDK signs with the wall clock. It returns nil when the
// signature is valid, or the 401 answer the provider gives.
func VerifySignature(r *http.Request, body []byte, secretOf SecretLookup, now time.Time) *APIError {
	fields, e := authorizationFields(r)
	if e != nil {
		return e
	}
	ak, signed, sig := fields["Access"], fields["SignedHeaders"], fields["Signature"]
	if ak == "" || signed == "" || sig == "" {
		return Unauthorized("malformed Authorization header: Access, SignedHeaders and Signature are required")
	}
	sk, known := secretOf(ak)
	if !known {
		return Unauthorized("verify aksk signature fail: unknown access key")
	}
	date, e := signedDate(r, signed, now)
	if e != nil {
		return e
	}
	want := Sign(CanonicalRequest(r, body, strings.Split(signed, ";")), date, sk)
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(sig))) {
		return Unauthorized("verify aksk signature fail: signature mismatch")
	}
	return nil
}

// authorizationFields splits an "SDK-HMAC-SHA256 k=v, k=v" Authorization header.
func authorizationFields(r *http.Request) (map[string]string, *APIError) {
	authz := r.Header.Get("Authorization")
	if authz == "" {
		return nil, Unauthorized("missing authentication: no Authorization or X-Auth-Token header")
	}
	rest, ok := strings.CutPrefix(authz, SignAlgorithm+" ")
	if !ok {
		return nil, Unauthorized("unsupported signing algorithm in Authorization header")
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, Unauthorized("malformed Authorization header")
		}
		fields[k] = v
	}
	return fields, nil
}

// signedDate returns X-Sdk-Date once it is well formed, close to now and
// among the signed headers.
func signedDate(r *http.Request, signedHeaders string, now time.Time) (string, *APIError) {
	date := r.Header.Get(HeaderSdkDate)
	t, err := time.Parse(SdkDateLayout, date)
	if err != nil {
		return "", Unauthorized("verify aksk signature fail: missing or malformed " + HeaderSdkDate)
	}
	if d := now.Sub(t); d > MaxSignatureSkew || d < -MaxSignatureSkew {
		return "", Unauthorized("verify aksk signature fail: " + HeaderSdkDate + " is too far from the current time")
	}
	if !contains(strings.Split(signedHeaders, ";"), strings.ToLower(HeaderSdkDate)) {
		return "", Unauthorized("verify aksk signature fail: " + HeaderSdkDate + " must be signed")
	}
	return date, nil
}

// Sign returns the hex signature of a canonical request.
func Sign(canonicalRequest, sdkDate, secretKey string) string {
	sum := sha256.Sum256([]byte(canonicalRequest))
	stringToSign := SignAlgorithm + "\n" + sdkDate + "\n" + hex.EncodeToString(sum[:])
	mac := hmac.New(sha256.New, []byte(secretKey))
	mac.Write([]byte(stringToSign))
	return hex.EncodeToString(mac.Sum(nil))
}

// CanonicalRequest builds the canonical request the signature covers.
func CanonicalRequest(r *http.Request, body []byte, signedHeaders []string) string {
	var b strings.Builder
	b.WriteString(r.Method + "\n")
	b.WriteString(canonicalURI(r.URL.Path) + "\n")
	b.WriteString(canonicalQuery(r.URL.RawQuery) + "\n")
	for _, h := range signedHeaders {
		var values []string
		if h == "host" {
			values = []string{r.Host}
		} else {
			values = append(values, r.Header.Values(h)...)
		}
		sort.Strings(values)
		for _, v := range values {
			b.WriteString(h + ":" + strings.TrimSpace(v) + "\n")
		}
	}
	b.WriteString("\n")
	b.WriteString(strings.Join(signedHeaders, ";") + "\n")
	b.WriteString(payloadHash(r, body))
	return b.String()
}

// payloadHash is the canonical request's last line in both forms: the
// client's X-Sdk-Content-Sha256 when it sent one, else the body's SHA-256.
func payloadHash(r *http.Request, body []byte) string {
	if p := r.Header.Get(HeaderSdkSha256); p != "" {
		return p
	}
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

func canonicalURI(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		parts[i] = escape(p)
	}
	u := strings.Join(parts, "/")
	if !strings.HasSuffix(u, "/") {
		u += "/"
	}
	return u
}

func canonicalQuery(raw string) string {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return ""
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		vs := append([]string(nil), q[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			parts = append(parts, escape(k)+"="+escape(v))
		}
	}
	return strings.Join(parts, "&")
}

// escape percent-encodes everything but unreserved characters (RFC 3986).
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '~' || c == '.' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte("0123456789ABCDEF"[c>>4])
		b.WriteByte("0123456789ABCDEF"[c&15])
	}
	return b.String()
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// SignRequest signs r the way the SDK does (every header but Content-Type and
// names with "_", X-Sdk-Date added), for tests and tools that talk to a
// simulator without the SDK. r's body must be body.
func SignRequest(r *http.Request, body []byte, accessKey, secretKey string, now time.Time) {
	date := now.UTC().Format(SdkDateLayout)
	r.Header.Set(HeaderSdkDate, date)
	var signed []string
	for k := range r.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "content-type") || strings.Contains(k, "_") || lk == "authorization" {
			continue
		}
		signed = append(signed, lk)
	}
	sort.Strings(signed)
	sig := Sign(CanonicalRequest(r, body, signed), date, secretKey)
	r.Header.Set("Authorization", SignAlgorithm+" Access="+accessKey+", SignedHeaders="+strings.Join(signed, ";")+", Signature="+sig)
}

// Open Telekom Cloud's form of the signature, as OTC's own Go SDK makes it
// (gophertelekomcloud signer_helper.go; see docs/providers/otcrds.md,
// "Signing"). It differs from the Huawei SDK's form above in three ways: the
// Authorization header names a credential scope instead of Access=<AK>, the
// key is derived from the secret key and that scope rather than being the raw
// secret key, and the string to sign carries the scope too:
//
//	Authorization: SDK-HMAC-SHA256 Credential=<AK>/<yyyymmdd>/<region>/<service>/sdk_request, SignedHeaders=<h1;h2>, Signature=<hex>
//	key            = HMAC chain from "SDK"+SK over yyyymmdd, region, service, "sdk_request"
//	string to sign = "SDK-HMAC-SHA256\n" + X-Sdk-Date + "\n" + scope + "\n" + hex(sha256(canonical request))
//
// The canonical request has the same lines, but OTC's SDK signs every header
// (Content-Type too), takes the first value of each header and query key,
// sorts query keys without regard to case and, for a POST without a body,
// signs the query string as the body.

// ScopeTerminator ends every credential scope.
const ScopeTerminator = "sdk_request"

// VerifyScopedSignature checks a request signed in OTC's form. The region and
// service are taken from the scope as given (OTC's SDK leaves both empty);
// the scope's date must be X-Sdk-Date's. A request signed in the Huawei SDK's
// Access= form cannot be verified this way and is refused like any bad
// signature. now is the real time. It repeats provider/otcrds's signer on
// purpose, from the documented algorithm, so that it checks the driver: keep the two apart.
func VerifyScopedSignature(r *http.Request, body []byte, secretOf SecretLookup, now time.Time) *APIError {
	fields, e := authorizationFields(r)
	if e != nil {
		return e
	}
	credential, signed, sig := fields["Credential"], fields["SignedHeaders"], fields["Signature"]
	if credential == "" {
		return Unauthorized("verify aksk signature fail: the Authorization header names no Credential scope")
	}
	if signed == "" || sig == "" {
		return Unauthorized("malformed Authorization header: Credential, SignedHeaders and Signature are required")
	}
	parts := strings.Split(credential, "/")
	if len(parts) != 5 || parts[4] != ScopeTerminator {
		return Unauthorized("verify aksk signature fail: malformed Credential scope")
	}
	ak, scopeDate, region, service := parts[0], parts[1], parts[2], parts[3]
	sk, known := secretOf(ak)
	if !known {
		return Unauthorized("verify aksk signature fail: unknown access key")
	}
	date, e := signedDate(r, signed, now)
	if e != nil {
		return e
	}
	if !strings.HasPrefix(date, scopeDate+"T") {
		return Unauthorized("verify aksk signature fail: the Credential scope's date is not " + HeaderSdkDate + "'s")
	}
	scope := strings.Join(parts[1:], "/")
	canonical := ScopedCanonicalRequest(r, body, strings.Split(signed, ";"))
	sum := sha256.Sum256([]byte(canonical))
	stringToSign := SignAlgorithm + "\n" + date + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	want := hex.EncodeToString(hmacSHA256(ScopedSigningKey(sk, scopeDate, region, service), stringToSign))
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(sig))) {
		return Unauthorized("verify aksk signature fail: signature mismatch")
	}
	return nil
}

// ScopedSigningKey derives the key of OTC's form from the secret key and the
// scope (date yyyymmdd, region, service).
func ScopedSigningKey(secretKey, date, region, service string) []byte {
	key := []byte("SDK" + secretKey)
	for _, part := range []string{date, region, service, ScopeTerminator} {
		key = hmacSHA256(key, part)
	}
	return key
}

func hmacSHA256(key []byte, data string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(data))
	return mac.Sum(nil)
}

// ScopedCanonicalRequest builds the canonical request of OTC's form.
func ScopedCanonicalRequest(r *http.Request, body []byte, signedHeaders []string) string {
	query, payload := r.URL.Query(), body
	if r.Method == http.MethodPost && len(body) == 0 {
		// OTC's SDK signs a POST without a body with its query as the body.
		query, payload = nil, []byte(r.URL.Query().Encode())
	}
	var b strings.Builder
	b.WriteString(r.Method + "\n")
	b.WriteString(canonicalURI(r.URL.Path) + "\n")
	b.WriteString(firstValueQuery(query) + "\n")
	for _, h := range signedHeaders {
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		b.WriteString(h + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	b.WriteString("\n")
	b.WriteString(strings.Join(signedHeaders, ";") + "\n")
	b.WriteString(payloadHash(r, payload))
	return b.String()
}

// firstValueQuery is the query of OTC's form: escaped keys sorted without
// regard to case, each with its first value.
func firstValueQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return strings.ToLower(escape(keys[i])) < strings.ToLower(escape(keys[j])) })
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, escape(k)+"="+escape(q.Get(k)))
	}
	return strings.Join(parts, "&")
}

// SignScopedRequest signs r in OTC's form, every header included, for tests
// and tools that talk to a simulator without the SDK. r's body must be body.
func SignScopedRequest(r *http.Request, body []byte, accessKey, secretKey, region, service string, now time.Time) {
	date := now.UTC().Format(SdkDateLayout)
	r.Header.Set(HeaderSdkDate, date)
	r.Header.Del("Authorization")
	signed := []string{"host"}
	for k := range r.Header {
		signed = append(signed, strings.ToLower(k))
	}
	sort.Strings(signed)
	scope := strings.Join([]string{date[:8], region, service, ScopeTerminator}, "/")
	sum := sha256.Sum256([]byte(ScopedCanonicalRequest(r, body, signed)))
	stringToSign := SignAlgorithm + "\n" + date + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	sig := hex.EncodeToString(hmacSHA256(ScopedSigningKey(secretKey, date[:8], region, service), stringToSign))
	r.Header.Set("Authorization", SignAlgorithm+" Credential="+accessKey+"/"+scope+
		", SignedHeaders="+strings.Join(signed, ";")+", Signature="+sig)
}
