package backup

// ProviderOTCRDS is Open Telekom Cloud RDS v3: manual backup.
const ProviderOTCRDS = "otcrds"

func init() {
	registerSection(ProviderOTCRDS, KindCreate, func() Section { return &OTCRDSCreate{} })
}

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
