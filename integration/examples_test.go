package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/clouds"
	"github.com/backupflow/backupflow/internal/testenv"
	"github.com/backupflow/backupflow/simulator/simkit"
)

const examplesDir = "../docs/examples"

// expirePlaceholder is the expireTime the committed Spanner examples hold.
const expirePlaceholder = "2000-01-01T00:00:00Z"

// example is one documented request and how docs/examples/README.md sends it.
type example struct {
	file string
	kind backup.Kind
	// expirePath is the jq path the README sets to a fresh time (Spanner only).
	expirePath []string
}

func (x example) jqPath() string { return "." + strings.Join(x.expirePath, ".") }

// examples are every docs/examples/<kind>-<provider>.json, creates before
// copies (a copy's source is made by its provider's create example). A
// file holding the placeholder expire time gets a fresh one, where it holds it.
var examples = func() []example {
	files, err := filepath.Glob(filepath.Join(examplesDir, "*.json"))
	if err != nil {
		panic(err)
	}
	var out []example
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			panic(err)
		}
		var doc any
		if err := json.Unmarshal(raw, &doc); err != nil {
			panic(fmt.Sprintf("%s: %v", f, err))
		}
		kind, _, _ := strings.Cut(filepath.Base(f), "-")
		out = append(out, example{file: filepath.Base(f), kind: backup.Kind(kind), expirePath: pathTo(doc, expirePlaceholder)})
	}
	slices.SortStableFunc(out, func(a, b example) int {
		return cmpBool(a.kind == backup.KindCopy, b.kind == backup.KindCopy)
	})
	return out
}()

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	default:
		return -1
	}
}

// pathTo is the object path to the string want in a JSON document, or nil.
func pathTo(doc any, want string) []string {
	switch v := doc.(type) {
	case string:
		if v == want {
			return []string{}
		}
	case map[string]any:
		for k, child := range v {
			if p := pathTo(child, want); p != nil {
				return append([]string{k}, p...)
			}
		}
	}
	return nil
}

// readExample returns the file's bytes and the workflow ID the README gives it.
func readExample(t *testing.T, x example) ([]byte, string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(examplesDir, x.file))
	require.NoError(t, err)
	var req backup.Request
	require.NoError(t, json.Unmarshal(raw, &req))
	id, err := req.WorkflowID(x.kind)
	require.NoError(t, err, "%s names its resource", x.file)
	return raw, id
}

// command is the README's command line for the example, continuation lines joined.
func (x example) command(id string) string {
	input := "--input-file docs/examples/" + x.file
	if x.expirePath != nil {
		input = fmt.Sprintf(`--input "$(jq -c '%s = (now + 7*86400 | floor | todate)' docs/examples/%s)"`, x.jqPath(), x.file)
	}
	return fmt.Sprintf("temporal workflow start --type %s --task-queue %s --workflow-id %s --fail-existing %s",
		x.kind.WorkflowType(), backup.TaskQueue, id, input)
}

// freshExpiry does what the README's jq command does: the placeholder at
// expirePath becomes a time 7 days out, and the JSON is compacted (jq -c).
func freshExpiry(t *testing.T, x example, raw []byte) []byte {
	t.Helper()
	var doc map[string]any
	require.NoError(t, json.Unmarshal(raw, &doc))
	var at any = doc
	for _, k := range x.expirePath {
		at = at.(map[string]any)[k]
	}
	require.Equal(t, expirePlaceholder, at, "%s holds the placeholder at %s", x.file, x.jqPath())
	require.Equal(t, 1, bytes.Count(raw, []byte(expirePlaceholder)), "the placeholder appears once")
	fresh := time.Now().Add(7 * 24 * time.Hour).UTC().Format(time.RFC3339)
	var out bytes.Buffer
	require.NoError(t, json.Compact(&out, bytes.ReplaceAll(raw, []byte(expirePlaceholder), []byte(fresh))))
	return out.Bytes()
}

// startAsCLI starts a workflow the way the README's `temporal workflow
// start ... --fail-existing` does.
func startAsCLI(t *testing.T, e *testenv.Env, x example, id string, input []byte) client.WorkflowRun {
	t.Helper()
	run, err := cliStart(testenv.Context(t, 30*time.Second), e.Client, x.kind.WorkflowType(), id, input, true)
	require.NoError(t, err)
	return run
}

// cliStart starts a workflow exactly as `temporal workflow start` does: the
// input bytes as one json/plain payload, unparsed; the user's workflow ID; no
// search attributes; and failExisting as its --fail-existing flag (the CLI's
// WorkflowExecutionErrorWhenAlreadyStarted, false unless given).
func cliStart(ctx context.Context, c client.Client, workflowType, id string, input []byte, failExisting bool) (client.WorkflowRun, error) {
	payload := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: input}
	return c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: backup.TaskQueue,
		WorkflowExecutionErrorWhenAlreadyStarted: failExisting}, workflowType, converter.NewRawValue(payload))
}

func TestExamplesAreDocumented(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(examplesDir, "README.md"))
	require.NoError(t, err)
	text := regexp.MustCompile(`\\\n\s*`).ReplaceAllString(string(readme), "")
	var listed []string
	for _, x := range examples {
		listed = append(listed, x.file)
		_, id := readExample(t, x)
		assert.Contains(t, text, x.command(id), "docs/examples/README.md shows how to start %s", x.file)
	}
	for _, p := range clouds.Providers() {
		assert.True(t, slices.Contains(listed, "create-"+p+".json"), "a create example for %s", p)
		assert.Equal(t, backup.HasSection(p, backup.KindCopy), slices.Contains(listed, "copy-"+p+".json"),
			"a copy example for %s exactly when it has a copy API", p)
	}
}

// TestDocumentedExamples runs every request in docs/examples exactly as the
// README sends it with the Temporal CLI, against the simulators' default fixtures.
func TestDocumentedExamples(t *testing.T) {
	set, err := clouds.Start(simkit.Options{Duration: time.Second})
	require.NoError(t, err)
	t.Cleanup(set.Close)
	e := testenv.Start(t, true)
	e.StartWorker(t, e.ConfigFromEnv(t, set.Env()))

	succeeds := func(t *testing.T, x example, id string, input []byte) backup.Result {
		run := startAsCLI(t, e, x, id, input)
		var res backup.Result
		require.NoError(t, run.Get(testenv.Context(t, 2*time.Minute), &res), "%s", x.file)
		assert.Equal(t, x.kind, res.Kind)
		assert.NotEmpty(t, res.Backup.ID)
		return res
	}
	failsOn := func(t *testing.T, x example, id string, input []byte, field string) {
		err := startAsCLI(t, e, x, id, input).Get(testenv.Context(t, time.Minute), nil)
		var app *temporal.ApplicationError
		require.True(t, errors.As(err, &app), "%v", err)
		assert.Equal(t, "InvalidArgument", app.Type())
		assert.Contains(t, app.Error(), field+":")
	}

	t.Run("created", func(t *testing.T) {
		for _, x := range examples {
			if x.expirePath != nil {
				continue
			}
			t.Run(x.file, func(t *testing.T) {
				t.Parallel()
				raw, id := readExample(t, x)
				var req backup.Request
				require.NoError(t, json.Unmarshal(raw, &req))
				cloud, err := set.Get(req.Provider)
				require.NoError(t, err)
				before := len(cloud.Simulator.Inventory())
				res := succeeds(t, x, id, raw)
				assert.Equal(t, req.Provider, res.Provider)
				assert.Len(t, cloud.Simulator.Inventory(), before+1)
			})
		}
	})

	t.Run("fresh expiry, creates before copies", func(t *testing.T) {
		for _, x := range examples {
			if x.expirePath == nil {
				continue
			}
			raw, id := readExample(t, x)
			var req backup.Request
			require.NoError(t, json.Unmarshal(raw, &req))
			cloud, err := set.Get(req.Provider)
			require.NoError(t, err)
			// As committed, the placeholder is refused, naming the field; a copy
			// learns it from the source backup, so the create must have run first.
			field := req.Provider + "." + strings.Join(x.expirePath[1:], ".")
			failsOn(t, x, id, raw, field)
			before := len(cloud.Simulator.Inventory())
			res := succeeds(t, x, id, freshExpiry(t, x, raw))
			assert.Equal(t, req.Provider, res.Provider)
			assert.Len(t, cloud.Simulator.Inventory(), before+1, "%s made one backup", x.file)
		}
	})
}
