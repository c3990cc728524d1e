package validatefuzz

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/clouds"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/simulator/simkit"
	"github.com/backupflow/backupflow/wiring"
)

// fuzzState is what FuzzValidate sets up once: every cloud's driver, built
// from its environment the way a worker builds it.
type fuzzState struct {
	set     clouds.Set
	drivers []provider.Driver
}

// fuzzDrivers starts the clouds (for their environments and seed sections)
// and builds the drivers; Validate itself makes no call.
func fuzzDrivers(tb testing.TB) fuzzState {
	tb.Helper()
	set, err := clouds.Start(simkit.Options{})
	require.NoError(tb, err)
	tb.Cleanup(set.Close)
	cfg, err := wiring.ParseConfig(set.Env())
	require.NoError(tb, err)
	reg, err := wiring.NewRegistry(cfg, nil)
	require.NoError(tb, err)
	st := fuzzState{set: set}
	for _, name := range clouds.Providers() {
		d, err := reg.Driver(name)
		require.NoError(tb, err)
		st.drivers = append(st.drivers, d)
	}
	return st
}

// checkRejection fails unless err is a request rejection: a *provider.Error
// of class InvalidArgument or Unsupported, naming a field, not retryable.
func checkRejection(t *testing.T, what string, err error) {
	t.Helper()
	var pe *provider.Error
	if !errors.As(err, &pe) {
		t.Fatalf("%s: rejection is %T, not *provider.Error: %v", what, err, err)
	}
	if pe.Class != provider.InvalidArgument && pe.Class != provider.Unsupported {
		t.Fatalf("%s: rejection class %s, want InvalidArgument or Unsupported: %v", what, pe.Class, err)
	}
	if pe.Field == "" {
		t.Fatalf("%s: rejection names no field: %v", what, err)
	}
	if pe.Class.Retryable() {
		t.Fatalf("%s: rejection class %s is retryable", what, pe.Class)
	}
}

// FuzzValidate feeds arbitrary section bytes to every provider's validator,
// as a create and as a copy: no panic, and every rejection is an
// InvalidArgument or Unsupported *provider.Error naming a field. The seed
// corpus is every cloud's valid create and copy sections.
func FuzzValidate(f *testing.F) {
	st := fuzzDrivers(f)
	for _, c := range st.set {
		for seed := range 3 {
			f.Add(false, []byte(c.CreateSection(seed)))
			if c.CopySection != nil {
				f.Add(true, []byte(c.CopySection(seed, fmt.Sprintf("bk-%d", seed))))
			}
		}
	}
	f.Add(false, []byte(`{}`))
	f.Add(true, []byte(`null`))
	now := time.Now()
	f.Fuzz(func(t *testing.T, isCopy bool, section []byte) {
		kind := backup.KindCreate
		if isCopy {
			kind = backup.KindCopy
		}
		for _, d := range st.drivers {
			what := fmt.Sprintf("%s %s %q", d.Name(), kind, section)
			target, err := d.Validate(kind, json.RawMessage(section), now)
			if err == nil {
				if target.Resource == "" {
					t.Fatalf("%s: accepted, but names no resource", what)
				}
				if kind == backup.KindCopy && !d.SupportsCopy() {
					t.Fatalf("%s: a copy accepted by a provider without copy", what)
				}
				continue
			}
			checkRejection(t, what, err)
		}
	})
}
