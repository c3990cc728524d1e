package backup

// Typed provider sections. Field names and JSON keys mirror each provider's
// API documentation so a request reads like the provider's own call. The
// drivers enforce every documented rule on them before calling a provider.

import "slices"

type sectionKey struct {
	provider string
	kind     Kind
}

// sectionTypes registers each provider's section types; one line per provider and kind.
var sectionTypes = map[sectionKey]func() Section{
	{ProviderSpanner, KindCreate}:  func() Section { return &SpannerCreate{} },
	{ProviderSpanner, KindCopy}:    func() Section { return &SpannerCopy{} },
	{ProviderTaurusDB, KindCreate}: func() Section { return &TaurusDBCreate{} },
	{ProviderOTCRDS, KindCreate}:   func() Section { return &OTCRDSCreate{} },
	{ProviderAliRDS, KindCreate}:   func() Section { return &AliRDSCreate{} },
	{ProviderMemory, KindCreate}:   func() Section { return &MemoryCreate{} },
	{ProviderMemory, KindCopy}:     func() Section { return &MemoryCopy{} },
}

// SpannerCreate mirrors projects.instances.backups.create.
type SpannerCreate struct {
	// Parent is the instance, projects/<project>/instances/<instance>.
	Parent string `json:"parent"`
	// BackupID is appended to Parent to form the backup name.
	BackupID string `json:"backupId"`
	Backup   struct {
		// Database is projects/<project>/instances/<instance>/databases/<database>, in Parent.
		Database string `json:"database"`
		// ExpireTime (RFC 3339): 6 hours to 366 days after the request is processed.
		ExpireTime string `json:"expireTime,omitempty"`
		// VersionTime (RFC 3339): the consistent point in time to back up; defaults to now.
		VersionTime string `json:"versionTime,omitempty"`
	} `json:"backup"`
	EncryptionConfig *SpannerEncryptionConfig `json:"encryptionConfig,omitempty"`
}

func (*SpannerCreate) ProviderName() string { return ProviderSpanner }
func (s *SpannerCreate) Resource() string   { return s.Backup.Database }

// SpannerCopy mirrors projects.instances.backups.copy.
type SpannerCopy struct {
	// Parent is the destination instance, projects/<project>/instances/<instance>.
	Parent   string `json:"parent"`
	BackupID string `json:"backupId"`
	// SourceBackup is projects/<project>/instances/<instance>/backups/<backup>; it must be READY.
	SourceBackup string `json:"sourceBackup"`
	// ExpireTime (RFC 3339, required): 6 hours to 366 days after the source's createTime.
	ExpireTime       string                   `json:"expireTime"`
	EncryptionConfig *SpannerEncryptionConfig `json:"encryptionConfig,omitempty"`
}

func (*SpannerCopy) ProviderName() string { return ProviderSpanner }

// Resource is the destination backup: many copies of one source may run at once.
func (s *SpannerCopy) Resource() string { return s.Parent + "/backups/" + s.BackupID }

// SpannerEncryptionConfig mirrors CreateBackupEncryptionConfig and CopyBackupEncryptionConfig.
type SpannerEncryptionConfig struct {
	EncryptionType string   `json:"encryptionType"`
	KmsKeyName     string   `json:"kmsKeyName,omitempty"`
	KmsKeyNames    []string `json:"kmsKeyNames,omitempty"`
}

// TaurusDBCreate mirrors POST /v3/{project_id}/backups/create (GaussDB for MySQL).
type TaurusDBCreate struct {
	InstanceID  string `json:"instance_id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Language is the X-Language header: en-us (default) or zh-cn.
	Language string `json:"X-Language,omitempty"`
}

func (*TaurusDBCreate) ProviderName() string { return ProviderTaurusDB }
func (s *TaurusDBCreate) Resource() string   { return s.InstanceID }

// OTCRDSCreate mirrors Open Telekom Cloud RDS v3 POST /v3/{project_id}/backups.
type OTCRDSCreate struct {
	InstanceID  string `json:"instance_id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Databases selects a partial backup; Microsoft SQL Server instances only.
	Databases []OTCRDSDatabase `json:"databases,omitempty"`
}

// OTCRDSDatabase names one SQL Server database of a partial backup.
type OTCRDSDatabase struct {
	Name string `json:"name"`
}

func (*OTCRDSCreate) ProviderName() string { return ProviderOTCRDS }
func (s *OTCRDSCreate) Resource() string   { return s.InstanceID }

// AliRDSCreate mirrors ApsaraDB RDS CreateBackup.
type AliRDSCreate struct {
	DBInstanceID string `json:"DBInstanceId"`
	// BackupMethod: Logical, Physical (default) or Snapshot.
	BackupMethod string `json:"BackupMethod,omitempty"`
	// BackupStrategy: db or instance; MySQL logical or SQL Server full physical backups only.
	BackupStrategy string `json:"BackupStrategy,omitempty"`
	// DBName: comma-separated databases, for single-database backups only.
	DBName string `json:"DBName,omitempty"`
	// BackupType: Auto (default) or FullBackup.
	BackupType string `json:"BackupType,omitempty"`
}

func (*AliRDSCreate) ProviderName() string { return ProviderAliRDS }
func (s *AliRDSCreate) Resource() string   { return s.DBInstanceID }

// MemoryCreate drives the in-memory provider used by tests and the demo.
type MemoryCreate struct {
	// Resource is any non-empty name for the thing being backed up.
	Target string `json:"resource"`
	// Name is the backup name; unique per resource.
	Name string `json:"name"`
	// DurationSeconds is how long the simulated backup runs.
	DurationSeconds float64 `json:"durationSeconds,omitempty"`
	// FailWith makes the provider fail the backup with this message once it ends.
	FailWith string `json:"failWith,omitempty"`
}

func (*MemoryCreate) ProviderName() string { return ProviderMemory }
func (s *MemoryCreate) Resource() string   { return s.Target }

// MemoryCopy copies a memory backup to another resource.
type MemoryCopy struct {
	Source          string  `json:"source"`
	Target          string  `json:"resource"`
	Name            string  `json:"name"`
	DurationSeconds float64 `json:"durationSeconds,omitempty"`
}

func (*MemoryCopy) ProviderName() string { return ProviderMemory }
func (s *MemoryCopy) Resource() string   { return s.Target + "/" + s.Name }

// IsProvider reports whether name is a provider with a request section. It
// only looks keys up, so workflow code may call it.
func IsProvider(name string) bool {
	_, create := sectionTypes[sectionKey{name, KindCreate}]
	_, copy := sectionTypes[sectionKey{name, KindCopy}]
	return create || copy
}

// Providers lists, sorted, the clouds the contract has request sections for:
// the names to offer users. The in-process memory provider is left out; it
// is for tests and experiments, and IsProvider still accepts it.
func Providers() []string {
	var names []string
	for k := range sectionTypes {
		if k.provider != ProviderMemory && !slices.Contains(names, k.provider) {
			names = append(names, k.provider)
		}
	}
	slices.Sort(names)
	return names
}
