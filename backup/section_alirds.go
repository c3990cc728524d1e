package backup

// ProviderAliRDS is Alibaba Cloud ApsaraDB RDS: CreateBackup.
const ProviderAliRDS = "alirds"

func init() {
	registerSection(ProviderAliRDS, KindCreate, func() Section { return &AliRDSCreate{} })
}

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
