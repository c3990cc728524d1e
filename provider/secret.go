package provider

import (
	"log/slog"
	"strings"
)

// Secret is a credential read from the environment. It prints, logs and
// marshals as "[redacted]", so it can sit in a config struct that gets logged.
type Secret string

func (Secret) String() string               { return "[redacted]" }
func (Secret) GoString() string             { return "[redacted]" }
func (Secret) LogValue() slog.Value         { return slog.StringValue("[redacted]") }
func (Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// Reveal returns the credential itself, for handing to an SDK.
func (s Secret) Reveal() string { return string(s) }

// SecretFrom picks a secret given directly (NAME) or through a file (NAME_FILE,
// read by env/v11's ",file" option); file contents are trimmed of whitespace.
func SecretFrom(direct Secret, fromFile Secret) Secret {
	if direct != "" {
		return direct
	}
	return Secret(strings.TrimSpace(string(fromFile)))
}
