package doctables_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/internal/doctable"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/taurusdb/doctables"
)

const header = "| code | HTTP status | class | what | source |\n| --- | --- | --- | --- | --- |\n"
const states = "## States\n\n| API | state | meaning | what | source |\n| --- | --- | --- | --- | --- |\n| job | `Running` | m | w | s |\n"

func page(t *testing.T, text string) string {
	path := filepath.Join(t.TempDir(), "page.md")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
	return path
}

func TestRead(t *testing.T) {
	doc, err := doctables.Read(page(t, "## Error codes\n\n"+header+"| `DBS.1` | 409 | Busy | w | s |\n\ntext\n\n"+header+
		"| `RDS.2` | 413 | Quota | w | s |\n\n### sub\n\n"+states))
	require.NoError(t, err)
	assert.Equal(t, []doctables.Code{
		{Code: "DBS.1", HTTPStatus: 409, Class: provider.Busy, Answered: true},
		{Code: "RDS.2", HTTPStatus: 413, Class: provider.Quota, Answered: false},
	}, doc.Codes)
	assert.Equal(t, []doctables.State{{API: "job", State: "Running"}}, doc.States)
}

func TestReadRefusesMalformedPages(t *testing.T) {
	for name, text := range map[string]string{
		"one code table":   "## Error codes\n\n" + header + "| `DBS.1` | 409 | Busy | w | s |\n\n" + states,
		"unknown class":    "## Error codes\n\n" + header + "| `DBS.1` | 409 | Retry | w | s |\n\n" + header + "\n" + states,
		"status not a int": "## Error codes\n\n" + header + "| `DBS.1` | busy | Busy | w | s |\n\n" + header + "\n" + states,
		"no state table":   "## Error codes\n\n" + header + "\n" + header,
		"three code tables": "## Error codes\n\n" + header + "| `DBS.1` | 409 | Busy | w | s |\n\n" + header + "| `RDS.2` | 413 | Quota | w | s |\n\n" +
			header + "| `RDS.3` | 413 | Quota | w | s |\n\n" + states,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := doctables.Read(page(t, text))
			assert.Error(t, err)
		})
	}
}

func TestTheRepositoryPageReads(t *testing.T) {
	doc, err := doctables.Read(doctable.Page("taurusdb"))
	require.NoError(t, err)
	assert.NotEmpty(t, doc.Codes)
	assert.NotEmpty(t, doc.States)
}
