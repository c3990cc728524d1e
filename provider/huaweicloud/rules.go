package huaweicloud

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/backupflow/backupflow/provider"
)

// Rules both APIs document for manual backups (TaurusDB's and OTC RDS's create
// APIs; "Request constraints the driver enforces" in docs/providers/taurusdb.md
// and docs/providers/otcrds.md). Each validator returns a *provider.Error
// naming the field, or nil.

var backupNameRule = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{3,63}$`)

// NameRule is the documented backup-name rule, as quoted in errors.
const NameRule = "must be 4 to 64 characters, start with a letter and contain only letters, digits, hyphens (-) and underscores (_)"

// ValidateBackupName enforces the backup-name rule.
func ValidateBackupName(field, name string) error {
	if name == "" {
		return provider.Invalid(field, "is required; it %s", NameRule)
	}
	if !backupNameRule.MatchString(name) {
		return provider.Invalid(field, "%q: the backup name %s", name, NameRule)
	}
	return nil
}

// DescriptionForbidden are the characters a description must not contain
// (besides a carriage return).
const DescriptionForbidden = `!<"='>&`

// MaxDescription is the documented maximum description length, in characters.
const MaxDescription = 256

// ValidateDescription enforces the description rule on a request's
// description, which backupflow extends with its ownership marker
// (MarkedDescription): at most MaxUserDescription characters, so that the
// whole keeps within the provider's MaxDescription. An empty description is
// allowed (the field is optional).
func ValidateDescription(field, d string) error {
	if n := utf8.RuneCountInString(d); n > MaxUserDescription {
		return provider.Invalid(field, "is %d characters long; at most %d are allowed: the provider keeps at most %d, "+
			"and backupflow appends a space and its %d-character ownership marker", n, MaxUserDescription, MaxDescription, provider.MarkerLen)
	}
	if strings.ContainsRune(d, '\r') {
		return provider.Invalid(field, "must not contain a carriage return")
	}
	if i := strings.IndexAny(d, DescriptionForbidden); i >= 0 {
		return provider.Invalid(field, "must not contain %q (none of %s is allowed)", d[i:i+1], DescriptionForbidden)
	}
	return nil
}

// Languages are the documented X-Language values; the first is the default.
var Languages = []string{"en-us", "zh-cn"}

// ValidateLanguage enforces the X-Language header values; empty means the default.
func ValidateLanguage(field, lang string) error {
	if lang == "" {
		return nil
	}
	for _, l := range Languages {
		if lang == l {
			return nil
		}
	}
	return provider.Invalid(field, "%q: must be en-us or zh-cn", lang)
}
