package otcrds_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/otcrds"
	"github.com/backupflow/backupflow/provider/providertest"
	"github.com/backupflow/backupflow/simulator/huaweicloudsim/huaweiclient"
	"github.com/backupflow/backupflow/simulator/otcrdssim"
)

var startSim = huaweiclient.Starter(otcrdssim.Start)

// simPageSize is the most backups a ListBackups page of the simulator holds
// in the suite: small, so that the driver must follow pages.
const simPageSize = 2

func tokenConfig(s *otcrdssim.Server, password string) otcrds.Config {
	return otcrds.Config{
		Endpoint: s.Endpoint(), Insecure: true, ProjectID: otcrdssim.ProjectID, Auth: otcrds.AuthToken,
		IAMEndpoint: s.IAMEndpoint(), Username: otcrdssim.Username, Password: provider.Secret(password), Domain: otcrdssim.Domain,
		CallTimeout: 10 * time.Second,
	}
}

func akskConfig(s *otcrdssim.Server, secret string) otcrds.Config {
	return otcrds.Config{
		Endpoint: s.Endpoint(), Insecure: true, ProjectID: otcrdssim.ProjectID, Auth: otcrds.AuthAKSK,
		AccessKey: otcrdssim.AccessKey, SecretKey: provider.Secret(secret), CallTimeout: 10 * time.Second,
	}
}

func newDriver(t *testing.T, cfg otcrds.Config) *otcrds.Driver {
	t.Helper()
	d, err := otcrds.New(cfg)
	require.NoError(t, err)
	return d
}

// section returns a valid create section with some fields replaced (a nil
// value removes the field).
func section(changes map[string]any) json.RawMessage {
	return huaweiclient.Section(map[string]any{
		"instance_id": otcrdssim.InstanceID(0),
		"name":        "nightly-backup_01",
		"description": "manual backup",
	}, changes)
}

// invalidCases lists every documented constraint of OTC RDS v3
// POST /v3/{project_id}/backups) that can be checked without a provider
// call, one request breaking each: the name and description rules the
// family shares (huaweiclient.NameAndDescriptionCases lists them) and:
//
//	documented constraint                              -> case name(s)
//	instance_id mandatory                              -> instance_id missing, instance_id empty
//	(OTC documents no instance ID format: an unknown ID is the provider's NotFound, TestUnknownInstanceIsProvidersNotFound)
//	databases[].name mandatory                         -> database name missing, database name empty
//	(request shape) unknown fields are errors          -> unknown field, unknown database field
//
// Checked in Preflight, because they need the instance (ListInstances), with
// explicit tests in driver_test.go:
//
//	read replicas do not support manual backups        -> TestPreflightRefusesReadReplica
//	databases only for Microsoft SQL Server            -> TestPreflightRefusesDatabasesOnNonSQLServer
//	the backup name must be unique (in the project)    -> TestSameNameNotOursIsAlreadyExists, TestSameNameOnAnotherInstance
func invalidCases() []providertest.InvalidCase {
	c := func(n string, changes map[string]any, field string) providertest.InvalidCase {
		return providertest.InvalidCase{Name: n, Kind: backup.KindCreate, Section: section(changes), Field: field}
	}
	raw := func(n, js, field string) providertest.InvalidCase {
		return providertest.InvalidCase{Name: n, Kind: backup.KindCreate, Section: json.RawMessage(js), Field: field}
	}
	id := otcrdssim.InstanceID(0)
	return append(huaweiclient.NameAndDescriptionCases("otcrds", section),
		c("instance_id missing", map[string]any{"instance_id": nil}, "otcrds.instance_id"),
		c("instance_id empty", map[string]any{"instance_id": ""}, "otcrds.instance_id"),
		c("database name missing", map[string]any{"databases": []map[string]string{{"name": "sales"}, {}}}, "otcrds.databases[1].name"),
		c("database name empty", map[string]any{"databases": []map[string]string{{"name": ""}}}, "otcrds.databases[0].name"),
		raw("unknown field", `{"instance_id":"`+id+`","name":"nightly","backup_database_individually":true}`, "otcrds"),
		raw("unknown database field", `{"instance_id":"`+id+`","name":"nightly","databases":[{"name":"a","size":1}]}`, "otcrds"),
	)
}

func TestConformanceToken(t *testing.T) {
	conformance(t, tokenConfig, otcrdssim.Password, "wrong-password")
}

func TestConformanceAKSK(t *testing.T) {
	conformance(t, akskConfig, otcrdssim.SecretKey, "wrong-secret")
}

// conformance runs the suite with drivers configured by config, with a good
// and a bad credential.
func conformance(t *testing.T, config func(*otcrdssim.Server, string) otcrds.Config, good, bad string) {
	providertest.Run(t, func(t *testing.T) providertest.Harness {
		s := startSim(t, otcrdssim.Options{PageSize: simPageSize})
		return providertest.Harness{
			NewDriver:                   func(t *testing.T) provider.Driver { return newDriver(t, config(s, good)) },
			NewDriverWithBadCredentials: func(t *testing.T) provider.Driver { return newDriver(t, config(s, bad)) },
			Backend:                     s,
			Create:                      otcrdssim.CreateSection,
			Duration:                    s.Options().Duration,
			Invalid:                     invalidCases(),
			// OTC's backup list returns no description: the marker cannot be read back.
			ProofByCreateResponseOnly: true,
			PageSize:                  simPageSize,
			AddBackups:                s.AddBackups,
		}
	})
}
