package otcrdssim_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/internal/doctable"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/simulator/otcrdssim"
)

// observed is what the simulator answered during a scenario: error codes with
// their HTTP status, backup states and instance states.
type observed struct {
	codes          map[string]int
	backupStates   map[string]bool
	instanceStates map[string]bool
}

func (o *observed) answer(a answer) answer {
	if code := a.Str("error_code"); code != "" {
		o.codes[code] = a.Status
	}
	if b, ok := a.Body["backup"].(map[string]any); ok {
		o.backupStates[b["status"].(string)] = true
	}
	for _, b := range list(a.Body["backups"]) {
		o.backupStates[b["status"].(string)] = true
	}
	for _, in := range list(a.Body["instances"]) {
		o.instanceStates[in["status"].(string)] = true
	}
	return a
}

func list(v any) []map[string]any {
	items, _ := v.([]any)
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		out = append(out, it.(map[string]any))
	}
	return out
}

// docRows reads a table of docs/providers/otcrds.md.
func docRows(t *testing.T, heading string, n int) []map[string]string {
	t.Helper()
	rows, err := doctable.Read(doctable.Page("otcrds"), heading, n)
	require.NoError(t, err)
	require.NotEmpty(t, rows, "table %d under %q", n, heading)
	return rows
}

// Every error code and state docs/providers/otcrds.md lists is one the
// simulator really produces, with the documented HTTP status, and every code
// the simulator produces is listed. The scenario drives the simulator over
// HTTP as a client would; nothing is looked up in the simulator's source.
func TestDocumentedCodesAndStatesAreProduced(t *testing.T) {
	s := start(t, otcrdssim.Options{Duration: time.Minute, ManualBackupLimit: 3, TokenTTL: time.Hour})
	o := &observed{codes: map[string]int{}, backupStates: map[string]bool{}, instanceStates: map[string]bool{}}
	ok := signed(otcrdssim.SecretKey)
	do := func(method, path string, query url.Values, body any, auth func(*http.Request, []byte)) answer {
		t.Helper()
		return o.answer(call(t, s, method, path, query, body, auth))
	}
	create := func(inst, name string, extra ...any) answer {
		body := map[string]any{"instance_id": inst, "name": name}
		for i := 0; i+1 < len(extra); i += 2 {
			body[extra[i].(string)] = extra[i+1]
		}
		return do(http.MethodPost, project+"/backups", nil, body, ok)
	}
	listBackups := func(inst string) answer {
		return do(http.MethodGet, project+"/backups", url.Values{"instance_id": {inst}}, nil, ok)
	}
	del := func(id string) answer { return do(http.MethodDelete, project+"/backups/"+id, nil, nil, ok) }

	// Refusals of a create.
	create(otcrdssim.ReplicaInstance, "replica-1")
	create("0123456789abcdef0123456789abcdefin01", "unknown-1")
	create(otcrdssim.BusyInstance, "busy-1")
	create(otcrdssim.InstanceID(0), "desc-1", "description", "a>b")
	create(otcrdssim.SQLServerInstance, "db-1", "databases", []map[string]string{{"name": "nope"}})
	// Backups through their states, and the rules between them.
	a := create(otcrdssim.InstanceID(0), "first")
	require.Equal(t, http.StatusOK, a.Status, "%v", a.Body)
	first := a.Body["backup"].(map[string]any)["id"].(string)
	create(otcrdssim.InstanceID(1), "first")  // the name is taken in the project
	create(otcrdssim.InstanceID(0), "second") // a backup of the instance is in progress
	del(first)                                // still building
	del("00000000000000000000000000000000br01")
	require.Equal(t, http.StatusOK, create(otcrdssim.FailingInstance, "failing").Status)
	require.Equal(t, http.StatusOK, create(otcrdssim.InstanceID(2), "third").Status)
	create(otcrdssim.InstanceID(3), "fourth") // the manual-backup limit
	s.Advance(time.Minute)
	listBackups(otcrdssim.InstanceID(0))
	listBackups(otcrdssim.FailingInstance)
	require.Equal(t, http.StatusOK, del(first).Status)
	listBackups(otcrdssim.InstanceID(0))
	del(first) // already being deleted
	// The gateway's own answers.
	do(http.MethodGet, project+"/nothing", nil, nil, ok)
	do(http.MethodGet, project+"/instances", nil, nil, huaweiSigned(otcrdssim.SecretKey))
	do(http.MethodGet, "/v3/ffffffffffffffffffffffffffffffff/instances", nil, nil, ok)
	tok := getToken(t, s)
	s.Advance(time.Hour)
	do(http.MethodGet, project+"/instances", nil, nil, token(tok))
	for _, class := range []provider.Class{provider.Throttled, provider.Unavailable, provider.Busy} {
		s.FailNext(class, 1, time.Second)
		listBackups(otcrdssim.InstanceID(0))
	}
	// Every documented instance state, as an operator's action sets it.
	inst := otcrdssim.InstanceID(9)
	for _, row := range docRows(t, "Instance states", 0) {
		s.SetInstanceStatus(inst, row["State"])
		do(http.MethodGet, project+"/instances", url.Values{"id": {inst}}, nil, ok)
		if row["State"] != "ACTIVE" {
			c := create(inst, "state-"+strconv.Itoa(len(o.instanceStates)))
			assert.Equal(t, http.StatusConflict, c.Status, "a create on a %s instance is refused", row["State"])
		}
	}

	documented := map[string]bool{}
	for _, row := range docRows(t, "Error codes", 0) {
		documented[row["Code"]] = true
		status, err := strconv.Atoi(row["HTTP"])
		require.NoError(t, err, row)
		got, seen := o.codes[row["Code"]]
		if assert.True(t, seen, "the doc lists %s, which the simulator never produced", row["Code"]) {
			assert.Equal(t, status, got, "HTTP status of %s", row["Code"])
		}
	}
	for code := range o.codes {
		assert.True(t, documented[code], "the simulator produced %s, which the doc does not list", code)
	}
	for _, row := range docRows(t, "Backup states", 0) {
		assert.True(t, o.backupStates[row["State"]], "the doc lists backup state %s, which the simulator never produced", row["State"])
	}
	for _, row := range docRows(t, "Instance states", 0) {
		assert.True(t, o.instanceStates[row["State"]], "the doc lists instance state %s, which the simulator never produced", row["State"])
	}
}

// The page's error codes are in two tables, the one asked for is read, and
// an unknown heading is an error, not an empty table.
func TestDocTable(t *testing.T) {
	main := docRows(t, "Error codes", 0)
	family := docRows(t, "Error codes", 1)
	assert.Equal(t, "DBS.200001", main[0]["Code"])
	assert.Equal(t, "DBS.200047", family[0]["Code"])
	assert.Len(t, main[0], 5, "code, HTTP, class, what backupflow does, source")
	_, err := doctable.Read(doctable.Page("otcrds"), "No such heading", 0)
	assert.Error(t, err)
}
