package backup

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"unicode"
	"unicode/utf8"
)

// Request is the input of both workflows. On the wire it is a "provider" field
// plus one section, named after the provider, whose fields mirror that
// provider's own API documentation:
//
//	{"provider": "taurusdb", "taurusdb": {"instance_id": "...in07", "name": "nightly-1"}}
//
// The section stays raw JSON here so the workflows stay provider-neutral: the
// provider's driver decodes it strictly (unknown fields are errors) during
// validation. Typed sections for Go callers are in sections.go.
type Request struct {
	Provider string
	Section  json.RawMessage
	// Unknown holds top-level keys that are neither "provider" nor the
	// provider's section. They survive encoding, so validation (in whichever
	// process runs it) rejects them and typos are not silently ignored.
	Unknown map[string]json.RawMessage
}

// UnknownFields lists the unknown top-level keys, sorted.
func (r Request) UnknownFields() []string {
	keys := make([]string, 0, len(r.Unknown))
	for k := range r.Unknown {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Section is a typed provider section (SpannerCreate, AliRDSCreate, ...).
type Section interface {
	// ProviderName is the provider this section belongs to.
	ProviderName() string
	// Resource is the database or instance (or destination backup, for a
	// copy) that the request targets; it keys the workflow ID.
	Resource() string
}

// NewRequest wraps a typed section into a Request.
func NewRequest(s Section) (Request, error) {
	raw, err := json.Marshal(s)
	if err != nil {
		return Request{}, fmt.Errorf("encode %s section: %w", s.ProviderName(), err)
	}
	return Request{Provider: s.ProviderName(), Section: raw}, nil
}

// MarshalJSON writes {"provider": p, p: section}.
func (r Request) MarshalJSON() ([]byte, error) {
	m := map[string]json.RawMessage{}
	for k, v := range r.Unknown {
		m[k] = v
	}
	p, _ := json.Marshal(r.Provider)
	m["provider"] = p
	if r.Provider != "" && len(r.Section) > 0 {
		m[r.Provider] = r.Section
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads {"provider": p, p: section}. It never fails on unknown
// keys (a workflow must always be able to decode its input); it records them
// for validation to report instead.
func (r *Request) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("request must be a JSON object: %w", err)
	}
	*r = Request{}
	if p, ok := m["provider"]; ok {
		if err := json.Unmarshal(p, &r.Provider); err != nil {
			return fmt.Errorf("provider must be a string: %w", err)
		}
	}
	for k, v := range m {
		switch {
		case k == "provider":
		case k == r.Provider && r.Provider != "":
			r.Section = bytes.Clone(v)
		default:
			if r.Unknown == nil {
				r.Unknown = map[string]json.RawMessage{}
			}
			r.Unknown[k] = bytes.Clone(v)
		}
	}
	return nil
}

// Typed decodes the section into the typed section registered for the
// provider and kind, strictly.
func (r Request) Typed(kind Kind) (Section, error) {
	newSection, ok := sectionTypes[sectionKey{r.Provider, kind}]
	if !ok {
		return nil, fmt.Errorf("provider %q has no %s request type", r.Provider, kind)
	}
	s := newSection()
	if err := DecodeStrict(r.Section, s); err != nil {
		return nil, fmt.Errorf("%s: %w", r.Provider, err)
	}
	return s, nil
}

// NamedResource is the resource the request names, "" when it names none.
// It reads the section leniently (a request with other mistakes still names
// its resource), so it is for indexing, never for validation.
func (r Request) NamedResource(kind Kind) string {
	newSection, ok := sectionTypes[sectionKey{r.Provider, kind}]
	if !ok {
		return ""
	}
	s := newSection()
	if json.Unmarshal(r.Section, s) != nil {
		return ""
	}
	return s.Resource()
}

// WorkflowID is the canonical workflow ID for this request: one per target.
func (r Request) WorkflowID(kind Kind) (string, error) {
	s, err := r.Typed(kind)
	if err != nil {
		return "", err
	}
	return r.workflowIDOf(kind, s)
}

func (r Request) workflowIDOf(kind Kind, s Section) (string, error) {
	if s.Resource() == "" {
		return "", fmt.Errorf("%s: the request names no resource", r.Provider)
	}
	if err := CheckID("the resource", s.Resource()); err != nil {
		return "", fmt.Errorf("%s: %w", r.Provider, err)
	}
	id := WorkflowID(kind, r.Provider, s.Resource())
	if err := CheckID("the workflow ID", id); err != nil {
		return "", fmt.Errorf("%s: %w", r.Provider, err)
	}
	return id, nil
}

// MaxIDLength is the Temporal server's default limit on workflow IDs
// (dynamic config limit.maxIDLength).
const MaxIDLength = 1000

// CheckID refuses an identifier that Temporal would refuse, or that would
// garble a terminal or a log line: longer than MaxIDLength bytes, not UTF-8,
// or holding a control character. what names it in the error.
func CheckID(what, id string) error {
	if len(id) > MaxIDLength {
		return fmt.Errorf("%s is %d bytes long; Temporal allows at most %d", what, len(id), MaxIDLength)
	}
	if !utf8.ValidString(id) {
		return fmt.Errorf("%s is not valid UTF-8", what)
	}
	for i, c := range id {
		if unicode.IsControl(c) {
			return fmt.Errorf("%s holds a control character (%q at byte %d)", what, c, i)
		}
	}
	return nil
}

// DecodeStrict decodes JSON into v, rejecting unknown fields and trailing data.
func DecodeStrict(raw json.RawMessage, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return fmt.Errorf("the provider section is missing")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("unexpected data after the provider section")
	}
	return nil
}
