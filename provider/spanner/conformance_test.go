package spanner_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/providertest"
	"github.com/backupflow/backupflow/provider/spanner"
	"github.com/backupflow/backupflow/simulator/spannersim"
)

// simDuration is how long a simulated backup runs; the suite advances the
// simulator's clock instead of waiting.
const simDuration = time.Minute

// simPageSize is the simulator's largest ListBackups page in the suite:
// small, so that List must follow pages.
const simPageSize = 2

func startSim(t *testing.T) *spannersim.Server {
	t.Helper()
	srv, err := spannersim.Start(spannersim.Options{Duration: simDuration, Token: spannersim.AccessToken, PageSize: simPageSize})
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	return srv
}

func newDriver(t *testing.T, srv *spannersim.Server, token string) *spanner.Driver {
	t.Helper()
	d, err := spanner.New(spanner.Config{Endpoint: srv.Endpoint(), Insecure: true, AccessToken: provider.Secret(token)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func TestConformance(t *testing.T) {
	providertest.Run(t, func(t *testing.T) providertest.Harness {
		srv := startSim(t)
		return providertest.Harness{
			NewDriver:                   func(t *testing.T) provider.Driver { return newDriver(t, srv, spannersim.AccessToken) },
			NewDriverWithBadCredentials: func(t *testing.T) provider.Driver { return newDriver(t, srv, "not-the-token") },
			Backend:                     srv,
			Duration:                    simDuration,
			Create:                      spannersim.CreateSection,
			Copy:                        spannersim.CopySection,
			Invalid:                     invalidCases(time.Now()),
			PageSize:                    simPageSize,
			AddBackups:                  srv.AddBackups,
		}
	})
}

// section helpers: a valid section as a map, mutated per case.

func validCreate(now time.Time) map[string]any {
	return map[string]any{
		"parent":   spannersim.Instance,
		"backupId": "nightly-1",
		"backup": map[string]any{
			"database":   spannersim.DatabaseName(1),
			"expireTime": now.Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339),
		},
	}
}

func validCopy(now time.Time) map[string]any {
	return map[string]any{
		"parent":       spannersim.CopyInstance,
		"backupId":     "nightly-1-copy",
		"sourceBackup": spannersim.Instance + "/backups/nightly-1",
		"expireTime":   now.Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339),
	}
}

func with(m map[string]any, path string, v any) map[string]any {
	keys := strings.Split(path, ".")
	cur := m
	for _, k := range keys[:len(keys)-1] {
		next, ok := cur[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[k] = next
		}
		cur = next
	}
	if v == nil {
		delete(cur, keys[len(keys)-1])
	} else {
		cur[keys[len(keys)-1]] = v
	}
	return m
}

func raw(m map[string]any) json.RawMessage {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

const (
	key1 = "projects/demo-project/locations/us-central1/keyRings/ring/cryptoKeys/key-1"
	key2 = "projects/demo-project/locations/us-east1/keyRings/ring/cryptoKeys/key-2"
)

// invalidCases lists every documented constraint of create (projects.instances.backups.create)
// and copy (projects.instances.backups.copy), each as a request that breaks it;
// docs/providers/spanner.md gives the sources. Constraint table
// (constraint, source -> case names):
//
//	create: parent required, form projects/<p>/instances/<i> (create)
//	    -> create/parent missing; create/parent malformed
//	create: backupId required (create)
//	    -> create/backupId missing
//	create: backupId 2-60 chars [a-z][a-z0-9_\-]*[a-z0-9] (Backup.name)
//	    -> create/backupId too short; too long; uppercase; starts with digit; ends with hyphen; bad character
//	create: backup.database required, form .../databases/<d>
//	    -> create/database missing; create/database malformed
//	create: database in the same instance as parent (create)
//	    -> create/database in another instance
//	create: expireTime required (Backup.expireTime: required for create)
//	    -> create/expireTime missing
//	create: expireTime is RFC 3339
//	    -> create/expireTime not RFC 3339
//	create: expireTime >= 6h after the request is processed
//	    -> create/expireTime under 6 hours
//	create: expireTime <= 366d after the request is processed
//	    -> create/expireTime over 366 days
//	create: versionTime is RFC 3339
//	    -> create/versionTime not RFC 3339
//	create: versionTime not in the future
//	    -> create/versionTime in the future
//	create: versionTime within version retention (at most 7 days)
//	    -> create/versionTime older than 7 days
//	create+copy: encryptionType required in encryptionConfig
//	    -> create/encryptionType missing; copy/encryptionType missing
//	create: encryptionType USE_DATABASE_ENCRYPTION | GOOGLE_DEFAULT_ENCRYPTION | CUSTOMER_MANAGED_ENCRYPTION (create)
//	    -> create/encryptionType unknown; unspecified; copy-only value
//	create+copy: CUSTOMER_MANAGED_ENCRYPTION requires kmsKeyName(s) (copy)
//	    -> create/cmek without key; copy/cmek without key
//	create+copy: keys only with CUSTOMER_MANAGED_ENCRYPTION (copy)
//	    -> create/key with google default; create/keys with database encryption; copy/key with config default
//	create+copy: not both kmsKeyName and kmsKeyNames
//	    -> create/kmsKeyName and kmsKeyNames; copy/kmsKeyName and kmsKeyNames
//	create+copy: key form projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k> (copy)
//	    -> create/kmsKeyName malformed; create/kmsKeyNames entry malformed; copy/kmsKeyName malformed
//	create: kmsKeyNames entries distinct
//	    -> create/kmsKeyNames duplicate
//	create+copy: no unknown fields
//	    -> create/unknown field; copy/unknown field
//	copy: parent required, form projects/<p>/instances/<i> (copy)
//	    -> copy/parent missing; copy/parent malformed
//	copy: backupId required, same ID rule (copy)
//	    -> copy/backupId missing; copy/backupId invalid
//	copy: sourceBackup required, form .../backups/<b> (copy)
//	    -> copy/sourceBackup missing; malformed; bad backup id
//	copy: the copy differs from its source
//	    -> copy/destination is the source
//	copy: expireTime required (copy)
//	    -> copy/expireTime missing
//	copy: expireTime is RFC 3339 (copy)
//	    -> copy/expireTime not RFC 3339
//	copy: expireTime <= 366d after source createTime (copy; source is never newer than now)
//	    -> copy/expireTime over 366 days from now
//	copy: encryptionType USE_CONFIG_DEFAULT_OR_BACKUP_ENCRYPTION | GOOGLE_DEFAULT_ENCRYPTION | CUSTOMER_MANAGED_ENCRYPTION (copy)
//	    -> copy/encryptionType create-only value; copy/encryptionType unknown
//	create+copy: the bounds hold for the value sent, whose sub-second part is the ownership marker
//	    -> TestExpireTimeBoundsHoldForTheValueSent (driver_test.go)
//	copy: expireTime >= 6h / <= 366d after the source's createTime, source READY (copy; remote)
//	    -> TestPreflightCopyChecksSource (driver_test.go)
//	create: database exists, READY, still holds versionTime (remote)
//	    -> TestPreflightCreateChecksDatabase (driver_test.go)
//	create: one pending backup creation per database (create; remote)
//	    -> TestOnePendingCreationPerDatabaseIsBusy (driver_test.go)
func invalidCases(now time.Time) []providertest.InvalidCase {
	type c = providertest.InvalidCase
	cr, cp := backup.KindCreate, backup.KindCopy
	day := 24 * time.Hour
	ts := func(d time.Duration) string { return now.Add(d).UTC().Format(time.RFC3339) }
	create := func(path string, v any) json.RawMessage { return raw(with(validCreate(now), path, v)) }
	copyS := func(path string, v any) json.RawMessage { return raw(with(validCopy(now), path, v)) }
	return []c{
		{Name: "create/unknown field", Kind: cr, Section: create("backup.expiryTime", ts(30*day)), Field: "spanner"},
		{Name: "create/parent missing", Kind: cr, Section: create("parent", nil), Field: "spanner.parent"},
		{Name: "create/parent malformed", Kind: cr, Section: create("parent", "projects/demo-project/demo-instance"), Field: "spanner.parent"},
		{Name: "create/backupId missing", Kind: cr, Section: create("backupId", nil), Field: "spanner.backupId"},
		{Name: "create/backupId too short", Kind: cr, Section: create("backupId", "a"), Field: "spanner.backupId"},
		{Name: "create/backupId too long", Kind: cr, Section: create("backupId", "a"+strings.Repeat("b", 60)), Field: "spanner.backupId"},
		{Name: "create/backupId uppercase", Kind: cr, Section: create("backupId", "Nightly-1"), Field: "spanner.backupId"},
		{Name: "create/backupId starts with digit", Kind: cr, Section: create("backupId", "1nightly"), Field: "spanner.backupId"},
		{Name: "create/backupId ends with hyphen", Kind: cr, Section: create("backupId", "nightly-"), Field: "spanner.backupId"},
		{Name: "create/backupId bad character", Kind: cr, Section: create("backupId", "nightly.1"), Field: "spanner.backupId"},
		{Name: "create/database missing", Kind: cr, Section: create("backup.database", nil), Field: "spanner.backup.database"},
		{Name: "create/database malformed", Kind: cr, Section: create("backup.database", spannersim.Instance+"/db-1"), Field: "spanner.backup.database"},
		{Name: "create/database in another instance", Kind: cr, Section: create("backup.database", spannersim.CopyInstance+"/databases/db-1"), Field: "spanner.backup.database"},
		{Name: "create/expireTime missing", Kind: cr, Section: create("backup.expireTime", nil), Field: "spanner.backup.expireTime"},
		{Name: "create/expireTime not RFC 3339", Kind: cr, Section: create("backup.expireTime", now.Add(30*day).Format(time.RFC1123)), Field: "spanner.backup.expireTime"},
		{Name: "create/expireTime under 6 hours", Kind: cr, Section: create("backup.expireTime", ts(6*time.Hour-time.Minute)), Field: "spanner.backup.expireTime"},
		{Name: "create/expireTime over 366 days", Kind: cr, Section: create("backup.expireTime", ts(366*day+time.Hour)), Field: "spanner.backup.expireTime"},
		{Name: "create/versionTime not RFC 3339", Kind: cr, Section: create("backup.versionTime", "yesterday"), Field: "spanner.backup.versionTime"},
		{Name: "create/versionTime in the future", Kind: cr, Section: create("backup.versionTime", ts(time.Hour)), Field: "spanner.backup.versionTime"},
		{Name: "create/versionTime older than 7 days", Kind: cr, Section: create("backup.versionTime", ts(-7*day-time.Hour)), Field: "spanner.backup.versionTime"},
		{Name: "create/encryptionType missing", Kind: cr, Section: create("encryptionConfig", map[string]any{"kmsKeyName": key1}), Field: "spanner.encryptionConfig.encryptionType"},
		{Name: "create/encryptionType unknown", Kind: cr, Section: create("encryptionConfig", map[string]any{"encryptionType": "ROT13"}), Field: "spanner.encryptionConfig.encryptionType"},
		{Name: "create/encryptionType unspecified", Kind: cr, Section: create("encryptionConfig", map[string]any{"encryptionType": "ENCRYPTION_TYPE_UNSPECIFIED"}), Field: "spanner.encryptionConfig.encryptionType"},
		{Name: "create/encryptionType copy-only value", Kind: cr, Section: create("encryptionConfig", map[string]any{"encryptionType": "USE_CONFIG_DEFAULT_OR_BACKUP_ENCRYPTION"}), Field: "spanner.encryptionConfig.encryptionType"},
		{Name: "create/cmek without key", Kind: cr, Section: create("encryptionConfig", map[string]any{"encryptionType": "CUSTOMER_MANAGED_ENCRYPTION"}), Field: "spanner.encryptionConfig.kmsKeyName"},
		{Name: "create/key with google default", Kind: cr, Section: create("encryptionConfig", map[string]any{"encryptionType": "GOOGLE_DEFAULT_ENCRYPTION", "kmsKeyName": key1}), Field: "spanner.encryptionConfig.kmsKeyName"},
		{Name: "create/keys with database encryption", Kind: cr, Section: create("encryptionConfig", map[string]any{"encryptionType": "USE_DATABASE_ENCRYPTION", "kmsKeyNames": []string{key1}}), Field: "spanner.encryptionConfig.kmsKeyNames"},
		{Name: "create/kmsKeyName and kmsKeyNames", Kind: cr, Section: create("encryptionConfig", map[string]any{"encryptionType": "CUSTOMER_MANAGED_ENCRYPTION", "kmsKeyName": key1, "kmsKeyNames": []string{key2}}), Field: "spanner.encryptionConfig.kmsKeyNames"},
		{Name: "create/kmsKeyName malformed", Kind: cr, Section: create("encryptionConfig", map[string]any{"encryptionType": "CUSTOMER_MANAGED_ENCRYPTION", "kmsKeyName": "projects/p/keyRings/r/cryptoKeys/k"}), Field: "spanner.encryptionConfig.kmsKeyName"},
		{Name: "create/kmsKeyNames entry malformed", Kind: cr, Section: create("encryptionConfig", map[string]any{"encryptionType": "CUSTOMER_MANAGED_ENCRYPTION", "kmsKeyNames": []string{key1, "key-2"}}), Field: "spanner.encryptionConfig.kmsKeyNames"},
		{Name: "create/kmsKeyNames duplicate", Kind: cr, Section: create("encryptionConfig", map[string]any{"encryptionType": "CUSTOMER_MANAGED_ENCRYPTION", "kmsKeyNames": []string{key1, key1}}), Field: "spanner.encryptionConfig.kmsKeyNames"},

		{Name: "copy/unknown field", Kind: cp, Section: copyS("backup", map[string]any{"database": spannersim.DatabaseName(1)}), Field: "spanner"},
		{Name: "copy/parent missing", Kind: cp, Section: copyS("parent", nil), Field: "spanner.parent"},
		{Name: "copy/parent malformed", Kind: cp, Section: copyS("parent", "copy-instance"), Field: "spanner.parent"},
		{Name: "copy/backupId missing", Kind: cp, Section: copyS("backupId", nil), Field: "spanner.backupId"},
		{Name: "copy/backupId invalid", Kind: cp, Section: copyS("backupId", "copy_"), Field: "spanner.backupId"},
		{Name: "copy/sourceBackup missing", Kind: cp, Section: copyS("sourceBackup", nil), Field: "spanner.sourceBackup"},
		{Name: "copy/sourceBackup malformed", Kind: cp, Section: copyS("sourceBackup", spannersim.Instance+"/databases/db-1"), Field: "spanner.sourceBackup"},
		{Name: "copy/sourceBackup bad backup id", Kind: cp, Section: copyS("sourceBackup", spannersim.Instance+"/backups/X"), Field: "spanner.sourceBackup"},
		{Name: "copy/destination is the source", Kind: cp, Section: raw(with(with(validCopy(now), "parent", spannersim.Instance), "backupId", "nightly-1")), Field: "spanner.backupId"},
		{Name: "copy/expireTime missing", Kind: cp, Section: copyS("expireTime", nil), Field: "spanner.expireTime"},
		{Name: "copy/expireTime not RFC 3339", Kind: cp, Section: copyS("expireTime", "2030-01-01"), Field: "spanner.expireTime"},
		{Name: "copy/expireTime over 366 days from now", Kind: cp, Section: copyS("expireTime", ts(367*day)), Field: "spanner.expireTime"},
		{Name: "copy/encryptionType missing", Kind: cp, Section: copyS("encryptionConfig", map[string]any{}), Field: "spanner.encryptionConfig.encryptionType"},
		{Name: "copy/encryptionType create-only value", Kind: cp, Section: copyS("encryptionConfig", map[string]any{"encryptionType": "USE_DATABASE_ENCRYPTION"}), Field: "spanner.encryptionConfig.encryptionType"},
		{Name: "copy/encryptionType unknown", Kind: cp, Section: copyS("encryptionConfig", map[string]any{"encryptionType": "customer_managed_encryption"}), Field: "spanner.encryptionConfig.encryptionType"},
		{Name: "copy/cmek without key", Kind: cp, Section: copyS("encryptionConfig", map[string]any{"encryptionType": "CUSTOMER_MANAGED_ENCRYPTION", "kmsKeyNames": []string{}}), Field: "spanner.encryptionConfig.kmsKeyName"},
		{Name: "copy/key with config default", Kind: cp, Section: copyS("encryptionConfig", map[string]any{"encryptionType": "USE_CONFIG_DEFAULT_OR_BACKUP_ENCRYPTION", "kmsKeyName": key1}), Field: "spanner.encryptionConfig.kmsKeyName"},
		{Name: "copy/kmsKeyName and kmsKeyNames", Kind: cp, Section: copyS("encryptionConfig", map[string]any{"encryptionType": "CUSTOMER_MANAGED_ENCRYPTION", "kmsKeyName": key1, "kmsKeyNames": []string{key2}}), Field: "spanner.encryptionConfig.kmsKeyNames"},
		{Name: "copy/kmsKeyName malformed", Kind: cp, Section: copyS("encryptionConfig", map[string]any{"encryptionType": "CUSTOMER_MANAGED_ENCRYPTION", "kmsKeyName": key1 + "/cryptoKeyVersions/1"}), Field: "spanner.encryptionConfig.kmsKeyName"},
	}
}
