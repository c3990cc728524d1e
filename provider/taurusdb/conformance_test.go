package taurusdb_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/providertest"
	"github.com/backupflow/backupflow/provider/taurusdb"
	"github.com/backupflow/backupflow/simulator/huaweicloudsim/huaweiclient"
	"github.com/backupflow/backupflow/simulator/taurusdbsim"
)

var startSim = huaweiclient.Starter(taurusdbsim.Start)

// simPageSize is the most backups a backup-list page of the simulator holds
// in the suite: small, so that the driver must follow pages.
const simPageSize = 2

func newDriver(t *testing.T, s *taurusdbsim.Server, secret string) *taurusdb.Driver {
	t.Helper()
	d, err := taurusdb.New(taurusdb.Config{
		Endpoint:    s.Endpoint(),
		Insecure:    true,
		ProjectID:   taurusdbsim.ProjectID,
		AccessKey:   taurusdbsim.AccessKey,
		SecretKey:   provider.Secret(secret),
		CallTimeout: 10 * time.Second,
	})
	require.NoError(t, err)
	return d
}

// section returns a valid create section with some fields replaced (a nil
// value removes the field).
func section(changes map[string]any) json.RawMessage {
	return huaweiclient.Section(map[string]any{
		"instance_id": taurusdbsim.InstanceID(0),
		"name":        "nightly-backup_01",
		"description": "Manual backup",
		"X-Language":  "en-us",
	}, changes)
}

// invalidCases lists every documented constraint of the create API (TaurusDB
// POST /v3/{project_id}/backups/create), one request breaking each: the name
// and description rules the family shares (huaweiclient.NameAndDescriptionCases
// lists them) and:
//
//	documented constraint                             -> case name(s)
//	instance_id mandatory                             -> instance_id missing
//	instance_id: 36 characters                        -> instance_id 35 chars, instance_id 37 chars
//	instance_id: only letters and digits              -> instance_id non-alphanumeric
//	instance_id: suffix in07                          -> instance_id wrong suffix
//	X-Language: en-us or zh-cn                        -> X-Language other value, X-Language wrong case
//	(request shape) unknown fields are errors         -> unknown field
//	(request shape) field types                       -> name not a string
func invalidCases() []providertest.InvalidCase {
	c := func(n string, changes map[string]any, field string) providertest.InvalidCase {
		return providertest.InvalidCase{Name: n, Kind: backup.KindCreate, Section: section(changes), Field: field}
	}
	return append(huaweiclient.NameAndDescriptionCases("taurusdb", section),
		c("instance_id missing", map[string]any{"instance_id": nil}, "taurusdb.instance_id"),
		c("instance_id 35 chars", map[string]any{"instance_id": taurusdbsim.InstanceID(0)[1:]}, "taurusdb.instance_id"),
		c("instance_id 37 chars", map[string]any{"instance_id": "a" + taurusdbsim.InstanceID(0)}, "taurusdb.instance_id"),
		c("instance_id non-alphanumeric", map[string]any{"instance_id": "07033b12-fd94a8a96896f8bcfee6ddain07"}, "taurusdb.instance_id"),
		c("instance_id wrong suffix", map[string]any{"instance_id": "07033b125fd94a8a96896f8bcfee6ddain01"}, "taurusdb.instance_id"),
		c("X-Language other value", map[string]any{"X-Language": "de-de"}, "taurusdb.X-Language"),
		c("X-Language wrong case", map[string]any{"X-Language": "EN-US"}, "taurusdb.X-Language"),
		providertest.InvalidCase{Name: "unknown field", Kind: backup.KindCreate, Section: json.RawMessage(`{"instance_id":"` + taurusdbsim.InstanceID(0) + `","name":"nightly","nmae":"x"}`), Field: "taurusdb"},
		providertest.InvalidCase{Name: "name not a string", Kind: backup.KindCreate, Section: json.RawMessage(`{"instance_id":"` + taurusdbsim.InstanceID(0) + `","name":5}`), Field: "taurusdb"},
	)
}

func TestConformance(t *testing.T) {
	providertest.Run(t, func(t *testing.T) providertest.Harness {
		s := startSim(t, taurusdbsim.Options{PageSize: simPageSize})
		return providertest.Harness{
			NewDriver:                   func(t *testing.T) provider.Driver { return newDriver(t, s, taurusdbsim.SecretKey) },
			NewDriverWithBadCredentials: func(t *testing.T) provider.Driver { return newDriver(t, s, "not-the-secret-key") },
			Backend:                     s,
			Create:                      taurusdbsim.CreateSection,
			Duration:                    s.Options().Duration,
			Invalid:                     invalidCases(),
			PageSize:                    simPageSize,
			AddBackups:                  s.AddBackups,
		}
	})
}
