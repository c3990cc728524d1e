// Package huaweiclient holds the test helpers that the family's simulator
// tests and driver tests (TaurusDB, OTC RDS) share. Only tests import it.
package huaweiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/huaweicloud"
	"github.com/backupflow/backupflow/provider/providertest"
	"github.com/backupflow/backupflow/simulator/huaweicloudsim"
	"github.com/backupflow/backupflow/simulator/simkit"
)

// Starter returns a function that starts a simulator with start (a
// simulator package's Start) and stops it when the test ends.
func Starter[O any, S interface{ Close() }](start func(O) (S, error)) func(*testing.T, O) S {
	return func(t *testing.T, opts O) S {
		t.Helper()
		s, err := start(opts)
		require.NoError(t, err)
		t.Cleanup(s.Close)
		return s
	}
}

// Answer is a simulator's answer to one call.
type Answer struct {
	Status int
	Header http.Header
	Body   map[string]any
}

// Str is the body's string field k ("" when absent).
func (a Answer) Str(k string) string { s, _ := a.Body[k].(string); return s }

// Auth authenticates a request whose body is raw.
type Auth func(r *http.Request, raw []byte)

// Unsigned sends a request with no credentials.
func Unsigned(*http.Request, []byte) {}

// Signed signs requests with the SDK's AK/SK signature.
func Signed(accessKey, secretKey string) Auth {
	return func(r *http.Request, raw []byte) {
		huaweicloudsim.SignRequest(r, raw, accessKey, secretKey, time.Now())
	}
}

// Token authenticates requests with an IAM token.
func Token(tok string) Auth {
	return func(r *http.Request, _ []byte) { r.Header.Set("X-Auth-Token", tok) }
}

// Call sends method path?query with body as JSON to the simulator at
// endpoint, with extra header name/value pairs, authenticated by auth.
func Call(t *testing.T, endpoint, method, path string, query url.Values, body any, auth Auth, header ...string) Answer {
	t.Helper()
	var raw []byte
	if body != nil {
		var err error
		raw, err = json.Marshal(body)
		require.NoError(t, err)
	}
	u := endpoint + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	r, err := http.NewRequest(method, u, bytes.NewReader(raw))
	require.NoError(t, err)
	r.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	auth(r, raw)
	resp, err := http.DefaultClient.Do(r)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := Answer{Status: resp.StatusCode, Header: resp.Header, Body: map[string]any{}}
	if len(data) > 0 {
		require.NoError(t, json.Unmarshal(data, &a.Body), "%s", data)
	}
	return a
}

// AssertError checks an error answer: status, the {error_code, error_msg}
// body and the gateway's X-Request-Id.
func AssertError(t *testing.T, a Answer, status int, code string) {
	t.Helper()
	assert.Equal(t, status, a.Status, "%v", a.Body)
	assert.Equal(t, code, a.Str("error_code"), "%v", a.Body)
	assert.NotEmpty(t, a.Str("error_msg"))
	assert.NotEmpty(t, a.Header.Get("X-Request-Id"))
}

// Ctx is a context for one driver call, bounded so a hung call fails the test.
func Ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// ProviderError requires err to be a *provider.Error and returns it.
func ProviderError(t *testing.T, err error) *provider.Error {
	t.Helper()
	var e *provider.Error
	require.True(t, errors.As(err, &e), "%T %v", err, err)
	return e
}

// CreateJob is a create job for section raw.
func CreateJob(raw json.RawMessage) provider.Job { return providertest.Job(backup.KindCreate, raw) }

// PollToEnd polls op, advancing the simulator's clock by step between polls,
// until it ends, and returns the final status.
func PollToEnd(t *testing.T, s simkit.Backend, d provider.Driver, op provider.Operation, step time.Duration) provider.Status {
	t.Helper()
	for range 20 {
		st, err := d.Poll(Ctx(t), op)
		require.NoError(t, err)
		if st.Phase.Done() {
			return st
		}
		s.Advance(step)
	}
	t.Fatal("operation did not end")
	return provider.Status{}
}

// Section returns base as a create section with changes applied (a nil value
// removes the field).
func Section(base, changes map[string]any) json.RawMessage {
	m := maps.Clone(base)
	for k, v := range changes {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	raw, _ := json.Marshal(m)
	return raw
}

// NameAndDescriptionCases are the invalid requests of the backup-name and
// description rules both create APIs document (provider/huaweicloud,
// rules.go), for providerName's conformance suite: section returns a valid
// create section with changes applied (a nil value removes the field).
//
//	documented constraint                               -> case name(s)
//	name mandatory                                      -> name missing
//	name: 4 to 64 characters                            -> name 3 chars, name 65 chars
//	name: starts with a letter                          -> name starts with digit / hyphen / underscore
//	name: only letters, digits, - and _                 -> name with dot / slash / space / non-ASCII letter
//	description: at most 256 characters, of which
//	  backupflow's marker and a space take 32           -> description 225 chars, description 256 chars
//	description: no carriage return                     -> description with carriage return
//	description: none of ! < " = ' > &                  -> description with each of them
func NameAndDescriptionCases(providerName string, section func(changes map[string]any) json.RawMessage) []providertest.InvalidCase {
	name, description := providerName+".name", providerName+".description"
	c := func(n string, changes map[string]any, field string) providertest.InvalidCase {
		return providertest.InvalidCase{Name: n, Kind: backup.KindCreate, Section: section(changes), Field: field}
	}
	cases := []providertest.InvalidCase{
		c("name missing", map[string]any{"name": nil}, name),
		c("name 3 chars", map[string]any{"name": "abc"}, name),
		c("name 65 chars", map[string]any{"name": "a" + strings.Repeat("1", 64)}, name),
		c("name starts with digit", map[string]any{"name": "9backup"}, name),
		c("name starts with hyphen", map[string]any{"name": "-backup"}, name),
		c("name starts with underscore", map[string]any{"name": "_backup"}, name),
		c("name with dot", map[string]any{"name": "backup.1"}, name),
		c("name with slash", map[string]any{"name": "backup/1"}, name),
		c("name with space", map[string]any{"name": "backup 1"}, name),
		c("name with non-ASCII letter", map[string]any{"name": "bäckup"}, name),
		c("description 225 chars", map[string]any{"description": strings.Repeat("d", 225)}, description),
		c("description 256 chars", map[string]any{"description": strings.Repeat("d", 256)}, description),
		c("description with carriage return", map[string]any{"description": "line\rbreak"}, description),
	}
	for _, ch := range huaweicloud.DescriptionForbidden {
		cases = append(cases, c("description with "+string(ch), map[string]any{"description": "a " + string(ch) + " b"}, description))
	}
	return cases
}

// CheckBackupListPaging checks a family simulator's backup list pages as the
// APIs document (offset from 0, limit 1 to 100, default 100, total_count of
// all matches) in pages of at most pageSize (its Options.PageSize), and
// filters by backup_type: list sends one list call with query (to which it
// adds the instance's filter); made are the instance's only backups, all
// manual; badLimit is the error code of a limit over 100.
func CheckBackupListPaging(t *testing.T, list func(query url.Values) Answer, made []string, pageSize int, badLimit string) {
	t.Helper()
	ids := func(a Answer) []string {
		require.Equal(t, http.StatusOK, a.Status, "%v", a.Body)
		assert.EqualValues(t, len(made), a.Body["total_count"], "total_count counts every match, not the page")
		var out []string
		for _, b := range a.Body["backups"].([]any) {
			out = append(out, b.(map[string]any)["id"].(string))
		}
		return out
	}
	assert.Len(t, ids(list(url.Values{})), min(pageSize, len(made)), "no limit: the server's largest page")
	assert.Len(t, ids(list(url.Values{"limit": {"1"}})), 1)
	var all []string
	for offset := 0; offset < len(made); {
		page := ids(list(url.Values{"offset": {fmt.Sprint(offset)}, "limit": {"100"}, "backup_type": {"manual"}}))
		require.NotEmpty(t, page, "offset %d", offset)
		require.LessOrEqual(t, len(page), pageSize)
		all = append(all, page...)
		offset += len(page)
	}
	assert.ElementsMatch(t, made, all, "the pages hold every backup once")
	assert.Empty(t, list(url.Values{"offset": {fmt.Sprint(len(made))}}).Body["backups"], "past the end: an empty page")
	AssertError(t, list(url.Values{"limit": {"101"}}), http.StatusBadRequest, badLimit)
	auto := list(url.Values{"backup_type": {"auto"}})
	require.Equal(t, http.StatusOK, auto.Status)
	assert.Empty(t, auto.Body["backups"], "no automated backups here")
}
