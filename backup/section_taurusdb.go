package backup

// ProviderTaurusDB is Huawei Cloud TaurusDB (GaussDB for MySQL): manual backup.
const ProviderTaurusDB = "taurusdb"

func init() {
	registerSection(ProviderTaurusDB, KindCreate, func() Section { return &TaurusDBCreate{} })
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
