package provider_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
	_ "github.com/backupflow/backupflow/provider/alirds"
	_ "github.com/backupflow/backupflow/provider/memory"
	_ "github.com/backupflow/backupflow/provider/otcrds"
	_ "github.com/backupflow/backupflow/provider/spanner"
	_ "github.com/backupflow/backupflow/provider/taurusdb"
)

// exampleExpiry is the expire time the documented examples hold as a
// placeholder; validating "now" a month before it makes it a valid one.
var exampleExpiry = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// breaks names, for each provider, one change to its documented examples'
// section that breaks a documented rule, and the field the error must name.
var breaks = map[string]struct {
	path  string
	value any
	field string
}{
	backup.ProviderSpanner:  {"backupId", "Orders_Nightly!", "spanner.backupId"},
	backup.ProviderTaurusDB: {"instance_id", "d590d95aac8597bd638211e0ab39977bin01", "taurusdb.instance_id"},
	backup.ProviderOTCRDS:   {"name", "9-starts-with-a-digit", "otcrds.name"},
	backup.ProviderAliRDS:   {"DBInstanceId", nil, "alirds.DBInstanceId"},
	backup.ProviderMemory:   {"name", "Not A Name", "memory.name"},
}

// memoryExample stands in for a documented example: the in-process provider
// has no provider page and no example file.
var memoryExample = map[backup.Kind]json.RawMessage{
	backup.KindCreate: json.RawMessage(`{"resource":"db-1","name":"nightly"}`),
	backup.KindCopy:   json.RawMessage(`{"source":"mem-0001","resource":"db-2","name":"nightly-copy"}`),
}

// TestValidateRequestOfEveryProvider checks, for every registered provider,
// that ValidateRequest (no configuration, no credentials) accepts each
// documented example with its target, and refuses a broken one naming the
// field.
func TestValidateRequestOfEveryProvider(t *testing.T) {
	now := exampleExpiry.Add(-30 * 24 * time.Hour)
	for _, r := range provider.Registered() {
		t.Run(r.Name, func(t *testing.T) {
			br, ok := breaks[r.Name]
			require.True(t, ok, "list a broken request of %s in breaks", r.Name)
			examples := documentedExamples(t, r.Name)
			if r.Name == backup.ProviderMemory {
				examples = memoryExample
			}
			require.NotEmpty(t, examples, "docs/examples has no example of %s", r.Name)
			for kind, section := range examples {
				target, err := provider.ValidateRequest(r.Name, kind, section, now)
				require.NoError(t, err, "the documented %s example of %s", kind, r.Name)
				assert.NotEmpty(t, target.Resource)

				broken := withValue(t, section, br.path, br.value)
				_, err = provider.ValidateRequest(r.Name, kind, broken, now)
				var pe *provider.Error
				require.True(t, errors.As(err, &pe), "%s with %s=%v must be refused, got %v", kind, br.path, br.value, err)
				assert.Equal(t, provider.InvalidArgument, pe.Class)
				assert.Equal(t, br.field, pe.Field, "%v", err)
				assert.NotEmpty(t, pe.Rule, "the error states the rule")
			}
		})
	}
}

func TestValidateRequestOfUnknownProvider(t *testing.T) {
	_, err := provider.ValidateRequest("nosuchcloud", backup.KindCreate, json.RawMessage(`{}`), time.Now())
	var pe *provider.Error
	require.True(t, errors.As(err, &pe), "%v", err)
	assert.Equal(t, "provider", pe.Field)
	assert.Contains(t, err.Error(), backup.ProviderSpanner, "the error lists the registered providers")
}

// The expire-time placeholder, as committed, is in the past: checked at the
// real date, the documented rule refuses it, naming the field.
func TestValidateRequestRefusesThePlaceholderToday(t *testing.T) {
	section := documentedExamples(t, backup.ProviderSpanner)[backup.KindCreate]
	_, err := provider.ValidateRequest(backup.ProviderSpanner, backup.KindCreate, section, time.Now())
	var pe *provider.Error
	require.True(t, errors.As(err, &pe), "%v", err)
	assert.Equal(t, "spanner.backup.expireTime", pe.Field)
}

// documentedExamples reads docs/examples/<kind>-<name>.json: each kind's
// section of the provider.
func documentedExamples(t *testing.T, name string) map[backup.Kind]json.RawMessage {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "docs", "examples", "*-"+name+".json"))
	require.NoError(t, err)
	out := map[backup.Kind]json.RawMessage{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var request map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(raw, &request), f)
		kind := backup.Kind(strings.TrimSuffix(filepath.Base(f), "-"+name+".json"))
		require.Contains(t, request, name, "%s holds a %s section", f, name)
		out[kind] = request[name]
	}
	return out
}

// withValue returns section with the top-level field path set to value (nil
// removes it).
func withValue(t *testing.T, section json.RawMessage, path string, value any) json.RawMessage {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(section, &m))
	if value == nil {
		delete(m, path)
	} else {
		m[path] = value
	}
	out, err := json.Marshal(m)
	require.NoError(t, err)
	return out
}
