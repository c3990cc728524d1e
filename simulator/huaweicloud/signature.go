// Package huaweicloud is the simulator code shared by the Huawei Cloud API
// family simulators (TaurusDB, OTC RDS): AK/SK SDK-HMAC-SHA256 signature
// verification, the {error_code, error_msg} error writer, fault injection, a
// movable clock and the gateway that ties them in front of a provider's API,
// the Simulator that each Server embeds, and the backup table with the rules
// both APIs apply to manual backups.
package huaweicloud

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

// VerifySignature checks an SDK-HMAC-SHA256 signed request, written
// independently of the SDK from its documented algorithm:
//
//	Authorization: SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<h1;h2>, Signature=<hex>
//	string to sign = "SDK-HMAC-SHA256\n" + X-Sdk-Date + "\n" + hex(sha256(canonical request))
//	canonical request = method \n path with a trailing "/" \n sorted escaped query \n
//	                    "name:value\n" per signed header \n signed headers \n hex(sha256(body))
//
// now is the real time (not the simulator's moved clock): the SDK signs with
// the wall clock. It returns nil when the signature is valid, or the 401
// answer the provider gives.
func VerifySignature(r *http.Request, body []byte, secretOf SecretLookup, now time.Time) *APIError {
	authz := r.Header.Get("Authorization")
	if authz == "" {
		return Unauthorized("missing authentication: no Authorization or X-Auth-Token header")
	}
	rest, ok := strings.CutPrefix(authz, SignAlgorithm+" ")
	if !ok {
		return Unauthorized("unsupported signing algorithm in Authorization header")
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return Unauthorized("malformed Authorization header")
		}
		fields[k] = v
	}
	ak, signed, sig := fields["Access"], fields["SignedHeaders"], fields["Signature"]
	if ak == "" || signed == "" || sig == "" {
		return Unauthorized("malformed Authorization header: Access, SignedHeaders and Signature are required")
	}
	sk, known := secretOf(ak)
	if !known {
		return Unauthorized("verify aksk signature fail: unknown access key")
	}
	date := r.Header.Get(HeaderSdkDate)
	t, err := time.Parse(SdkDateLayout, date)
	if err != nil {
		return Unauthorized("verify aksk signature fail: missing or malformed " + HeaderSdkDate)
	}
	if d := now.Sub(t); d > MaxSignatureSkew || d < -MaxSignatureSkew {
		return Unauthorized("verify aksk signature fail: " + HeaderSdkDate + " is too far from the current time")
	}
	signedHeaders := strings.Split(signed, ";")
	if !contains(signedHeaders, strings.ToLower(HeaderSdkDate)) {
		return Unauthorized("verify aksk signature fail: " + HeaderSdkDate + " must be signed")
	}
	want := Sign(CanonicalRequest(r, body, signedHeaders), date, sk)
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(sig))) {
		return Unauthorized("verify aksk signature fail: signature mismatch")
	}
	return nil
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
	if p := r.Header.Get(HeaderSdkSha256); p != "" {
		b.WriteString(p)
	} else {
		sum := sha256.Sum256(body)
		b.WriteString(hex.EncodeToString(sum[:]))
	}
	return b.String()
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
