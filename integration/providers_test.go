package integration

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/clouds"
	"github.com/backupflow/backupflow/internal/testenv"
	"github.com/backupflow/backupflow/simulator/simkit"
)

// TestEveryProviderEndToEnd runs CreateBackup (and CopyBackup where the
// provider has it) through the official SDK against each simulator, on a real
// Temporal server, with cancellation by signal and by Temporal cancel.
func TestEveryProviderEndToEnd(t *testing.T) {
	set, err := clouds.Start(simkit.Options{Duration: 3 * time.Second})
	require.NoError(t, err)
	t.Cleanup(set.Close)
	e := testenv.Start(t, true)
	e.StartWorker(t, e.ConfigFromEnv(t, set.Env()))
	bc := e.BackupClient()

	for _, cloud := range set {
		t.Run(cloud.Provider, func(t *testing.T) {
			sim := cloud.Simulator
			request := func(seed int) backup.Request {
				return backup.Request{Provider: cloud.Provider, Section: cloud.CreateSection(seed)}
			}

			t.Run("create", func(t *testing.T) {
				ctx := testenv.Context(t, 2*time.Minute)
				before := sim.Inventory()
				h, err := bc.StartCreate(ctx, request(1))
				require.NoError(t, err)
				res, err := h.Result(ctx)
				require.NoError(t, err)
				assert.Equal(t, cloud.Provider, res.Provider)
				assert.NotEmpty(t, res.Backup.ID)
				assert.NotEmpty(t, res.Backup.Record, "the provider's final record")
				after := sim.Inventory()
				assert.Len(t, after, len(before)+1, "exactly one new backup")
				e.RecordHistory(t, "create-"+cloud.Provider+"-success", h.WorkflowID, h.RunID)

				if cloud.CopySection == nil {
					return
				}
				created := slices.DeleteFunc(after, func(id string) bool { return slices.Contains(before, id) })
				require.Len(t, created, 1)
				ch, err := bc.StartCopy(ctx, backup.Request{Provider: cloud.Provider, Section: cloud.CopySection(2, created[0])})
				require.NoError(t, err)
				cres, err := ch.Result(ctx)
				require.NoError(t, err)
				assert.NotEqual(t, res.Backup.ID, cres.Backup.ID)
				assert.Len(t, sim.Inventory(), len(before)+2)
				e.RecordHistory(t, "copy-"+cloud.Provider+"-success", ch.WorkflowID, ch.RunID)
			})

			t.Run("invalid request fails before any call", func(t *testing.T) {
				ctx := testenv.Context(t, time.Minute)
				calls := sim.Calls()
				var section map[string]any
				require.NoError(t, json.Unmarshal(cloud.CreateSection(20), &section))
				section["notAField"] = true
				raw, err := json.Marshal(section)
				require.NoError(t, err)
				_, err = bc.StartCreate(ctx, backup.Request{Provider: cloud.Provider, Section: raw})
				require.Error(t, err, "the typed client refuses it before starting")
				// Started anyway, as the Temporal CLI would:
				run, err := e.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: backup.TaskQueue}, backup.CreateBackupWorkflow,
					backup.Request{Provider: cloud.Provider, Section: raw})
				require.NoError(t, err)
				var app *temporal.ApplicationError
				require.True(t, errors.As(run.Get(ctx, nil), &app))
				assert.Equal(t, "InvalidArgument", app.Type())
				assert.Contains(t, app.Error(), "notAField")
				assert.Equal(t, calls, sim.Calls(), "no provider call")
				e.RecordHistory(t, "create-"+cloud.Provider+"-invalid", run.GetID(), run.GetRunID())
			})

			for i, how := range []string{"signal", "temporal"} {
				t.Run("cancel by "+how, func(t *testing.T) {
					ctx := testenv.Context(t, 2*time.Minute)
					before := sim.Inventory()
					h, err := bc.StartCreate(ctx, request(10+i))
					require.NoError(t, err)
					waitRunning(t, h)
					if how == "signal" {
						require.NoError(t, h.Cancel(ctx, "test"))
					} else {
						require.NoError(t, e.Client.CancelWorkflow(ctx, h.WorkflowID, h.RunID))
					}
					_, err = h.Result(ctx)
					var canceled *temporal.CanceledError
					require.True(t, errors.As(err, &canceled), "%v", err)
					report, ok := backup.CleanupOf(err)
					require.True(t, ok)
					assert.True(t, report.Created, "%+v", report)
					assert.ElementsMatch(t, before, sim.Inventory(), "no backup left behind: %+v", report)
					e.RecordHistory(t, fmt.Sprintf("create-%s-cancel-%s", cloud.Provider, how), h.WorkflowID, h.RunID)
				})
			}
		})
	}
}
