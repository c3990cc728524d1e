package otcrds

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/impl"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"

	"github.com/backupflow/backupflow/provider"
)

// akskCredentials is an auth.ICredential for the Huawei SDK that signs each
// request the way Open Telekom Cloud's own SDK does (docs/providers/otcrds.md,
// "Signing"), not the Huawei SDK's way:
//
//	Authorization: SDK-HMAC-SHA256 Credential=<AK>/<yyyymmdd>/<region>/<service>/sdk_request, SignedHeaders=..., Signature=...
//
// The signature is keyed with a key derived from the secret key and the
// scope, never with the secret key itself. Region and service are empty, as
// OTC's SDK sends them. Clients using it are built with
// WithCredentialsType(akskCredentialsType).
type akskCredentials struct {
	accessKey, projectID string
	// secretKey is a provider.Secret, so no print of the credential shows it.
	secretKey       provider.Secret
	region, service string
	now             func() time.Time
}

const akskCredentialsType = "otcrds.akskCredentials"

const (
	signAlgorithm   = "SDK-HMAC-SHA256"
	scopeTerminator = "sdk_request"
	headerSdkDate   = "X-Sdk-Date"
	sdkDateLayout   = "20060102T150405Z"
)

var _ auth.ICredential = (*akskCredentials)(nil)

// ProcessAuthParams implements auth.ICredential: the project ID is given, so
// there is nothing to look up.
func (c *akskCredentials) ProcessAuthParams(*impl.DefaultHttpClient, string) (auth.ICredential, error) {
	return c, nil
}

// ProcessAuthRequest implements auth.ICredential: it fills {project_id}, adds
// X-Project-Id and X-Sdk-Date, and signs the request exactly as the SDK will
// send it (ConvertRequest), every header included.
func (c *akskCredentials) ProcessAuthRequest(_ *impl.DefaultHttpClient, req *request.DefaultHttpRequest) (*request.DefaultHttpRequest, error) {
	date := c.now().UTC().Format(sdkDateLayout)
	req = req.Builder().
		AddAutoFilledPathParam("project_id", c.projectID).
		AddHeaderParam("X-Project-Id", c.projectID).
		AddHeaderParam(headerSdkDate, date).
		Build()
	sent, err := req.ConvertRequest()
	if err != nil {
		return nil, errors.New("otcrds: the request could not be prepared for signing") // the cause may quote the body
	}
	body, err := req.GetBodyToBytes()
	if err != nil {
		return nil, errors.New("otcrds: the request body could not be read for signing")
	}
	sent.Host = sent.URL.Host
	signed := []string{"host"}
	for k := range sent.Header {
		signed = append(signed, strings.ToLower(k))
	}
	sort.Strings(signed)
	scope := strings.Join([]string{date[:8], c.region, c.service, scopeTerminator}, "/")
	sum := sha256.Sum256([]byte(canonicalRequest(sent, body.Bytes(), signed)))
	stringToSign := signAlgorithm + "\n" + date + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	signature := hex.EncodeToString(hmacSHA256(signingKey(c.secretKey.Reveal(), date[:8], c.region, c.service), stringToSign))
	req.AddHeaderParam("Authorization", signAlgorithm+" Credential="+c.accessKey+"/"+scope+
		", SignedHeaders="+strings.Join(signed, ";")+", Signature="+signature)
	return req, nil
}

// String never shows the secret key.
func (c *akskCredentials) String() string {
	return "otcrds AK/SK credentials (access key " + c.accessKey + ", project " + c.projectID + ")"
}

// signingKey derives the signing key: an HMAC-SHA256 chain that starts from
// "SDK"+secretKey and runs over the date (yyyymmdd), region, service and
// "sdk_request".
func signingKey(secretKey, date, region, service string) []byte {
	key := []byte("SDK" + secretKey)
	for _, part := range []string{date, region, service, scopeTerminator} {
		key = hmacSHA256(key, part)
	}
	return key
}

func hmacSHA256(key []byte, data string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(data))
	return mac.Sum(nil)
}

// canonicalRequest is OTC's canonical request: method, escaped path with a
// trailing "/", query (keys sorted without regard to case, first value each),
// "name:value" per signed header (first value, blanks collapsed), the signed
// header names, and the hex SHA-256 of the body. A POST without a body signs
// an empty query and its query string as the body, as OTC's SDK does.
func canonicalRequest(r *http.Request, body []byte, signed []string) string {
	query, payload := r.URL.Query(), body
	if r.Method == http.MethodPost && len(body) == 0 {
		query, payload = nil, []byte(r.URL.Query().Encode())
	}
	path := escape(r.URL.Path, true)
	if !strings.HasSuffix(path, "/") {
		path += "/"
	}
	keys := make([]string, 0, len(query))
	for k := range query {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return strings.ToLower(escape(keys[i], false)) < strings.ToLower(escape(keys[j], false))
	})
	pairs := make([]string, 0, len(keys))
	for _, k := range keys {
		pairs = append(pairs, escape(k, false)+"="+escape(query.Get(k), false))
	}
	lines := []string{r.Method, path, strings.Join(pairs, "&")}
	headers := make([]string, 0, len(signed))
	for _, h := range signed {
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		headers = append(headers, h+":"+strings.Join(strings.Fields(v), " ")+"\n")
	}
	sum := sha256.Sum256(payload)
	lines = append(lines, strings.Join(headers, ""), strings.Join(signed, ";"), hex.EncodeToString(sum[:]))
	return strings.Join(lines, "\n")
}

// escape percent-encodes all but unreserved characters (and "/" in a path).
func escape(s string, path bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || path && c == '/' {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
	}
	return b.String()
}
