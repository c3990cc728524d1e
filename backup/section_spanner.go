package backup

// ProviderSpanner is Google Cloud Spanner: backup create and copy.
const ProviderSpanner = "spanner"

func init() {
	registerSection(ProviderSpanner, KindCreate, func() Section { return &SpannerCreate{} })
	registerSection(ProviderSpanner, KindCopy, func() Section { return &SpannerCopy{} })
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
