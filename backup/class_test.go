package backup_test

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/failuretest"
)

// documentedClass is one Class constant as backup/class.go declares it.
type documentedClass struct {
	name, value, doc string
}

// declaredClasses parses class.go and returns its Class constants, in order.
func declaredClasses(t *testing.T) []documentedClass {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "class.go", nil, parser.ParseComments)
	require.NoError(t, err)
	var out []documentedClass
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if typ, ok := vs.Type.(*ast.Ident); !ok || typ.Name != "Class" {
				continue
			}
			for i, name := range vs.Names {
				c := documentedClass{name: name.Name}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok {
					c.value, _ = strconv.Unquote(lit.Value)
				}
				if vs.Doc != nil {
					c.doc = strings.Join(strings.Fields(vs.Doc.Text()), " ")
				}
				out = append(out, c)
			}
		}
	}
	return out
}

// TestEveryClassIsDocumented: each class is listed by Classes, is spelled
// as its identifier, and has a one-sentence doc comment that says what it
// means and whether backupflow retries it.
func TestEveryClassIsDocumented(t *testing.T) {
	declared := declaredClasses(t)
	require.NotEmpty(t, declared)
	var names []backup.Class
	for _, c := range declared {
		names = append(names, backup.Class(c.name))
		assert.Equal(t, c.name, c.value, "the class's value is its name")
		if !assert.NotEmpty(t, c.doc, "%s has no doc comment", c.name) {
			continue
		}
		assert.True(t, strings.HasPrefix(c.doc, c.name+" means "), "%s's doc comment starts %q: %s", c.name, c.name+" means", c.doc)
		assert.True(t, strings.HasSuffix(c.doc, "."), "%s's doc comment is a sentence: %s", c.name, c.doc)
		assert.NotContains(t, strings.TrimSuffix(c.doc, "."), ". ", "%s's doc comment is one sentence", c.name)
		assert.Contains(t, c.doc, "retried", "%s's doc comment says whether it is retried", c.name)
		assert.True(t, backup.Class(c.name).Known(), "%s is known", c.name)
	}
	assert.Equal(t, names, backup.Classes(), "Classes lists every declared class, in order")
	assert.False(t, backup.Class("Bogus").Known())
	assert.False(t, backup.Class("").Known())
}

// errorTable renders README.md's Errors table from the doc comments.
func errorTable(classes []documentedClass) string {
	var b strings.Builder
	b.WriteString("| class | what it means, how backupflow retries it, example provider codes |\n| --- | --- |\n")
	for _, c := range classes {
		text := strings.TrimPrefix(c.doc, c.name+" means ")
		if text != "" {
			text = strings.ToUpper(text[:1]) + text[1:]
		}
		fmt.Fprintf(&b, "| `%s` | %s |\n", c.name, text)
	}
	return b.String()
}

// TestREADMEErrorTable: README.md's Errors table has one row per class, in
// the order of class.go, each the class's doc comment, and no other row.
func TestREADMEErrorTable(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	const begin, end = "<!-- errors:begin -->\n", "<!-- errors:end -->"
	_, rest, ok := strings.Cut(string(readme), begin)
	require.True(t, ok, "README.md has the %q marker", strings.TrimSpace(begin))
	table, _, ok := strings.Cut(rest, end)
	require.True(t, ok, "README.md has the %q marker", end)

	declared := declaredClasses(t)
	var inCode, inREADME []string
	for _, c := range declared {
		inCode = append(inCode, c.name)
	}
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 {
			continue
		}
		name := strings.Trim(strings.TrimSpace(cells[1]), "`")
		if name == "class" || strings.HasPrefix(name, "---") {
			continue
		}
		inREADME = append(inREADME, name)
	}
	for _, name := range inCode {
		assert.Contains(t, inREADME, name, "README.md's Errors table has no row for class %s", name)
	}
	for _, name := range inREADME {
		assert.Contains(t, inCode, name, "README.md's Errors table has a row for %s, which backup/class.go does not declare", name)
	}
	want := errorTable(declared)
	assert.Equal(t, want, table, "README.md's Errors table is the classes' doc comments; between the markers it should read:\n\n%s", want)
}

func TestRetryableClassesAreTheTransientOnes(t *testing.T) {
	var retryable []backup.Class
	for _, c := range backup.Classes() {
		if c.Retryable() {
			retryable = append(retryable, c)
		}
	}
	assert.Equal(t, []backup.Class{backup.Busy, backup.Throttled, backup.Unavailable, backup.Internal}, retryable)
	assert.Equal(t, 30*time.Second, backup.Busy.RetryDelay(1))
	assert.Equal(t, time.Minute, backup.Busy.RetryDelay(2))
	assert.Equal(t, 5*time.Second, backup.Throttled.RetryDelay(1))
	assert.Equal(t, time.Second, backup.Unavailable.RetryDelay(0), "attempt numbers start at 1")
	assert.Equal(t, 8*time.Second, backup.Internal.RetryDelay(4))
	assert.Equal(t, 5*time.Minute, backup.Unavailable.RetryDelay(100), "capped")
}

// activityErr is what a workflow gets from an activity that failed with cause.
func activityErr(cause error) error { return failuretest.ActivityError("PollOperation", cause) }

// ended is what a client receives for a workflow that ended with err.
var ended = failuretest.Ended

func TestFailureOf(t *testing.T) {
	busy := temporal.NewApplicationError("instance busy", string(backup.Busy))
	timeout := temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE, busy)
	failed := temporal.NewNonRetryableApplicationError("memory: disk full", string(backup.BackupFailed), nil)
	report := backup.CleanupReport{Reason: "window closed", Created: true}
	terminated := failuretest.Terminated()

	cases := []struct {
		name  string
		err   error
		class backup.Class
		msg   string
	}{
		{"nil", nil, "", ""},
		{"not an outcome", errors.New("connection refused"), "", "connection refused"},
		{"an activity's classified error", activityErr(failed), backup.BackupFailed, "memory: disk full"},
		{"a failed workflow", ended(t, activityErr(failed)), backup.BackupFailed, "memory: disk full"},
		{"a failure after cleanup keeps the class and message", ended(t, temporal.NewNonRetryableApplicationError(
			"memory: disk full", string(backup.BackupFailed), activityErr(failed), report)), backup.BackupFailed, "memory: disk full"},
		{"an activity timeout, not relabelled as its last attempt's class", activityErr(timeout), backup.Timeout, timeout.Error()},
		{"a workflow failed by a timeout", ended(t, activityErr(timeout)), backup.Timeout, timeout.Error()},
		{"a failed cleanup after a timeout reads CleanupFailed", ended(t, temporal.NewNonRetryableApplicationError(
			"cancelled, but cleanup failed", string(backup.CleanupFailed), activityErr(timeout), report)), backup.CleanupFailed, "cancelled, but cleanup failed"},
		{"cancelled, with the cleanup's reason", ended(t, temporal.NewCanceledError(report)), backup.Cancelled, "window closed"},
		{"cancelled without a report", temporal.NewCanceledError(), backup.Cancelled, "canceled"},
		{"terminated", terminated, backup.Terminated, "terminated"},
		{"an unclassified failure", ended(t, errors.New("not a Temporal error")), "", "not a Temporal error"},
		{"an error type outside the taxonomy", ended(t, temporal.NewApplicationError("x", "SomethingElse")), "SomethingElse", "x"},
		{"wrapped again by the caller", fmt.Errorf("result: %w", ended(t, activityErr(failed))), backup.BackupFailed, "memory: disk full"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			class, msg := backup.FailureOf(c.err)
			assert.Equal(t, c.class, class)
			assert.Equal(t, c.msg, msg)
		})
	}
	class, _ := backup.FailureOf(ended(t, temporal.NewApplicationError("x", "SomethingElse")))
	assert.False(t, class.Known(), "a type outside the taxonomy is not a known class")
}
