package reliability

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/testenv"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/simulator/simkit"
)

// withoutKey returns the JSON object section without key (nil if section is
// not an object).
func withoutKey(section json.RawMessage, key string) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(section, &m) != nil {
		return nil
	}
	delete(m, key)
	out, _ := json.Marshal(m)
	return out
}

// representativeInvalid derives, from a cloud's valid create section, the
// first request that breaks a documented rule: the section with one of its
// fields left out, rejected by the driver as InvalidArgument naming a field.
func representativeInvalid(t *testing.T, d provider.Driver, c *simkit.Cloud) (json.RawMessage, string) {
	t.Helper()
	valid := c.CreateSection(7)
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(valid, &m))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		section := withoutKey(valid, k)
		_, err := d.Validate(backup.KindCreate, section, time.Now())
		var pe *provider.Error
		if errors.As(err, &pe) && pe.Class == provider.InvalidArgument && pe.Field != "" {
			return section, pe.Field
		}
	}
	t.Fatalf("%s: no field of the create section is required", c.Provider)
	return nil, ""
}

// TestInvalidRejectedBeforeAnyCall sends one representative invalid request
// per provider through the real path — a CreateBackup workflow on a real
// Temporal server, whose Validate activity calls the real driver — and
// requires a non-retryable InvalidArgument naming the field, after one
// attempt, with no call at the simulator. (The drivers' conformance tests
// hold every documented constraint per provider; this proves the activity
// path stops before any provider call.)
func TestInvalidRejectedBeforeAnyCall(t *testing.T) {
	t.Parallel()
	set := startClouds(t, simkit.Options{})
	e := testenv.Start(t, true)
	cfg := e.ConfigFromEnv(t, set.Env())
	e.StartWorker(t, cfg)
	ds := drivers(t, set, cfg)
	ctx := testenv.Context(t, 2*time.Minute)

	for _, c := range set {
		t.Run(c.Provider, func(t *testing.T) {
			section, field := representativeInvalid(t, ds[c.Provider], c)
			callsBefore := c.Simulator.Calls()
			input := json.RawMessage(fmt.Sprintf(`{"provider":%q,%q:%s}`, c.Provider, c.Provider, section))
			// Started the way `temporal workflow start --input` does: the
			// typed client would refuse a request that names no resource.
			run, err := e.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
				ID: "invalid-" + c.Provider, TaskQueue: backup.TaskQueue,
			}, backup.CreateBackupWorkflow, input)
			require.NoError(t, err)
			err = run.Get(ctx, nil)
			var app *temporal.ApplicationError
			require.True(t, errors.As(err, &app), "%v", err)
			assert.Equal(t, string(provider.InvalidArgument), app.Type())
			assert.True(t, app.NonRetryable())
			assert.Contains(t, app.Error(), field)
			var pe provider.Error
			require.NoError(t, app.Details(&pe))
			assert.Equal(t, field, pe.Field)

			h, err := history(ctx, e.Client, run.GetID(), run.GetRunID())
			require.NoError(t, err)
			// Started without search attributes: the Index local activity
			// sets them first, then one Validate attempt, and nothing beyond
			// but the emit of the backup-failed event.
			assert.Equal(t, []string{"Index", "Validate", "Emit"}, testenv.ActivityTypes(t, h), "no activity beyond them")
			assert.Equal(t, []int32{1, 1, 1}, testenv.Attempts(t, h), "one attempt each")
			assert.Equal(t, callsBefore, c.Simulator.Calls(), "no provider call")
			t.Logf("%s: rejected %s: %s", c.Provider, field, strings.TrimSpace(pe.Message))
		})
	}
}
