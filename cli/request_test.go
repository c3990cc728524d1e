package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/backup"
)

func TestParseRequestAcceptsEveryDocumentedExample(t *testing.T) {
	files, err := filepath.Glob("../docs/examples/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		kind := backup.KindCreate
		if strings.HasPrefix(filepath.Base(f), "copy-") {
			kind = backup.KindCopy
		}
		req, err := ParseRequest(raw, kind)
		require.NoError(t, err, f)
		id, err := req.WorkflowID(kind)
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(id, string(kind)+"/"+req.Provider+"/"), id)
	}
}

func TestParseRequestNamesTheField(t *testing.T) {
	cases := []struct {
		name, input string
		kind        backup.Kind
		field, msg  string
	}{
		{"wrong type", `{"provider":"spanner","spanner":{"parent":"p","backupId":7}}`, backup.KindCreate,
			"spanner.backupId", "must be a string, got a JSON number"},
		{"wrong nested type", `{"provider":"spanner","spanner":{"backup":{"database":["a"]}}}`, backup.KindCreate,
			"spanner.backup.database", "must be a string, got a JSON array"},
		{"unknown nested field", `{"provider":"spanner","spanner":{"backup":{"databse":"x"}}}`, backup.KindCreate,
			"spanner.backup.databse", "allowed here: database, expireTime, versionTime"},
		{"unknown field in a list", `{"provider":"otcrds","otcrds":{"instance_id":"i","name":"n","databases":[{"name":"a"},{"nmae":"b"}]}}`, backup.KindCreate,
			"otcrds.databases[1].nmae", "allowed here: name"},
		{"field names match case-insensitively, like encoding/json", `{"provider":"alirds","alirds":{"dbinstanceid":"rm-1","Bogus":1}}`, backup.KindCreate,
			"alirds.Bogus", "unknown field"},
		{"no provider", `{"spanner":{}}`, backup.KindCreate, "provider", "is required: one of " + strings.Join(backup.Providers(), ", ")},
		{"unknown provider", `{"provider":"oracle","oracle":{}}`, backup.KindCreate, "provider", `unknown provider "oracle"`},
		{"provider not a string", `{"provider":5}`, backup.KindCreate, "", "provider must be a string"},
		{"typo in the section key", `{"provider":"spanner","spaner":{}}`, backup.KindCreate, "spaner", "unknown top-level field"},
		{"no section", `{"provider":"taurusdb"}`, backup.KindCreate, "taurusdb", "the provider section is missing"},
		{"no copy API", `{"provider":"taurusdb","taurusdb":{"instance_id":"i","name":"n"}}`, backup.KindCopy, "provider", "taurusdb has no copy API"},
		{"no resource (memory)", `{"provider":"memory","memory":{"name":"n"}}`, backup.KindCreate, "memory.resource", "is required"},
		{"no resource (spanner)", `{"provider":"spanner","spanner":{"parent":"p","backupId":"b","backup":{}}}`, backup.KindCreate,
			"spanner.backup.database", "is required"},
		{"no resource (alirds)", `{"provider":"alirds","alirds":{"BackupMethod":"Logical"}}`, backup.KindCreate, "alirds.DBInstanceId", "is required"},
		{"trailing data", `{"provider":"memory","memory":{"resource":"r"}} {}`, backup.KindCreate, "", "not valid JSON"},
		{"syntax error", "{\n  \"provider\": \"memory\",\n  \"memory\": {\"resource\": \"r\",}\n}", backup.KindCreate, "", "line 3, column"},
		{"not an object", `["memory"]`, backup.KindCreate, "", "must be a JSON object"},
		{"empty", "  \n", backup.KindCreate, "", "the request is empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseRequest([]byte(c.input), c.kind)
			var in *InputError
			require.True(t, errors.As(err, &in), "%v", err)
			assert.Equal(t, c.field, in.Field)
			assert.Contains(t, in.Message, c.msg)
			if c.field != "" {
				assert.True(t, strings.HasPrefix(err.Error(), c.field+": "), err.Error())
			}
		})
	}
}

func TestResourceFieldsComeFromTheSections(t *testing.T) {
	assert.Equal(t, []string{"spanner.backup.database"}, resourceFields(backup.ProviderSpanner, backup.KindCreate))
	assert.Equal(t, []string{"taurusdb.instance_id"}, resourceFields(backup.ProviderTaurusDB, backup.KindCreate))
	assert.Equal(t, []string{"otcrds.instance_id"}, resourceFields(backup.ProviderOTCRDS, backup.KindCreate))
	assert.Nil(t, resourceFields(backup.ProviderTaurusDB, backup.KindCopy))
}
