package backup

// ProviderMemory is an in-process provider for tests and experiments.
const ProviderMemory = "memory"

func init() {
	registerSection(ProviderMemory, KindCreate, func() Section { return &MemoryCreate{} })
	registerSection(ProviderMemory, KindCopy, func() Section { return &MemoryCopy{} })
}

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
