package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const testSecret = "s3cret-hmac-key-0123456789"

// files is a readFile over a map, so secret files need no disk.
func files(m map[string]string) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		v, ok := m[name]
		if !ok {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		return []byte(v), nil
	}
}

var secretFiles = files(map[string]string{
	"/etc/bf/secret":    testSecret + "\n",
	"/etc/bf/crlf":      testSecret + "\r\n",
	"/etc/bf/empty":     "\n",
	"/etc/bf/short":     "tooshort\n",
	"/etc/bf/nonewline": testSecret,
})

func TestParseSinksYAML(t *testing.T) {
	sinks, err := ParseSinks([]byte(`
sinks:
  - name: ops-webhook
    kind: webhook
    url: https://hooks.example.com/backupflow?token=abc
    secretFile: /etc/bf/secret
    plans: [nightly]
    types: [io.backupflow.backup.failed.v1]
  - name: team-slack
    kind: slack
    url: https://hooks.slack.com/services/T0/B0/XYZ
  - name: local
    kind: webhook
    url: http://127.0.0.1:8080/hook
    secretFile: /etc/bf/crlf
`), secretFiles)
	require.NoError(t, err)
	require.Len(t, sinks, 3)
	require.Equal(t, "ops-webhook", sinks[0].Name)
	require.Equal(t, SinkWebhook, sinks[0].Kind)
	require.Equal(t, "https://hooks.example.com/backupflow?token=abc", sinks[0].URL)
	require.Equal(t, "/etc/bf/secret", sinks[0].SecretFile)
	require.Equal(t, []string{"nightly"}, sinks[0].Plans)
	require.Equal(t, []Type{BackupFailed}, sinks[0].Types)
	require.Equal(t, []byte(testSecret), sinks[0].secret.key, "trailing newline trimmed")
	require.Equal(t, SinkSlack, sinks[1].Kind)
	require.Nil(t, sinks[1].secret)
	require.Equal(t, []byte(testSecret), sinks[2].secret.key, "trailing CRLF trimmed")
}

func TestParseSinksJSONAndEmpty(t *testing.T) {
	sinks, err := ParseSinks([]byte(`{"sinks":[{"name":"a","kind":"slack","url":"https://h.example/x"}]}`), secretFiles)
	require.NoError(t, err)
	require.Len(t, sinks, 1)
	require.Equal(t, "a", sinks[0].Name)

	for _, in := range []string{"", "sinks: []", "sinks:"} {
		sinks, err := ParseSinks([]byte(in), secretFiles)
		require.NoError(t, err, "%q", in)
		require.Empty(t, sinks, "%q", in)
	}
}

func TestParseSinksErrors(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string // each must appear in the error
	}{
		{"not yaml", "sinks: [", []string{"not valid YAML or JSON"}},
		{"not a mapping", "- a\n- b", []string{"a sinks file is a mapping with a sinks list, got a list"}},
		{"sinks not a list", "sinks: 3", []string{"sinks: must be a list, got a number"}},
		{"unknown top-level field", "sink: []", []string{`sink: unknown field (did you mean "sinks"?)`}},
		{"sink not a mapping", "sinks: [hello]", []string{"sinks[0]: must be a mapping with name, kind and url, got a string"}},
		{"unknown field", `
sinks:
  - name: a
    kind: slack
    url: https://h.example/x
    secretfile: /x`, []string{`sinks[0].secretfile (sink "a"): unknown field (did you mean "secretFile"?)`}},
		{"missing name", `
sinks:
  - kind: slack
    url: https://h.example/x`, []string{"sinks[0].name: is required"}},
		{"empty name", `
sinks:
  - name: ""
    kind: slack
    url: https://h.example/x`, []string{"sinks[0].name: must not be empty"}},
		{"name not a string", `
sinks:
  - name: [a]
    kind: slack
    url: https://h.example/x`, []string{"sinks[0].name: must be a string, got a list"}},
		{"bad name characters", `
sinks:
  - name: Ops_Hook
    kind: slack
    url: https://h.example/x`, []string{`sinks[0].name (sink "Ops_Hook"): "Ops_Hook" may hold only lowercase letters, digits and '-'`}},
		{"name too long", `
sinks:
  - name: ` + strings.Repeat("a", 64) + `
    kind: slack
    url: https://h.example/x`, []string{"must be at most 63 characters, got 64"}},
		{"duplicate name", `
sinks:
  - name: a
    kind: slack
    url: https://h.example/x
  - name: a
    kind: slack
    url: https://h.example/y`, []string{`sinks[1].name (sink "a"): must be unique; sinks[0] has the same name`}},
		{"missing kind", `
sinks:
  - name: a
    url: https://h.example/x`, []string{`sinks[0].kind (sink "a"): is required: "webhook" or "slack"`}},
		{"bad kind", `
sinks:
  - name: a
    kind: email
    url: https://h.example/x`, []string{`sinks[0].kind (sink "a"): "email" is not a sink kind: "webhook" or "slack"`}},
		{"missing url", `
sinks:
  - name: a
    kind: slack`, []string{`sinks[0].url (sink "a"): is required`}},
		{"relative url", `
sinks:
  - name: a
    kind: slack
    url: /hooks/x`, []string{`sinks[0].url (sink "a"): must be an absolute URL`}},
		{"http to non-loopback", `
sinks:
  - name: a
    kind: slack
    url: http://hooks.example.com/services/T/B/SECRETPATH?k=SECRETQUERY`,
			[]string{`sinks[0].url (sink "a"): must use https; http is allowed only to a loopback host (127.0.0.1, ::1, localhost), got http://hooks.example.com`}},
		{"ftp", `
sinks:
  - name: a
    kind: slack
    url: ftp://h.example/x`, []string{`sinks[0].url (sink "a"): must use https (or http to a loopback host), got scheme "ftp"`}},
		{"user info", `
sinks:
  - name: a
    kind: slack
    url: https://user:SECRETPASS@h.example/x`, []string{`sinks[0].url (sink "a"): must not hold user information`}},
		{"url not a string", `
sinks:
  - name: a
    kind: slack
    url: 3`, []string{`sinks[0].url (sink "a"): must be a string, got a number`}},
		{"missing secretFile", `
sinks:
  - name: a
    kind: webhook
    url: https://h.example/x`, []string{`sinks[0].secretFile (sink "a"): is required for a webhook sink`}},
		{"secretFile on slack", `
sinks:
  - name: a
    kind: slack
    url: https://h.example/x
    secretFile: /etc/bf/secret`, []string{`sinks[0].secretFile (sink "a"): is for webhook sinks only`}},
		{"unreadable secret", `
sinks:
  - name: a
    kind: webhook
    url: https://h.example/x
    secretFile: /etc/bf/missing`, []string{`sinks[0].secretFile (sink "a"): cannot be read: open /etc/bf/missing: file does not exist`}},
		{"empty secret", `
sinks:
  - name: a
    kind: webhook
    url: https://h.example/x
    secretFile: /etc/bf/empty`, []string{`sinks[0].secretFile (sink "a"): /etc/bf/empty is empty; it must hold the HMAC key (at least 16 bytes)`}},
		{"short secret", `
sinks:
  - name: a
    kind: webhook
    url: https://h.example/x
    secretFile: /etc/bf/short`, []string{`sinks[0].secretFile (sink "a"): /etc/bf/short holds a key shorter than 16 bytes`}},
		{"unknown type", `
sinks:
  - name: a
    kind: slack
    url: https://h.example/x
    types: [io.backupflow.backup.failed.v1, io.backupflow.backup.exploded.v1]`,
			[]string{`sinks[0].types[1] (sink "a"): "io.backupflow.backup.exploded.v1" is not an event type; known types: io.backupflow.backup.started.v1,`}},
		{"duplicate type", `
sinks:
  - name: a
    kind: slack
    url: https://h.example/x
    types: [io.backupflow.backup.failed.v1, io.backupflow.backup.failed.v1]`,
			[]string{`sinks[0].types[1] (sink "a"): type "io.backupflow.backup.failed.v1" is listed twice`}},
		{"types not a list", `
sinks:
  - name: a
    kind: slack
    url: https://h.example/x
    types: io.backupflow.backup.failed.v1`, []string{`sinks[0].types (sink "a"): must be a list of strings, got a string`}},
		{"empty and duplicate plan", `
sinks:
  - name: a
    kind: slack
    url: https://h.example/x
    plans: ["", nightly, nightly]`, []string{`sinks[0].plans[0] (sink "a"): must not be empty`, `sinks[0].plans[2] (sink "a"): plan "nightly" is listed twice`}},
		{"every problem at once", `
sinks:
  - name: Bad
    kind: mail
    url: http://example.com/x
  - name: ok
    kind: webhook
    url: https://h.example/x
    plan: [x]`, []string{
			`sinks[0].name (sink "Bad")`, `sinks[0].kind (sink "Bad")`, `sinks[0].url (sink "Bad")`,
			`sinks[1].plan (sink "ok"): unknown field (did you mean "plans"?)`, `sinks[1].secretFile (sink "ok"): is required`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sinks, err := ParseSinks([]byte(c.in), secretFiles)
			require.Error(t, err)
			require.Nil(t, sinks)
			for _, w := range c.want {
				require.Contains(t, err.Error(), w)
			}
			require.NotContains(t, err.Error(), "SECRET")
			require.NotContains(t, err.Error(), testSecret)
		})
	}
}

func TestParseSinksErrorNeverHoldsSecret(t *testing.T) {
	// A secret too short is still a secret: no byte of it may show.
	_, err := ParseSinks([]byte(`
sinks:
  - name: a
    kind: webhook
    url: https://h.example/x
    secretFile: /k`), files(map[string]string{"/k": "Zq9Xw"}))
	require.ErrorContains(t, err, "shorter than 16 bytes")
	require.NotContains(t, err.Error(), "Zq9Xw")
}

func TestParseSinksLoopbackHTTP(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:9/x", "http://[::1]:9/x", "http://localhost/x", "http://LOCALHOST:80/x", "http://127.0.0.2/x"} {
		_, err := ParseSinks([]byte(fmt.Sprintf("sinks: [{name: a, kind: slack, url: %q}]", u)), secretFiles)
		require.NoError(t, err, u)
	}
	for _, u := range []string{"http://10.0.0.1/x", "http://localhost.example.com/x", "http://[::2]/x"} {
		_, err := ParseSinks([]byte(fmt.Sprintf("sinks: [{name: a, kind: slack, url: %q}]", u)), secretFiles)
		require.ErrorContains(t, err, "http is allowed only to a loopback host", u)
	}
}

func TestLoadSinks(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	require.NoError(t, os.WriteFile(secret, []byte(testSecret+"\n"), 0o600))
	path := filepath.Join(dir, "sinks.yaml")
	require.NoError(t, os.WriteFile(path, []byte("sinks:\n  - {name: w, kind: webhook, url: 'https://h.example/x', secretFile: '"+secret+"'}\n"), 0o600))
	sinks, err := LoadSinks(path)
	require.NoError(t, err)
	require.Len(t, sinks, 1)
	require.Equal(t, []byte(testSecret), sinks[0].secret.key)

	_, err = LoadSinks(filepath.Join(dir, "absent.yaml"))
	require.ErrorContains(t, err, filepath.Join(dir, "absent.yaml"))
	require.ErrorIs(t, err, fs.ErrNotExist)

	require.NoError(t, os.WriteFile(path, []byte("sinks:\n  - {name: w, kind: webhook, url: 'https://h.example/x'}\n"), 0o600))
	_, err = LoadSinks(path)
	require.ErrorContains(t, err, path)
	require.ErrorContains(t, err, `sinks[0].secretFile (sink "w"): is required`)
}

func TestSinkNeverPrintsSecretOrURLPath(t *testing.T) {
	sinks, err := ParseSinks([]byte(`
sinks:
  - {name: w, kind: webhook, url: "https://h.example/hook?token=QUERYTOKEN", secretFile: /etc/bf/secret}
  - {name: s, kind: slack, url: "https://hooks.slack.com/services/T0/B0/SLACKPATH"}
`), secretFiles)
	require.NoError(t, err)
	js, err := json.Marshal(sinks)
	require.NoError(t, err)
	outputs := []string{string(js)}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		outputs = append(outputs, fmt.Sprintf(verb, sinks[0]), fmt.Sprintf(verb, sinks[1]), fmt.Sprintf(verb, sinks),
			fmt.Sprintf(verb, &sinks[0]), fmt.Sprintf(verb, struct{ S Sink }{sinks[0]}))
	}
	for _, out := range outputs {
		require.NotContains(t, out, testSecret)
		require.NotContains(t, out, fmt.Sprintf("%x", testSecret))
		require.NotContains(t, out, fmt.Sprint([]byte(testSecret)))
		require.NotContains(t, out, "QUERYTOKEN")
		require.NotContains(t, out, "SLACKPATH")
	}
	require.Contains(t, fmt.Sprintf("%+v", sinks[0]), "Name:w Kind:webhook URL:https://h.example SecretFile:/etc/bf/secret")
	require.Equal(t, `webhook sink "w" (https://h.example)`, sinks[0].String())
	require.JSONEq(t, `[{"name":"w","kind":"webhook","url":"https://h.example","secretFile":"/etc/bf/secret"},
		{"name":"s","kind":"slack","url":"https://hooks.slack.com"}]`, string(js))
}

func TestMatches(t *testing.T) {
	at := time.Date(2026, 12, 3, 1, 0, 0, 0, time.UTC)
	nightlyFailed := New(BackupFailed, "wf", "db", "nightly", at, Data{}, "a")
	hourlyFailed := New(BackupFailed, "wf", "db", "hourly", at, Data{}, "b")
	handStarted := New(BackupSucceeded, "wf", "db", "", at, Data{}, "c")
	nightlyOK := New(BackupSucceeded, "wf", "db", "nightly", at, Data{}, "d")

	all := Sink{Name: "all"}
	nightly := Sink{Name: "nightly", Plans: []string{"nightly"}}
	failures := Sink{Name: "failures", Types: []Type{BackupFailed, RPOBreached}}
	nightlyFailures := Sink{Name: "nightly-failures", Plans: []string{"nightly", "weekly"}, Types: []Type{BackupFailed}}
	sinks := []Sink{all, nightly, failures, nightlyFailures}

	require.Equal(t, []string{"all", "nightly", "failures", "nightly-failures"}, Matching(sinks, nightlyFailed))
	require.Equal(t, []string{"all", "failures"}, Matching(sinks, hourlyFailed))
	require.Equal(t, []string{"all"}, Matching(sinks, handStarted), "a hand-started backup reaches only sinks without plans")
	require.Equal(t, []string{"all", "nightly"}, Matching(sinks, nightlyOK))
	require.Empty(t, Matching([]Sink{nightlyFailures}, handStarted))

	require.True(t, all.Matches(handStarted))
	require.False(t, nightly.Matches(handStarted))
	require.False(t, failures.Matches(nightlyOK))

	s, ok := Find(sinks, "failures")
	require.True(t, ok)
	require.Equal(t, "failures", s.Name)
	require.Equal(t, []Type{BackupFailed, RPOBreached}, s.Types)
	_, ok = Find(sinks, "absent")
	require.False(t, ok)
}

func TestParseSinksJoinsErrors(t *testing.T) {
	_, err := ParseSinks([]byte("sinks: [{name: a}, {name: b}]"), secretFiles)
	var joined interface{ Unwrap() []error }
	require.True(t, errors.As(err, &joined))
	require.Len(t, joined.Unwrap(), 4, "kind and url of both sinks: %v", err)
}
