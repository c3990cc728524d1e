package alirds_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/alirds"
	"github.com/backupflow/backupflow/provider/providertest"
	"github.com/backupflow/backupflow/simulator/alirdssim"
)

const simDuration = 2 * time.Second

// simPageSize is the most backup sets a DescribeBackups page of the
// simulator holds: small, so that the driver must follow pages.
const simPageSize = 2

// startSim starts a simulator for one test.
func startSim(t *testing.T) *alirdssim.Server {
	t.Helper()
	s, err := alirdssim.Start(alirdssim.Options{Duration: simDuration, PageSize: simPageSize})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

func simConfig(s *alirdssim.Server) alirds.Config {
	return alirds.Config{
		Region:          alirdssim.Region,
		Endpoint:        s.Endpoint(),
		AccessKeyID:     alirdssim.AccessKeyID,
		AccessKeySecret: provider.Secret(alirdssim.AccessKeySecret),
		Insecure:        true,
		ConnectTimeout:  2 * time.Second,
		ReadTimeout:     5 * time.Second,
	}
}

func newDriver(t *testing.T, cfg alirds.Config) *alirds.Driver {
	t.Helper()
	d, err := alirds.New(cfg)
	require.NoError(t, err)
	return d
}

func section(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// create builds a create section from the request's own field names.
func create(fields map[string]any) json.RawMessage { return section(fields) }

// invalidCases lists every documented constraint of CreateBackup that needs only
// the request, each as a request that breaks it. Constraint table (document
// sentence -> case name; the engine- and instance-dependent sentences are
// tested against the simulator in preflight_test.go):
//
//	DBInstanceId "Required: Yes"                          -> "DBInstanceId missing", "DBInstanceId empty"
//	DBInstanceId is one instance (our rule)               -> "DBInstanceId is a list"
//	BackupMethod "Logical | Physical | Snapshot"          -> "BackupMethod unknown", "BackupMethod wrong case"
//	BackupType "Auto | FullBackup"                        -> "BackupType unknown"
//	BackupStrategy "db | instance"                        -> "BackupStrategy unknown"
//	BackupStrategy "only for MySQL logical or SQL Server
//	  full physical backups" (the fields part)            -> "BackupStrategy with Snapshot",
//	                                                         "BackupStrategy with Physical Auto",
//	                                                         "BackupStrategy with default method and type"
//	DBName "only for single-database backups"             -> "DBName without BackupStrategy",
//	                                                         "DBName with BackupStrategy instance",
//	                                                         "DBName with Snapshot"
//	single-database backup names its databases            -> "BackupStrategy db without DBName"
//	DBName "Separate multiple databases with commas"      -> "DBName empty entry", "DBName blank around comma",
//	                                                         "DBName trailing comma", "DBName duplicate"
//	strict decoding (house rule)                          -> "unknown field", "wrong type"
func invalidCases() []providertest.InvalidCase {
	id := alirdssim.MySQLInstanceID(1)
	c := func(name, fieldName string, fields map[string]any) providertest.InvalidCase {
		return providertest.InvalidCase{Name: name, Kind: backup.KindCreate, Section: create(fields), Field: "alirds" + fieldName}
	}
	return []providertest.InvalidCase{
		c("DBInstanceId missing", ".DBInstanceId", map[string]any{"BackupMethod": "Physical"}),
		c("DBInstanceId empty", ".DBInstanceId", map[string]any{"DBInstanceId": ""}),
		c("DBInstanceId is a list", ".DBInstanceId", map[string]any{"DBInstanceId": id + "," + alirdssim.MySQLInstanceID(2)}),
		c("BackupMethod unknown", ".BackupMethod", map[string]any{"DBInstanceId": id, "BackupMethod": "Incremental"}),
		c("BackupMethod wrong case", ".BackupMethod", map[string]any{"DBInstanceId": id, "BackupMethod": "physical"}),
		c("BackupType unknown", ".BackupType", map[string]any{"DBInstanceId": id, "BackupType": "IncrementalBackup"}),
		c("BackupStrategy unknown", ".BackupStrategy", map[string]any{"DBInstanceId": id, "BackupMethod": "Logical", "BackupStrategy": "database"}),
		c("BackupStrategy with Snapshot", ".BackupStrategy", map[string]any{"DBInstanceId": id, "BackupMethod": "Snapshot", "BackupStrategy": "instance"}),
		c("BackupStrategy with Physical Auto", ".BackupStrategy", map[string]any{"DBInstanceId": id, "BackupMethod": "Physical", "BackupType": "Auto", "BackupStrategy": "instance"}),
		c("BackupStrategy with default method and type", ".BackupStrategy", map[string]any{"DBInstanceId": id, "BackupStrategy": "instance"}),
		c("DBName without BackupStrategy", ".DBName", map[string]any{"DBInstanceId": id, "BackupMethod": "Logical", "DBName": "db01"}),
		c("DBName with BackupStrategy instance", ".DBName", map[string]any{"DBInstanceId": id, "BackupMethod": "Logical", "BackupStrategy": "instance", "DBName": "db01"}),
		c("DBName with Snapshot", ".DBName", map[string]any{"DBInstanceId": id, "BackupMethod": "Snapshot", "DBName": "db01"}),
		c("BackupStrategy db without DBName", ".DBName", map[string]any{"DBInstanceId": id, "BackupMethod": "Logical", "BackupStrategy": "db"}),
		c("DBName empty entry", ".DBName", map[string]any{"DBInstanceId": id, "BackupMethod": "Logical", "BackupStrategy": "db", "DBName": "db01,,db02"}),
		c("DBName blank around comma", ".DBName", map[string]any{"DBInstanceId": id, "BackupMethod": "Logical", "BackupStrategy": "db", "DBName": "db01, db02"}),
		c("DBName trailing comma", ".DBName", map[string]any{"DBInstanceId": id, "BackupMethod": "Logical", "BackupStrategy": "db", "DBName": "db01,"}),
		c("DBName duplicate", ".DBName", map[string]any{"DBInstanceId": id, "BackupMethod": "Logical", "BackupStrategy": "db", "DBName": "db01,db01"}),
		{Name: "unknown field", Kind: backup.KindCreate, Section: json.RawMessage(`{"DBInstanceId":"` + id + `","BackupMethd":"Physical"}`), Field: "alirds"},
		{Name: "wrong type", Kind: backup.KindCreate, Section: json.RawMessage(`{"DBInstanceId":"` + id + `","BackupType":1}`), Field: "alirds"},
	}
}

func TestConformance(t *testing.T) {
	providertest.Run(t, func(t *testing.T) providertest.Harness {
		s := startSim(t)
		return providertest.Harness{
			NewDriver: func(t *testing.T) provider.Driver { return newDriver(t, simConfig(s)) },
			NewDriverWithBadCredentials: func(t *testing.T) provider.Driver {
				cfg := simConfig(s)
				cfg.AccessKeyID = "LTAI5tNobodyKnowsThisKey"
				return newDriver(t, cfg)
			},
			Backend:                   s,
			Create:                    alirdssim.CreateSection,
			Duration:                  simDuration,
			Invalid:                   invalidCases(),
			ProofByCreateResponseOnly: alirds.ProofByCreateResponseOnly,
			PageSize:                  simPageSize,
			AddBackups:                s.AddBackups,
		}
	})
}
