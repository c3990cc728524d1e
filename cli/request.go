package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/backupflow/backupflow/backup"
)

// InputError is a request the CLI refuses before contacting Temporal. Field
// is the JSON path at fault ("spanner.backupId"), empty when the request as
// a whole is unreadable.
type InputError struct {
	Field   string
	Message string
}

func (e *InputError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// providers lists the provider names offered to users.
var providers = backup.Providers()

// ParseRequest reads a request exactly as `temporal workflow start --input`
// would send it and checks its structure: a known provider, its section and
// nothing else at the top level, the section decoded strictly into the
// provider's typed section, and a resource to key the workflow ID. The
// provider's own rules (name formats, time windows, instance states) are
// checked by the worker before any provider call; --wait reports those too.
func ParseRequest(raw []byte, kind backup.Kind) (backup.Request, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return backup.Request{}, &InputError{Message: "the request is empty: give --input '<json>' or --input-file <path>"}
	}
	var anyJSON any
	if err := json.Unmarshal(raw, &anyJSON); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := position(raw, se.Offset)
			return backup.Request{}, &InputError{Message: fmt.Sprintf("the request is not valid JSON (line %d, column %d): %v", line, col, se)}
		}
		return backup.Request{}, &InputError{Message: "the request is not valid JSON: " + err.Error()}
	}
	var req backup.Request
	if err := json.Unmarshal(raw, &req); err != nil {
		return req, &InputError{Message: err.Error() + `; a request is {"provider": "<name>", "<name>": {...}}`}
	}
	known := strings.Join(providers, ", ")
	switch {
	case req.Provider == "":
		return req, &InputError{Field: "provider", Message: "is required: one of " + known}
	case !isProvider(req.Provider):
		return req, &InputError{Field: "provider", Message: fmt.Sprintf("unknown provider %q; known: %s", req.Provider, known)}
	}
	if len(req.UnknownFields()) > 0 {
		k := req.UnknownFields()[0]
		return req, &InputError{Field: k, Message: fmt.Sprintf("unknown top-level field: a request holds \"provider\" and one section named after it (%q)", req.Provider)}
	}
	if len(req.Section) == 0 {
		return req, &InputError{Field: req.Provider, Message: "the provider section is missing"}
	}
	zero, err := backup.Request{Provider: req.Provider, Section: json.RawMessage(`{}`)}.Typed(kind)
	if err != nil {
		return req, &InputError{Field: "provider", Message: fmt.Sprintf("%s has no %s API", req.Provider, kind)}
	}
	section, err := req.Typed(kind)
	if err != nil {
		return req, sectionError(req, reflect.TypeOf(zero).Elem(), err)
	}
	if section.Resource() == "" {
		msg := "is required: it names the resource to back up"
		fields := resourceFields(req.Provider, kind)
		if len(fields) == 0 {
			return req, &InputError{Field: req.Provider, Message: "the request names no resource"}
		}
		return req, &InputError{Field: strings.Join(fields, ", "), Message: msg}
	}
	if _, err := req.WorkflowID(kind); err != nil {
		return req, &InputError{Field: strings.Join(resourceFields(req.Provider, kind), ", "), Message: err.Error()}
	}
	return req, nil
}

func isProvider(p string) bool { return backup.IsProvider(p) }

// sectionError names the field behind a strict-decoding error.
func sectionError(req backup.Request, t reflect.Type, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := req.Provider
		if te.Field != "" {
			field += "." + te.Field
		}
		return &InputError{Field: field, Message: fmt.Sprintf("must be %s, got a JSON %s", jsonKind(te.Type), te.Value)}
	}
	if _, name, ok := strings.Cut(err.Error(), "json: unknown field "); ok {
		if path, allowed, found := unknownField(t, req.Section, nil); found {
			return &InputError{Field: req.Provider + "." + strings.Join(path, "."),
				Message: "unknown field; allowed here: " + strings.Join(allowed, ", ")}
		}
		return &InputError{Field: req.Provider, Message: "unknown field " + name}
	}
	msg := err.Error()
	msg = strings.TrimPrefix(msg, req.Provider+": ")
	return &InputError{Field: req.Provider, Message: msg}
}

// unknownField walks the section against its Go type and returns the path of
// the first key no field takes, with the keys allowed at that level. Keys
// match field names case-insensitively, as encoding/json does.
func unknownField(t reflect.Type, raw json.RawMessage, path []string) ([]string, []string, bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		if t.Kind() == reflect.Slice {
			var items []json.RawMessage
			if json.Unmarshal(raw, &items) != nil {
				return nil, nil, false
			}
			for i, item := range items {
				if p, allowed, ok := unknownField(t.Elem(), item, appendIndex(path, i)); ok {
					return p, allowed, true
				}
			}
			return nil, nil, false
		}
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil, nil, false
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return nil, nil, false
	}
	fields := jsonFields(t)
	var allowed []string
	for _, f := range fields {
		allowed = append(allowed, f.name)
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		i := slices.IndexFunc(fields, func(f jsonField) bool { return strings.EqualFold(f.name, k) })
		if i < 0 {
			return append(slices.Clone(path), k), allowed, true
		}
		if p, a, ok := unknownField(fields[i].typ, obj[k], append(slices.Clone(path), k)); ok {
			return p, a, true
		}
	}
	return nil, nil, false
}

func appendIndex(path []string, i int) []string {
	p := slices.Clone(path)
	if len(p) == 0 {
		return []string{fmt.Sprintf("[%d]", i)}
	}
	p[len(p)-1] += fmt.Sprintf("[%d]", i)
	return p
}

type jsonField struct {
	name  string
	typ   reflect.Type
	index []int
}

// jsonFields lists the JSON keys of a struct's exported fields.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonField{name: name, typ: f.Type, index: f.Index})
	}
	return out
}

// resourceFields finds which string fields of the provider's section name the
// resource, by setting each in turn and asking the section for its resource.
// That keeps the rule in one place: the section's Resource method.
func resourceFields(provider string, kind backup.Kind) []string {
	zero, err := backup.Request{Provider: provider, Section: json.RawMessage(`{}`)}.Typed(kind)
	if err != nil {
		return nil
	}
	var out []string
	var walk func(t reflect.Type, index [][]int, path []string)
	walk = func(t reflect.Type, index [][]int, path []string) {
		for _, f := range jsonFields(t) {
			p := append(slices.Clone(path), f.name)
			idx := append(slices.Clone(index), f.index)
			switch f.typ.Kind() {
			case reflect.Struct:
				walk(f.typ, idx, p)
			case reflect.String:
				probe := reflect.New(reflect.TypeOf(zero).Elem())
				v := probe.Elem()
				for _, i := range idx {
					v = v.FieldByIndex(i)
				}
				v.SetString("x")
				if probe.Interface().(backup.Section).Resource() != "" {
					out = append(out, provider+"."+strings.Join(p, "."))
				}
			}
		}
	}
	walk(reflect.TypeOf(zero).Elem(), nil, nil)
	return out
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map, reflect.Pointer:
		return "an object"
	}
	return t.String()
}

// position turns a byte offset into a 1-based line and column.
func position(b []byte, offset int64) (int, int) {
	offset = min(offset, int64(len(b)))
	before := b[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return line, col
}
