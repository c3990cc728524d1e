package spannersim

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFilter(t *testing.T) {
	fields := map[string]string{
		"name":                         "projects/p/instances/i/backups/b1/operations/op1",
		"done":                         "false",
		"metadata.@type":               "type.googleapis.com/google.spanner.admin.database.v1.CreateBackupMetadata",
		"metadata.name":                "projects/p/instances/i/backups/b1",
		"metadata.database":            "projects/p/instances/i/databases/prod-db",
		"metadata.progress.start_time": "2026-03-28T14:50:00Z",
		"size_bytes":                   "1024",
	}
	known := map[string]bool{"name": true, "done": true, "metadata.@type": true, "metadata.name": true,
		"metadata.database": true, "metadata.progress.start_time": true, "size_bytes": true, "error": true}
	cases := map[string]bool{
		"":           true,
		"done:true":  false,
		"done:false": true,
		"(metadata.@type=type.googleapis.com/google.spanner.admin.database.v1.CreateBackupMetadata) AND metadata.database:prod": true,
		"(metadata.@type=type.googleapis.com/google.spanner.admin.database.v1.CopyBackupMetadata) AND metadata.database:prod":   false,
		`metadata.name:"projects/p/instances/i/backups/b1"`:                                                                     true,
		`metadata.name:"projects/p/instances/i/backups/b2"`:                                                                     false,
		`metadata.name="PROJECTS/P/INSTANCES/I/BACKUPS/B1"`:                                                                     true, // not case sensitive
		`(metadata.progress.start_time < "2026-03-28T15:00:00Z")`:                                                               true,
		`(metadata.progress.start_time > "2026-03-28T15:00:00+01:00")`:                                                          true, // compared as times
		"size_bytes >= 1000 AND size_bytes < 2000":                                                                              true,
		"size_bytes > 999 size_bytes < 1000":                                                                                    false, // juxtaposition is AND
		"done:true OR metadata.database:prod":                                                                                   true,
		"NOT done:true":                                                                                                         true,
		"-done:false":                                                                                                           false,
		"error:*":                                                                                                               false,
		"metadata.database:*":                                                                                                   true,
		"name != x":                                                                                                             true,
		"((done:true) OR (done:false)) AND (metadata.name:b1)":                                                                  true,
		"(metadata.database:test_db) OR (metadata.database:prod) AND done:true":                                                 false, // OR binds tighter
		"(metadata.database:prod) AND done:true OR done:false":                                                                  true,
		"done:true OR done:false AND metadata.database:test_db":                                                                 false,
	}
	for expr, want := range cases {
		f, err := parseFilter(expr, known)
		require.NoError(t, err, expr)
		assert.Equal(t, want, f.match(fields), expr)
	}
	for _, bad := range []string{"nosuchfield=1", "(done:true", "done", "done:", `name:"open`, "done:true )"} {
		_, err := parseFilter(bad, known)
		assert.Error(t, err, bad)
	}
}
