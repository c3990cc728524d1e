package provider

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRedact(t *testing.T) {
	cases := []struct{ in, want string }{
		{`Post "https://rds.aliyuncs.com/?AccessKeyId=LTAI5t&Signature=abc%3D&SignatureNonce=n1&Timestamp=2026": dial tcp 127.0.0.1:1: connect: connection refused`,
			`Post "https://rds.aliyuncs.com/": dial tcp 127.0.0.1:1: connect: connection refused`},
		{`GET http://user:pa55@iam.example.com/v3/auth/tokens failed`, `GET http://iam.example.com/v3/auth/tokens failed`},
		{`Authorization: SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host, Signature=deadbeef`,
			`Authorization: [redacted] Access=[redacted], SignedHeaders=host, Signature=[redacted]`},
		{`X-Auth-Token=MIIabc; password="hunter2"`, `X-Auth-Token=[redacted]; password="[redacted]"`},
		{`X-Sdk-Date: 20260101T120000Z, X-Subject-Token: MIIxyz`, `X-Sdk-Date: [redacted], X-Subject-Token: [redacted]`},
		{`instance rm-x is Stopped; start it, then retry`, `instance rm-x is Stopped; start it, then retry`},
		{`spanner.backup.expireTime: must be at least 6 hours ahead`, `spanner.backup.expireTime: must be at least 6 hours ahead`},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, Redact(c.in))
	}
}
