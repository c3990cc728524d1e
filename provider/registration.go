package provider

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/backupflow/backupflow/backup"
)

// Registration is how a driver package declares itself, once, in its
// register.go: the provider's name and how to build its driver from the
// environment. The worker's wiring builds the drivers named in
// BACKUPFLOW_PROVIDERS from these registrations, so a provider is known to
// a binary exactly when its driver package is linked into it.
type Registration struct {
	// Name is the request's "provider" value and the metrics label.
	Name string
	// New reads the driver's BACKUPFLOW_<NAME>_* variables from environment
	// (nil: the process environment) and builds the driver.
	New func(environment map[string]string) (Driver, error)
	// Variables lists every environment variable the driver reads.
	Variables []string
	// Validate is the driver's request validation: the documented rules,
	// needing neither configuration nor credentials. The driver's own
	// Validate method runs the same function.
	Validate ValidateFunc
}

// ValidateFunc decodes a provider's request section strictly and enforces
// every documented rule that needs no provider call (see Driver.Validate).
type ValidateFunc func(kind backup.Kind, section json.RawMessage, now time.Time) (Target, error)

var (
	registryMu    sync.Mutex
	registrations = map[string]Registration{}
)

// EnvPrefix is the prefix of every environment variable a provider's driver
// reads: BACKUPFLOW_SPANNER_ for "spanner".
func EnvPrefix(name string) string { return "BACKUPFLOW_" + strings.ToUpper(name) + "_" }

// Register declares a driver: name, newDriver built from a config struct C
// whose env tags must all start with EnvPrefix(name), and validate, its
// config-free request validation. It panics on a second registration of a
// name, a variable outside the prefix or a missing validate: all are
// programming errors a test run catches at start-up.
func Register[C any](name string, newDriver func(C) (Driver, error), validate ValidateFunc) {
	if validate == nil {
		panic(fmt.Sprintf("provider %q: no request validation registered", name))
	}
	vars := EnvVariables(reflect.TypeFor[C]())
	for _, v := range vars {
		if !strings.HasPrefix(v, EnvPrefix(name)) {
			panic(fmt.Sprintf("provider %q: variable %s is outside its prefix %s", name, v, EnvPrefix(name)))
		}
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registrations[name]; dup {
		panic(fmt.Sprintf("provider %q registered twice", name))
	}
	registrations[name] = Registration{
		Name:      name,
		Variables: vars,
		Validate:  validate,
		New: func(environment map[string]string) (Driver, error) {
			cfg, err := ParseEnv[C](environment)
			if err != nil {
				return nil, err
			}
			return newDriver(cfg)
		},
	}
}

// Registered lists the registered providers, sorted by name.
func Registered() []Registration {
	registryMu.Lock()
	defer registryMu.Unlock()
	out := make([]Registration, 0, len(registrations))
	for _, r := range registrations {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup returns the registration of a provider.
func Lookup(name string) (Registration, bool) {
	registryMu.Lock()
	defer registryMu.Unlock()
	r, ok := registrations[name]
	return r, ok
}

// ValidateRequest checks a request section with the documented rules of the
// named provider's driver, without configuration, credentials or any provider
// call: what a CLI can tell an operator before anything runs. An unknown
// provider is InvalidArgument on "provider", listing the registered ones.
func ValidateRequest(name string, kind backup.Kind, section json.RawMessage, now time.Time) (Target, error) {
	r, ok := Lookup(name)
	if !ok {
		var names []string
		for _, r := range Registered() {
			names = append(names, r.Name)
		}
		return Target{}, Invalid("provider", "unknown provider %q; registered: %s", name, strings.Join(names, ", "))
	}
	return r.Validate(kind, section, now)
}

// ParseEnv reads a config struct from environment (nil: the process
// environment) with caarlos0/env. Its errors name the variables an operator
// sets, with their values, instead of the struct's field names.
func ParseEnv[C any](environment map[string]string) (C, error) {
	var opts env.Options
	if environment != nil {
		opts.Environment = environment
	}
	cfg, err := env.ParseAsWithOptions[C](opts)
	if err != nil {
		return cfg, nameVariables[C](err, environment)
	}
	return cfg, nil
}

// nameVariables rewrites env/v11's parse errors, which name struct fields,
// to name the environment variables an operator actually sets.
func nameVariables[C any](err error, environment map[string]string) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return err
	}
	lookup := os.LookupEnv
	if environment != nil {
		lookup = func(k string) (string, bool) { v, ok := environment[k]; return v, ok }
	}
	keys := map[string][]string{} // field name -> env keys
	collectEnvKeys(reflect.TypeFor[C](), keys)
	var out []error
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) {
			var set []string
			for _, k := range keys[pe.Name] {
				if v, ok := lookup(k); ok {
					set = append(set, fmt.Sprintf("%s=%q", k, v))
				}
			}
			if len(set) > 0 {
				out = append(out, fmt.Errorf("%s: not a valid %s: %v", strings.Join(set, ", "), pe.Type, pe.Err))
				continue
			}
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

// EnvVariables lists, sorted, the environment variables a config struct reads.
func EnvVariables(t reflect.Type) []string {
	keys := map[string][]string{}
	collectEnvKeys(t, keys)
	var vars []string
	for _, ks := range keys {
		vars = append(vars, ks...)
	}
	sort.Strings(vars)
	return vars
}

func collectEnvKeys(t reflect.Type, keys map[string][]string) {
	for f := range t.Fields() {
		tag := f.Tag.Get("env")
		if f.Type.Kind() == reflect.Struct && tag == "" {
			collectEnvKeys(f.Type, keys)
			continue
		}
		if name := strings.Split(tag, ",")[0]; name != "" && name != "-" {
			keys[f.Name] = append(keys[f.Name], name)
		}
	}
}
