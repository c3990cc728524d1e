package notify

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// docExample is the backup.failed event docs/notifications.md shows.
func docExample() Event {
	wf, run := "create/spanner/projects/acme/instances/main/databases/orders", "0193a9d2-7c1e-7f3a-9b8e-2f5c1d0e4a61"
	resource := "projects/acme/instances/main/databases/orders"
	return New(BackupFailed, wf, resource, "nightly", time.Date(2026, 12, 3, 2, 14, 7, 512000000, time.UTC), Data{
		Plan: "nightly", Target: "orders", Provider: "spanner", Kind: "create", Resource: resource,
		WorkflowID: wf, RunID: run, BackupID: "orders-20261203-020000",
		Failure: "RESOURCE_EXHAUSTED: backup quota exceeded for instance main", Class: "Quota",
	}, wf, run)
}

func readDoc(t *testing.T) string {
	t.Helper()
	doc, err := os.ReadFile("../docs/notifications.md")
	require.NoError(t, err)
	return string(doc)
}

// section is the doc's text from heading to the next heading of any level.
func section(t *testing.T, doc, heading string) string {
	t.Helper()
	i := strings.Index(doc, "\n"+heading+"\n")
	require.GreaterOrEqual(t, i, 0, "heading %q", heading)
	rest := doc[i+len(heading)+2:]
	if j := strings.Index(rest, "\n#"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// firstColumn lists a section's table rows' first cells, backticks removed.
func firstColumn(text string) []string {
	var cells []string
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cell := strings.TrimSpace(strings.Split(line, "|")[1])
		for _, c := range strings.Split(cell, ",") {
			cells = append(cells, strings.Trim(strings.TrimSpace(c), "`"))
		}
	}
	return cells
}

// fenced returns the first fenced block of the given language in text.
func fenced(t *testing.T, text, lang string) string {
	t.Helper()
	m := regexp.MustCompile("(?s)```" + lang + "\n(.*?)```").FindStringSubmatch(text)
	require.NotNil(t, m, "a ```%s block", lang)
	return m[1]
}

func TestDocListsEveryTypeAndField(t *testing.T) {
	doc := readDoc(t)
	var types []string
	for _, typ := range Types {
		types = append(types, string(typ))
	}
	require.Equal(t, types, firstColumn(section(t, doc, "### Event types")), "the event types table, in Types order")

	var fields []string
	dt := reflect.TypeFor[Data]()
	for i := range dt.NumField() {
		name, _, _ := strings.Cut(dt.Field(i).Tag.Get("json"), ",")
		fields = append(fields, name)
	}
	require.ElementsMatch(t, fields, firstColumn(section(t, doc, "### Data fields")))

	// Each type's data fields are Data fields.
	for _, line := range strings.Split(section(t, doc, "### Event types"), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, "|")
		for _, f := range strings.Split(cells[len(cells)-2], ",") {
			f, _, _ = strings.Cut(strings.TrimSpace(f), " ")
			require.Contains(t, fields, f, line)
		}
	}
	require.ElementsMatch(t, sinkFields, firstColumn(section(t, doc, "## Configuring sinks")))
}

func TestDocExamples(t *testing.T) {
	doc := readDoc(t)
	e := docExample()
	ce, err := CloudEvent(e)
	require.NoError(t, err)
	want, err := json.Marshal(ce)
	require.NoError(t, err)
	example := fenced(t, section(t, doc, "### Example"), "json")
	require.JSONEq(t, string(want), example)
	parsed, err := ParseCloudEvent([]byte(example))
	require.NoError(t, err)
	require.Equal(t, e, parsed)

	require.Equal(t, Text(e)+"\n", fenced(t, section(t, doc, "## Slack"), ""))

	sinks, err := ParseSinks([]byte(fenced(t, section(t, doc, "## Configuring sinks"), "yaml")),
		files(map[string]string{"/etc/backupflow/webhook-secret": testSecret + "\n"}))
	require.NoError(t, err)
	require.Equal(t, []string{"ops-webhook", "team-slack"}, Matching(sinks, Event{Type: RPOBreached, Plan: "nightly"}))
	require.Equal(t, []string{"team-slack"}, Matching(sinks, Event{Type: BackupSucceeded, Plan: "nightly"}))
}
