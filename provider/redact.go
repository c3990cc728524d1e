package provider

import "regexp"

// What Redact removes. SDKs put the request in their errors: a signed URL
// (Alibaba's RPC style signs in the query string), userinfo, or signing
// headers and fields quoted from the request.
var (
	// urlParts matches a URL's userinfo and query string (and fragment).
	urlParts = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*://)([^/\s?#@]*@)?([^\s?#]*)([?#][^\s"']*)?`)
	// secretFields matches "name=value" and "name: value" pairs whose name
	// says they hold a credential or a signature, or are signed with one
	// (X-Sdk-Date: a signature is only valid with its date).
	secretFields = regexp.MustCompile(`(?i)\b((?:x-auth-token|x-sdk-date|authorization|signature\w*|access\w*|secret\w*|password|passwd|token|credential)["']?\s*[=:]\s*["']?)([^\s&,;"']+)`)
)

// Redact returns msg without anything that can authenticate a request or
// replay it: userinfo and query strings are dropped from URLs, and the values
// of credential, signature and token fields become [redacted]. It is applied
// where provider errors enter the taxonomy, so no driver can leak through a
// message it did not write itself.
func Redact(msg string) string {
	msg = urlParts.ReplaceAllString(msg, "$1$3")
	return secretFields.ReplaceAllString(msg, "$1[redacted]")
}
