package clifuzz_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/temporalio/sqlparser"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/cli"
)

// FuzzParseRequest feeds arbitrary bytes to the CLI's request parser: it
// never panics, every refusal is a *cli.InputError, and an accepted request
// survives a round trip through JSON (what the workflow receives) unchanged.
func FuzzParseRequest(f *testing.F) {
	for _, seed := range []string{
		`{"provider":"memory","memory":{"resource":"db-1","name":"b1"}}`,
		`{"provider":"spanner","spanner":{"database":"projects/p/instances/i/databases/d","backupId":"b","expireTime":"2030-01-01T00:00:00Z"}}`,
		`{"provider":"alirds","alirds":{"DBInstanceId":"rm-1"}}`,
		`{"provider":"taurusdb","taurusdb":{"instanceId":"x","name":"n"},"extra":1}`,
		`{"provider":"memory","memory":{"resource":"a\u0000b"}}`,
		`{"provider":"","x":[]}`, `[]`, `null`, `{`, ``,
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	f.Fuzz(func(t *testing.T, raw []byte, copyKind bool) {
		kind := backup.KindCreate
		if copyKind {
			kind = backup.KindCopy
		}
		req, err := cli.ParseRequest(raw, kind)
		if err != nil {
			var ie *cli.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("refusal is %T, not *cli.InputError: %v", err, err)
			}
			if ie.Message == "" {
				t.Fatalf("refusal without a message: %#v", ie)
			}
			return
		}
		id, err := req.WorkflowID(kind)
		if err != nil || id == "" {
			t.Fatalf("accepted request has no workflow ID: %q %v", id, err)
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("accepted request does not marshal: %v", err)
		}
		back, err := cli.ParseRequest(again, kind)
		if err != nil {
			t.Fatalf("accepted request %s is refused after a round trip: %v", again, err)
		}
		if id2, _ := back.WorkflowID(kind); id2 != id {
			t.Fatalf("round trip changed the workflow ID: %q -> %q", id, id2)
		}
	})
}

// FuzzListQuery builds list queries from arbitrary filter values: whatever
// the values hold, the query parses and each value reads back as exactly one
// string literal, so no value can change the query's shape.
func FuzzListQuery(f *testing.F) {
	f.Add("create", "spanner", "projects/p/instances/i/databases/d", "running")
	f.Add("", `x' OR BackupState = 'FAILED`, `back\slash\`, "")
	f.Add("copy", "\"double\"", "new\nline", "FAILED")
	f.Add("nope", "", "", "weird")
	f.Fuzz(func(t *testing.T, kind, providerName, resource, state string) {
		q, err := cli.ListQuery(kind, providerName, resource, state)
		if err != nil {
			var ie *cli.InputError
			if !errors.As(err, &ie) || ie.Field == "" {
				t.Fatalf("refusal does not name its flag: %v", err)
			}
			return
		}
		stmt, err := sqlparser.Parse("select * from executions where " + q)
		if err != nil {
			t.Fatalf("query %q does not parse: %v", q, err)
		}
		values := map[string]string{}
		var walk func(e sqlparser.Expr)
		walk = func(e sqlparser.Expr) {
			switch e := e.(type) {
			case *sqlparser.AndExpr:
				walk(e.Left)
				walk(e.Right)
			case *sqlparser.ComparisonExpr:
				col, ok := e.Left.(*sqlparser.ColName)
				if !ok {
					t.Fatalf("query %q compares a non-column %s", q, sqlparser.String(e))
				}
				switch right := e.Right.(type) {
				case *sqlparser.SQLVal:
					values[col.Name.String()] = string(right.Val)
				case sqlparser.ValTuple: // WorkflowType IN (...): our own constants
					if col.Name.String() != "WorkflowType" {
						t.Fatalf("query %q has a value list for %s", q, col.Name)
					}
				default:
					t.Fatalf("query %q has an unexpected comparison %s", q, sqlparser.String(e))
				}
			default:
				t.Fatalf("query %q has an unexpected expression %s", q, sqlparser.String(e))
			}
		}
		walk(stmt.(*sqlparser.Select).Where.Expr)
		for name, want := range map[string]string{backup.SearchAttributeProvider: providerName, backup.SearchAttributeResource: resource} {
			if got, ok := values[name]; want != "" && (!ok || got != want) {
				t.Fatalf("query %q: %s reads back %q, want %q", q, name, got, want)
			}
			if _, ok := values[name]; want == "" && ok {
				t.Fatalf("query %q filters %s though no value was given", q, name)
			}
		}
	})
}
