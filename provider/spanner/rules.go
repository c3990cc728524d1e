package spanner

import (
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"cloud.google.com/go/spanner/admin/database/apiv1/databasepb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
)

// The request constraints Spanner documents, each enforced before any call
// that would break it (docs/providers/spanner.md, "Request constraints the
// driver enforces"): parse checks the section's formats, checkTimes the
// clock-relative bounds, Preflight (driver.go) what needs the database or the
// source backup.
//
// Documented bounds:
const (
	// MinExpiry and MaxExpiry bound expireTime: after the request is processed
	// (create) or after the source's createTime (copy).
	MinExpiry = 6 * time.Hour
	MaxExpiry = 366 * 24 * time.Hour
	// MaxVersionAge bounds how far back versionTime may go. Spanner keeps old
	// versions for the database's version_retention_period, which is at most
	// 7 days (default 1 hour); 7 days is the only bound that holds for every
	// database without a remote call. Preflight then checks the database's own
	// earliestVersionTime.
	MaxVersionAge = 7 * 24 * time.Hour
)

var (
	segment    = `[^/\s]+`
	instanceRe = regexp.MustCompile(`^projects/` + segment + `/instances/` + segment + `$`)
	databaseRe = regexp.MustCompile(`^(projects/` + segment + `/instances/` + segment + `)/databases/` + segment + `$`)
	backupRe   = regexp.MustCompile(`^(projects/` + segment + `/instances/` + segment + `)/backups/(` + segment + `)$`)
	kmsKeyRe   = regexp.MustCompile(`^projects/` + segment + `/locations/` + segment + `/keyRings/` + segment + `/cryptoKeys/` + segment + `$`)
	backupIDRe = regexp.MustCompile(`^[a-z][a-z0-9_\-]*[a-z0-9]$`)
)

// spec is a decoded, format-checked section: everything Start needs.
type spec struct {
	kind        backup.Kind
	parent      string
	backupID    string
	backupName  string // parent/backups/backupID
	database    string // create
	source      string // copy
	expireTime  time.Time
	versionTime *time.Time
	createEnc   *databasepb.CreateBackupEncryptionConfig
	copyEnc     *databasepb.CopyBackupEncryptionConfig
}

func field(path string) string { return backup.ProviderSpanner + "." + path }

func validBackupID(id string) bool {
	return len(id) >= 2 && len(id) <= 60 && backupIDRe.MatchString(id)
}

const backupIDRule = "must be 2-60 characters matching [a-z][a-z0-9_\\-]*[a-z0-9] (a lowercase letter first, lowercase letters, digits, '_' or '-' inside, no '_' or '-' last)"

func checkParent(parent, what string) error {
	switch {
	case parent == "":
		return provider.Invalid(field("parent"), "is required: the %s, projects/<project>/instances/<instance>", what)
	case !instanceRe.MatchString(parent):
		return provider.Invalid(field("parent"), "must be of the form projects/<project>/instances/<instance>, got %q", parent)
	}
	return nil
}

func checkBackupID(id string) error {
	if id == "" {
		return provider.Invalid(field("backupId"), "is required: %s", backupIDRule)
	}
	if !validBackupID(id) {
		return provider.Invalid(field("backupId"), "%s; got %q", backupIDRule, id)
	}
	return nil
}

// parseTime parses an RFC 3339 timestamp field.
func parseTime(path, value string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, value)
	if err != nil {
		return time.Time{}, provider.Invalid(field(path), "must be an RFC 3339 timestamp such as 2014-10-02T15:01:23Z, got %q", value)
	}
	return t, nil
}

// parse decodes a section strictly and checks every rule that needs no clock.
func parse(kind backup.Kind, section json.RawMessage) (spec, error) {
	switch kind {
	case backup.KindCreate:
		var c backup.SpannerCreate
		if err := backup.DecodeStrict(section, &c); err != nil {
			return spec{}, provider.Invalid(backup.ProviderSpanner, "%v", err)
		}
		return parseCreate(c)
	case backup.KindCopy:
		var c backup.SpannerCopy
		if err := backup.DecodeStrict(section, &c); err != nil {
			return spec{}, provider.Invalid(backup.ProviderSpanner, "%v", err)
		}
		return parseCopy(c)
	}
	return spec{}, provider.Invalid("kind", "unknown kind %q: spanner supports create and copy", kind)
}

func parseCreate(c backup.SpannerCreate) (spec, error) {
	s := spec{kind: backup.KindCreate, parent: c.Parent, backupID: c.BackupID, database: c.Backup.Database}
	if err := checkParent(c.Parent, "instance in which the backup is created"); err != nil {
		return s, err
	}
	if err := checkBackupID(c.BackupID); err != nil {
		return s, err
	}
	s.backupName = c.Parent + "/backups/" + c.BackupID
	db := c.Backup.Database
	if db == "" {
		return s, provider.Invalid(field("backup.database"), "is required: projects/<project>/instances/<instance>/databases/<database>")
	}
	m := databaseRe.FindStringSubmatch(db)
	if m == nil {
		return s, provider.Invalid(field("backup.database"), "must be of the form projects/<project>/instances/<instance>/databases/<database>, got %q", db)
	}
	if m[1] != c.Parent {
		return s, provider.Invalid(field("backup.database"), "must be in the same instance as parent (%s), got %q", c.Parent, db)
	}
	if c.Backup.ExpireTime == "" {
		return s, provider.Invalid(field("backup.expireTime"), "is required for a create: 6 hours to 366 days after the request is processed")
	}
	exp, err := parseTime("backup.expireTime", c.Backup.ExpireTime)
	if err != nil {
		return s, err
	}
	s.expireTime = exp
	if c.Backup.VersionTime != "" {
		v, err := parseTime("backup.versionTime", c.Backup.VersionTime)
		if err != nil {
			return s, err
		}
		s.versionTime = &v
	}
	if e := c.EncryptionConfig; e != nil {
		t, ok := databasepb.CreateBackupEncryptionConfig_EncryptionType_value[e.EncryptionType]
		if err := checkEncryption(e, ok && t != 0, t == int32(databasepb.CreateBackupEncryptionConfig_CUSTOMER_MANAGED_ENCRYPTION),
			"USE_DATABASE_ENCRYPTION (the default), GOOGLE_DEFAULT_ENCRYPTION or CUSTOMER_MANAGED_ENCRYPTION"); err != nil {
			return s, err
		}
		s.createEnc = &databasepb.CreateBackupEncryptionConfig{
			EncryptionType: databasepb.CreateBackupEncryptionConfig_EncryptionType(t),
			KmsKeyName:     e.KmsKeyName, KmsKeyNames: e.KmsKeyNames,
		}
	}
	return s, nil
}

func parseCopy(c backup.SpannerCopy) (spec, error) {
	s := spec{kind: backup.KindCopy, parent: c.Parent, backupID: c.BackupID, source: c.SourceBackup}
	if err := checkParent(c.Parent, "destination instance"); err != nil {
		return s, err
	}
	if err := checkBackupID(c.BackupID); err != nil {
		return s, err
	}
	s.backupName = c.Parent + "/backups/" + c.BackupID
	if c.SourceBackup == "" {
		return s, provider.Invalid(field("sourceBackup"), "is required: projects/<project>/instances/<instance>/backups/<backup>, a READY backup")
	}
	m := backupRe.FindStringSubmatch(c.SourceBackup)
	if m == nil {
		return s, provider.Invalid(field("sourceBackup"), "must be of the form projects/<project>/instances/<instance>/backups/<backup>, got %q", c.SourceBackup)
	}
	if !validBackupID(m[2]) {
		return s, provider.Invalid(field("sourceBackup"), "names backup %q, but a backup ID %s", m[2], backupIDRule)
	}
	if c.SourceBackup == s.backupName {
		return s, provider.Invalid(field("backupId"), "the copy must differ from its source %s", c.SourceBackup)
	}
	if c.ExpireTime == "" {
		return s, provider.Invalid(field("expireTime"), "is required for a copy: 6 hours to 366 days after the source backup's createTime")
	}
	exp, err := parseTime("expireTime", c.ExpireTime)
	if err != nil {
		return s, err
	}
	s.expireTime = exp
	if e := c.EncryptionConfig; e != nil {
		t, ok := databasepb.CopyBackupEncryptionConfig_EncryptionType_value[e.EncryptionType]
		if err := checkEncryption(e, ok && t != 0, t == int32(databasepb.CopyBackupEncryptionConfig_CUSTOMER_MANAGED_ENCRYPTION),
			"USE_CONFIG_DEFAULT_OR_BACKUP_ENCRYPTION (the default), GOOGLE_DEFAULT_ENCRYPTION or CUSTOMER_MANAGED_ENCRYPTION"); err != nil {
			return s, err
		}
		s.copyEnc = &databasepb.CopyBackupEncryptionConfig{
			EncryptionType: databasepb.CopyBackupEncryptionConfig_EncryptionType(t),
			KmsKeyName:     e.KmsKeyName, KmsKeyNames: e.KmsKeyNames,
		}
	}
	return s, nil
}

// checkEncryption enforces the encryption config rules shared by create and
// copy: a known type (valid), keys only and always with customer-managed
// encryption (cmek), kmsKeyName or kmsKeyNames but not both, well-formed keys.
func checkEncryption(e *backup.SpannerEncryptionConfig, valid, cmek bool, allowed string) error {
	switch {
	case e.EncryptionType == "":
		return provider.Invalid(field("encryptionConfig.encryptionType"), "is required when encryptionConfig is given: one of %s", allowed)
	case !valid:
		return provider.Invalid(field("encryptionConfig.encryptionType"), "must be one of %s, got %q", allowed, e.EncryptionType)
	}
	if e.KmsKeyName != "" && len(e.KmsKeyNames) > 0 {
		return provider.Invalid(field("encryptionConfig.kmsKeyNames"), "set either kmsKeyName or kmsKeyNames, not both")
	}
	if !cmek {
		if e.KmsKeyName != "" {
			return provider.Invalid(field("encryptionConfig.kmsKeyName"), "may only be set when encryptionType is CUSTOMER_MANAGED_ENCRYPTION, not %s", e.EncryptionType)
		}
		if len(e.KmsKeyNames) > 0 {
			return provider.Invalid(field("encryptionConfig.kmsKeyNames"), "may only be set when encryptionType is CUSTOMER_MANAGED_ENCRYPTION, not %s", e.EncryptionType)
		}
		return nil
	}
	const keyForm = "projects/<project>/locations/<location>/keyRings/<key_ring>/cryptoKeys/<kmsKeyName>"
	if e.KmsKeyName == "" && len(e.KmsKeyNames) == 0 {
		return provider.Invalid(field("encryptionConfig.kmsKeyName"), "kmsKeyName or kmsKeyNames is required with CUSTOMER_MANAGED_ENCRYPTION: %s", keyForm)
	}
	if e.KmsKeyName != "" && !kmsKeyRe.MatchString(e.KmsKeyName) {
		return provider.Invalid(field("encryptionConfig.kmsKeyName"), "must be of the form %s, got %q", keyForm, e.KmsKeyName)
	}
	seen := map[string]bool{}
	for i, k := range e.KmsKeyNames {
		if !kmsKeyRe.MatchString(k) {
			return provider.Invalid(field("encryptionConfig.kmsKeyNames"), "entry %d must be of the form %s, got %q", i, keyForm, k)
		}
		if seen[k] {
			return provider.Invalid(field("encryptionConfig.kmsKeyNames"), "entry %d repeats key %q", i, k)
		}
		seen[k] = true
	}
	return nil
}

// expireRange is the range the expireTime sent lies in. For a known owner
// it is the one value sent (markedExpire); without one (Validate) it is the
// whole requested second, as the owner's marker may be any instant of it.
func (s spec) expireRange(owner *provider.Owner) (lo, hi time.Time) {
	if owner != nil {
		m := markedExpire(s.expireTime, *owner)
		return m, m
	}
	lo = s.expireTime.UTC().Truncate(time.Second)
	return lo, lo.Add(time.Second - time.Microsecond)
}

// markerNote explains a refusal of an expireTime that is within the bounds
// only before backupflow sets its sub-second part.
const markerNote = "; backupflow replaces the sub-second part with its ownership marker, so every instant of that second must be within the bounds"

// noteIf is markerNote when the requested value alone was within the bounds.
func noteIf(requestedInBounds bool) string {
	if requestedInBounds {
		return markerNote
	}
	return ""
}

// checkTimes enforces the clock-relative rules against now, on the
// expireTime sent for owner (on any the request allows, for a nil owner).
func (s spec) checkTimes(now time.Time, owner *provider.Owner) error {
	lo, hi := s.expireRange(owner)
	switch s.kind {
	case backup.KindCreate:
		if lo.Sub(now) < MinExpiry || hi.Sub(now) > MaxExpiry {
			d := s.expireTime.Sub(now)
			return provider.Invalid(field("backup.expireTime"),
				"must be at least 6 hours and at most 366 days after the request is processed (now %s), got %s%s",
				now.UTC().Format(time.RFC3339Nano), s.expireTime.UTC().Format(time.RFC3339Nano), noteIf(d >= MinExpiry && d <= MaxExpiry))
		}
		if v := s.versionTime; v != nil {
			if v.After(now) {
				return provider.Invalid(field("backup.versionTime"), "must not be in the future (now %s), got %s",
					now.UTC().Format(time.RFC3339), v.UTC().Format(time.RFC3339))
			}
			if now.Sub(*v) > MaxVersionAge {
				return provider.Invalid(field("backup.versionTime"),
					"must be within the database's version retention period, at most 7 days before now (%s), got %s",
					now.UTC().Format(time.RFC3339), v.UTC().Format(time.RFC3339))
			}
		}
	case backup.KindCopy:
		// The bound is relative to the source's createTime (checked in
		// Preflight); a source is never created after now, so an expireTime
		// more than 366 days from now can never be valid.
		if hi.Sub(now) > MaxExpiry {
			return provider.Invalid(field("expireTime"),
				"must be at most 366 days after the source backup's createTime, which is no later than now (%s); got %s%s",
				now.UTC().Format(time.RFC3339Nano), s.expireTime.UTC().Format(time.RFC3339Nano), noteIf(s.expireTime.Sub(now) <= MaxExpiry))
		}
	}
	return nil
}

// validate decodes the section strictly and enforces every documented rule
// that needs no provider call: the driver's registered validation.
func validate(kind backup.Kind, section json.RawMessage, now time.Time) (provider.Target, error) {
	s, err := parse(kind, section)
	if err != nil {
		return provider.Target{}, err
	}
	if err := s.checkTimes(now, nil); err != nil {
		return provider.Target{}, err
	}
	return s.target(), nil
}

func (s spec) target() provider.Target {
	if s.kind == backup.KindCopy {
		return provider.Target{Resource: s.backupName, BackupName: s.backupID}
	}
	return provider.Target{Resource: s.database, BackupName: s.backupID}
}

// createRequest is the CreateBackup request, expireTime carrying owner's marker.
func (s spec) createRequest(owner provider.Owner) *databasepb.CreateBackupRequest {
	b := &databasepb.Backup{Database: s.database, ExpireTime: timestamppb.New(markedExpire(s.expireTime, owner))}
	if s.versionTime != nil {
		b.VersionTime = timestamppb.New(*s.versionTime)
	}
	return &databasepb.CreateBackupRequest{Parent: s.parent, BackupId: s.backupID, Backup: b, EncryptionConfig: s.createEnc}
}

// copyRequest is the CopyBackup request, expireTime carrying owner's marker.
func (s spec) copyRequest(owner provider.Owner) *databasepb.CopyBackupRequest {
	return &databasepb.CopyBackupRequest{Parent: s.parent, BackupId: s.backupID, SourceBackup: s.source,
		ExpireTime: timestamppb.New(markedExpire(s.expireTime, owner)), EncryptionConfig: s.copyEnc}
}

func (s spec) String() string { return fmt.Sprintf("%s %s", s.kind, s.backupName) }
