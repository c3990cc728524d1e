package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/strictparse"
)

// FileVersion is the plan file format this package reads.
const FileVersion = 1

// File is a plan file: the plans one `backupflow plan apply` manages.
type File struct {
	// Version is the file format, FileVersion.
	Version int `json:"version"`
	// Plans are the plans, each with a name unique in the file.
	Plans []Plan `json:"plans"`
}

// PathError is a plan file that does not decode: Path names the place in
// the file ("plans[0].retention.keepLastt"), Problem what is wrong there.
type PathError struct {
	Path    string
	Problem string
}

func (e *PathError) Error() string {
	if e.Path == "" {
		return e.Problem
	}
	return e.Path + ": " + e.Problem
}

// Parse reads a plan file written in YAML or JSON. It decodes strictly: an
// unknown field anywhere (a typo such as keepLastt) is an error naming its
// path, and every such error is reported at once (errors.Join of
// *PathError). Parse checks the format only; Validate checks the rules.
func Parse(data []byte) (File, error) {
	// YAML is a superset of JSON, so one conversion reads both.
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return File{}, &PathError{Problem: "not valid YAML or JSON: " + strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")}
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(js, &top); err != nil || top == nil {
		return File{}, &PathError{Problem: "a plan file is a mapping with version and plans"}
	}
	if err := checkVersion(top["version"]); err != nil {
		return File{}, err
	}
	var f File
	if errs := decodeStrict("", js, reflect.ValueOf(&f).Elem()); len(errs) > 0 {
		return File{}, errors.Join(errs...)
	}
	return f, nil
}

// checkVersion runs before the rest is decoded: a newer format may give
// fields meanings this version does not know, so nothing else is reported.
func checkVersion(raw json.RawMessage) error {
	if raw == nil {
		return &PathError{Path: "version", Problem: fmt.Sprintf("is required; this backupflow reads version %d", FileVersion)}
	}
	var v int
	if err := json.Unmarshal(raw, &v); err != nil || v != FileVersion {
		return &PathError{Path: "version", Problem: fmt.Sprintf("%s is not supported; this backupflow reads version %d", raw, FileVersion)}
	}
	return nil
}

var (
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	requestType     = reflect.TypeFor[backup.Request]()
)

// decodeStrict decodes raw into v, matching JSON keys to json tags exactly,
// and returns every problem with its path. Types with their own
// UnmarshalJSON (Duration, backup.Request, time.Time) decode themselves;
// a request's unknown top-level keys are reported here too.
func decodeStrict(path string, raw json.RawMessage, v reflect.Value) []error {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil
	}
	if v.Type() == requestType {
		return decodeRequest(path, raw, v)
	}
	if reflect.PointerTo(v.Type()).Implements(unmarshalerType) {
		if err := json.Unmarshal(raw, v.Addr().Interface()); err != nil {
			return []error{&PathError{Path: path, Problem: describe(err, v.Type())}}
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		return decodeStrict(path, raw, v.Elem())
	case reflect.Struct:
		return decodeObject(path, raw, v)
	case reflect.Slice:
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return []error{&PathError{Path: path, Problem: "must be a list, got " + strictparse.Kind(raw)}}
		}
		v.Set(reflect.MakeSlice(v.Type(), len(items), len(items)))
		var errs []error
		for i, item := range items {
			errs = append(errs, decodeStrict(path+"["+strconv.Itoa(i)+"]", item, v.Index(i))...)
		}
		return errs
	}
	if err := json.Unmarshal(raw, v.Addr().Interface()); err != nil {
		return []error{&PathError{Path: path, Problem: describe(err, v.Type())}}
	}
	return nil
}

func decodeObject(path string, raw json.RawMessage, v reflect.Value) []error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return []error{&PathError{Path: path, Problem: "must be a mapping, got " + strictparse.Kind(raw)}}
	}
	fields := map[string]int{}
	for i := range v.NumField() {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			fields[name] = i
		}
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var errs []error
	for _, k := range keys {
		i, ok := fields[k]
		if !ok {
			errs = append(errs, &PathError{Path: join(path, k), Problem: "unknown field" + strictparse.Suggest(k, slices.Collect(maps.Keys(fields)))})
			continue
		}
		errs = append(errs, decodeStrict(join(path, k), obj[k], v.Field(i))...)
	}
	return errs
}

// decodeRequest reads a backup.Request, which keeps unknown keys instead
// of refusing them (a workflow must always decode its input): here they
// are errors, as typos anywhere else are.
func decodeRequest(path string, raw json.RawMessage, v reflect.Value) []error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return []error{&PathError{Path: path, Problem: "must be a mapping with provider and the provider's section, got " + strictparse.Kind(raw)}}
	}
	var provider string
	if p, ok := obj["provider"]; ok && json.Unmarshal(p, &provider) != nil {
		return []error{&PathError{Path: join(path, "provider"), Problem: "must be a string, got " + strictparse.Kind(p)}}
	}
	var r backup.Request
	if err := json.Unmarshal(raw, &r); err != nil {
		return []error{&PathError{Path: path, Problem: err.Error()}}
	}
	v.Set(reflect.ValueOf(r))
	var errs []error
	for _, k := range r.UnknownFields() {
		problem := "unknown field; a request holds \"provider\" and the provider's section"
		if r.Provider != "" {
			problem += fmt.Sprintf(" (%q)", r.Provider)
		}
		errs = append(errs, &PathError{Path: join(path, k), Problem: problem})
	}
	return errs
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// describe turns a decoding error into a problem without Go type names.
func describe(err error, t reflect.Type) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		want := map[reflect.Kind]string{
			reflect.String: "a string", reflect.Bool: "true or false",
			reflect.Int: "a whole number", reflect.Int64: "a whole number",
		}[t.Kind()]
		if want == "" {
			want = "a " + t.Name()
		}
		return fmt.Sprintf("must be %s, got %s", want, typeErr.Value)
	}
	return err.Error()
}
