package doctable

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const page = `# Provider

| top | table |
| --- | --- |
| x | y |

## Error codes

Text.

| code | class |
| --- | :---: |
| ` + "`A.1`" + ` |  Busy  |
|B.2|Quota|

More text.

| code | class |
|---|---|
| ` + "`C.3`" + ` | Other |

### A sub-heading

| code | class |
| --- | --- |
| D.4 | Fatal |

## States

| API | state |
| --- | --- |
| job | ` + "`Running`" + ` |

## Empty

| a | b |
| --- | --- |

## Ragged

| a | b |
| --- | --- |
| 1 | 2 | 3 |

## Unseparated

| a | b |
| 1 | 2 |

## No tables

Only text.
`

func TestParse(t *testing.T) {
	cases := []struct {
		heading string
		n       int
		want    []map[string]string
		err     string // part of the error, "" for none
	}{
		{"Error codes", 0, []map[string]string{{"code": "A.1", "class": "Busy"}, {"code": "B.2", "class": "Quota"}}, ""},
		{"Error codes", 1, []map[string]string{{"code": "C.3", "class": "Other"}}, ""},
		{"Error codes", 2, []map[string]string{{"code": "D.4", "class": "Fatal"}}, ""}, // a sub-heading stays in the section
		{"A sub-heading", 0, []map[string]string{{"code": "D.4", "class": "Fatal"}}, ""},
		{"States", 0, []map[string]string{{"API": "job", "state": "Running"}}, ""},
		{"Error codes", 3, nil, `no table 3 under "Error codes": 3 tables there`},
		{"States", 1, nil, `no table 1 under "States": 1 tables there`},
		{"No tables", 0, nil, `no table 0 under "No tables": 0 tables there`},
		{"No such heading", 0, nil, `no heading "No such heading"`},
		{"Error", 0, nil, `no heading "Error"`}, // the whole heading, not a prefix
		{"Empty", 0, nil, `table 0 under "Empty" has no rows`},
		{"Ragged", 0, nil, "a row of 3 cells, the header has 2: | 1 | 2 | 3 |"},
		{"Unseparated", 0, nil, "not a |---| separator"},
	}
	for _, c := range cases {
		rows, err := parse(page, c.heading, c.n)
		if c.err != "" {
			assert.ErrorContains(t, err, c.err, "%s table %d", c.heading, c.n)
			assert.Nil(t, rows)
			continue
		}
		require.NoError(t, err, "%s table %d", c.heading, c.n)
		assert.Equal(t, c.want, rows, "%s table %d", c.heading, c.n)
	}
}

func TestReadNamesThePath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "page.md")
	require.NoError(t, os.WriteFile(path, []byte(page), 0o600))
	rows, err := Read(path, "States", 0)
	require.NoError(t, err)
	assert.Equal(t, []map[string]string{{"API": "job", "state": "Running"}}, rows)
	_, err = Read(path, "Ragged", 0)
	assert.ErrorContains(t, err, path+": line ")
	_, err = Read(filepath.Join(t.TempDir(), "missing.md"), "States", 0)
	assert.Error(t, err)
}

func TestPage(t *testing.T) {
	for _, provider := range []string{"spanner", "taurusdb", "otcrds", "alirds"} {
		_, err := os.Stat(Page(provider))
		assert.NoError(t, err, provider)
	}
}
