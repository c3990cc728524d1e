package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/backupflow/backupflow/internal/strictparse"
)

// SinkKind is how a sink receives events.
type SinkKind string

const (
	// SinkWebhook receives structured CloudEvents JSON signed with HMAC-SHA256.
	SinkWebhook SinkKind = "webhook"
	// SinkSlack is a Slack-compatible incoming webhook receiving a text.
	SinkSlack SinkKind = "slack"
)

// MinSecretLen is the shortest webhook HMAC key accepted, in bytes.
const MinSecretLen = 16

// Sink is one configured receiver of events. Build sinks with ParseSinks
// or LoadSinks: they load the webhook secret, which is kept unexported.
//
// A sink is not meant to travel: workflows and activity inputs carry sink
// names and the worker looks a sink up with Find. Printing (any fmt verb)
// or marshalling a sink shows its URL as scheme and host only and never
// the secret, since a Slack URL is itself a credential.
type Sink struct {
	Name       string
	Kind       SinkKind
	URL        string
	SecretFile string
	// Plans limits the sink to events of these plans; empty means every
	// event, including those of backups started by hand.
	Plans []string
	// Types limits the sink to these event types; empty means all.
	Types []Type

	secret *secretKey
}

// secretKey sits behind a pointer so that reflection-based printers show
// an address rather than the key.
type secretKey struct{ key []byte }

// sinkFile is the sinks file's format; sinkEntry is one sink in it.
type sinkFile struct {
	Sinks []json.RawMessage `json:"sinks"`
}

type sinkEntry struct {
	Name       string   `json:"name"`
	Kind       string   `json:"kind"`
	URL        string   `json:"url"`
	SecretFile string   `json:"secretFile"`
	Plans      []string `json:"plans"`
	Types      []string `json:"types"`
}

var sinkFields = []string{"name", "kind", "url", "secretFile", "plans", "types"}

// sinkError is one problem in a sinks file: Path names the place
// ("sinks[1].url"), Sink the sink's name when it has one.
type sinkError struct {
	Path, Sink, Problem string
}

func (e *sinkError) Error() string {
	where := e.Path
	if e.Sink != "" {
		where += fmt.Sprintf(" (sink %q)", e.Sink)
	}
	if where == "" {
		return e.Problem
	}
	return where + ": " + e.Problem
}

// LoadSinks reads and validates the sinks file at path (ParseSinks),
// reading secret files from disk.
func LoadSinks(path string) ([]Sink, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("notification sinks file: %w", err)
	}
	sinks, err := ParseSinks(data, os.ReadFile)
	if err != nil {
		return nil, fmt.Errorf("notification sinks file %s:\n%w", path, err)
	}
	return sinks, nil
}

// ParseSinks reads a sinks file written in YAML or JSON, validates every
// sink and loads webhook secrets with readFile. Every problem is reported
// at once (errors.Join), each naming its place (sinks[i].field and the
// sink's name) and the rule broken. Errors never hold secret bytes, and
// name a URL by scheme and host only.
func ParseSinks(data []byte, readFile func(string) ([]byte, error)) ([]Sink, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, &sinkError{Problem: "not valid YAML or JSON: " + strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")}
	}
	if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
		return nil, nil // an empty file: no sinks
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(js, &top); err != nil {
		return nil, &sinkError{Problem: "a sinks file is a mapping with a sinks list, got " + strictparse.Kind(js)}
	}
	var errs []error
	for _, k := range sortedKeys(top) {
		if k != "sinks" {
			errs = append(errs, &sinkError{Path: k, Problem: "unknown field" + strictparse.Suggest(k, []string{"sinks"})})
		}
	}
	var f sinkFile
	if raw, ok := top["sinks"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &f.Sinks); err != nil {
			errs = append(errs, &sinkError{Path: "sinks", Problem: "must be a list, got " + strictparse.Kind(raw)})
		}
	}
	sinks := make([]Sink, 0, len(f.Sinks))
	seen := map[string]int{}
	for i, raw := range f.Sinks {
		s, serrs := parseSink(i, raw, readFile)
		if s.Name != "" {
			if first, dup := seen[s.Name]; dup {
				serrs = append(serrs, &sinkError{Path: fmt.Sprintf("sinks[%d].name", i), Sink: s.Name,
					Problem: fmt.Sprintf("must be unique; sinks[%d] has the same name", first)})
			} else {
				seen[s.Name] = i
			}
		}
		errs = append(errs, serrs...)
		sinks = append(sinks, s)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return sinks, nil
}

func parseSink(i int, raw json.RawMessage, readFile func(string) ([]byte, error)) (Sink, []error) {
	path := fmt.Sprintf("sinks[%d]", i)
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return Sink{}, []error{&sinkError{Path: path, Problem: "must be a mapping with name, kind and url, got " + strictparse.Kind(raw)}}
	}
	var e sinkEntry
	// The name first, so every later problem can name the sink.
	var errs []error
	rawName, hasName := obj["name"]
	if hasName {
		if err := json.Unmarshal(rawName, &e.Name); err != nil {
			errs = append(errs, &sinkError{Path: path + ".name", Problem: "must be a string, got " + strictparse.Kind(rawName)})
			hasName = false
		}
	}
	fail := func(field, problem string) {
		errs = append(errs, &sinkError{Path: path + "." + field, Sink: e.Name, Problem: problem})
	}
	for _, k := range sortedKeys(obj) {
		var err error
		switch k {
		case "name":
			continue
		case "kind":
			err = json.Unmarshal(obj[k], &e.Kind)
		case "url":
			err = json.Unmarshal(obj[k], &e.URL)
		case "secretFile":
			err = json.Unmarshal(obj[k], &e.SecretFile)
		case "plans":
			err = json.Unmarshal(obj[k], &e.Plans)
		case "types":
			err = json.Unmarshal(obj[k], &e.Types)
		default:
			fail(k, "unknown field"+strictparse.Suggest(k, sinkFields))
			continue
		}
		if err != nil {
			want := "a string"
			if k == "plans" || k == "types" {
				want = "a list of strings"
			}
			fail(k, "must be "+want+", got "+strictparse.Kind(obj[k]))
		}
	}

	s := Sink{Name: e.Name, Kind: SinkKind(e.Kind), URL: e.URL, SecretFile: e.SecretFile, Plans: e.Plans}
	switch {
	case rawName == nil:
		fail("name", "is required")
	case !hasName: // reported above
	case e.Name == "":
		fail("name", "must not be empty")
	default:
		if problem := checkName(e.Name); problem != "" {
			fail("name", problem)
		}
	}

	switch s.Kind {
	case SinkWebhook, SinkSlack:
	case "":
		fail("kind", `is required: "webhook" or "slack"`)
	default:
		fail("kind", fmt.Sprintf(`%q is not a sink kind: "webhook" or "slack"`, e.Kind))
	}

	if e.URL == "" {
		fail("url", "is required")
	} else if problem := checkURL(e.URL); problem != "" {
		fail("url", problem)
	}

	switch {
	case s.Kind == SinkSlack && e.SecretFile != "":
		fail("secretFile", "is for webhook sinks only; a Slack incoming webhook is authenticated by its URL")
	case s.Kind == SinkWebhook && e.SecretFile == "":
		fail("secretFile", "is required for a webhook sink: the file holding the HMAC-SHA256 signing key")
	case s.Kind == SinkWebhook:
		key, problem := loadSecret(e.SecretFile, readFile)
		if problem != "" {
			fail("secretFile", problem)
		} else {
			s.secret = &secretKey{key: key}
		}
	}

	seenPlan := map[string]bool{}
	for j, p := range e.Plans {
		switch {
		case p == "":
			fail(fmt.Sprintf("plans[%d]", j), "must not be empty")
		case seenPlan[p]:
			fail(fmt.Sprintf("plans[%d]", j), fmt.Sprintf("plan %q is listed twice", p))
		}
		seenPlan[p] = true
	}
	seenType := map[Type]bool{}
	for j, t := range e.Types {
		typ := Type(t)
		switch {
		case !slices.Contains(Types, typ):
			fail(fmt.Sprintf("types[%d]", j), fmt.Sprintf("%q is not an event type; known types: %s", t, typeList()))
		case seenType[typ]:
			fail(fmt.Sprintf("types[%d]", j), fmt.Sprintf("type %q is listed twice", t))
		}
		seenType[typ] = true
		s.Types = append(s.Types, typ)
	}
	return s, errs
}

func checkName(name string) string {
	if len(name) > 63 {
		return fmt.Sprintf("must be at most 63 characters, got %d", len(name))
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Sprintf("%q may hold only lowercase letters, digits and '-'", name)
		}
	}
	return ""
}

// checkURL allows plain HTTP only where nothing crosses a network. Its
// problems show the URL as scheme and host only.
func checkURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return "must be an absolute URL such as https://hooks.example.com/backupflow"
	}
	if u.User != nil {
		return "must not hold user information; a webhook is authenticated by its signature"
	}
	if u.Fragment != "" {
		return "must not hold a fragment (#...)"
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return ""
	case "http":
		if isLoopback(u.Hostname()) {
			return ""
		}
		return fmt.Sprintf("must use https; http is allowed only to a loopback host (127.0.0.1, ::1, localhost), got %s", redactURL(raw))
	}
	return fmt.Sprintf("must use https (or http to a loopback host), got scheme %q", u.Scheme)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func loadSecret(file string, readFile func(string) ([]byte, error)) ([]byte, string) {
	if readFile == nil {
		return nil, "cannot be read: no file reader given"
	}
	data, err := readFile(file)
	if err != nil {
		// The error names the file, never its content.
		return nil, "cannot be read: " + err.Error()
	}
	key := bytes.TrimRight(data, "\r\n")
	switch {
	case len(key) == 0:
		return nil, fmt.Sprintf("%s is empty; it must hold the HMAC key (at least %d bytes)", file, MinSecretLen)
	case len(key) < MinSecretLen:
		return nil, fmt.Sprintf("%s holds a key shorter than %d bytes", file, MinSecretLen)
	}
	return key, ""
}

func typeList() string {
	names := make([]string, len(Types))
	for i, t := range Types {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

// Matches reports whether the sink wants e: e's plan is among Plans (or
// Plans is empty) and e's type among Types (or Types is empty).
func (s Sink) Matches(e Event) bool {
	return (len(s.Plans) == 0 || slices.Contains(s.Plans, e.Plan)) &&
		(len(s.Types) == 0 || slices.Contains(s.Types, e.Type))
}

// Matching names the sinks that want e, in file order.
func Matching(sinks []Sink, e Event) []string {
	var names []string
	for _, s := range sinks {
		if s.Matches(e) {
			names = append(names, s.Name)
		}
	}
	return names
}

// Find returns the sink called name.
func Find(sinks []Sink, name string) (Sink, bool) {
	for _, s := range sinks {
		if s.Name == name {
			return s, true
		}
	}
	return Sink{}, false
}

// String shows the sink without its secret and with its URL as scheme
// and host only.
func (s Sink) String() string {
	return fmt.Sprintf("%s sink %q (%s)", s.Kind, s.Name, redactURL(s.URL))
}

// Format makes every fmt verb safe (%v, %+v, %#v, %s, %q...).
func (s Sink) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && (f.Flag('+') || f.Flag('#')):
		_, _ = fmt.Fprintf(f, "{Name:%s Kind:%s URL:%s SecretFile:%s Plans:%v Types:%v}",
			s.Name, s.Kind, redactURL(s.URL), s.SecretFile, s.Plans, s.Types)
	case verb == 'q':
		_, _ = io.WriteString(f, strconv.Quote(s.String()))
	default:
		_, _ = io.WriteString(f, s.String())
	}
}

// MarshalJSON shows what String shows, as JSON; it is for display only
// (a sink is never decoded back from it).
func (s Sink) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Name       string   `json:"name"`
		Kind       SinkKind `json:"kind"`
		URL        string   `json:"url"`
		SecretFile string   `json:"secretFile,omitempty"`
		Plans      []string `json:"plans,omitempty"`
		Types      []Type   `json:"types,omitempty"`
	}{s.Name, s.Kind, redactURL(s.URL), s.SecretFile, s.Plans, s.Types})
}

// redactURL keeps a URL's scheme and host: a Slack URL's path is its
// credential, and a webhook's query may carry a token.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "<url hidden>"
	}
	return u.Scheme + "://" + u.Host
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func isNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}
