package memory_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/memory"
	"github.com/backupflow/backupflow/provider/providertest"
)

func TestConformance(t *testing.T) {
	providertest.Run(t, func(t *testing.T) providertest.Harness {
		cloud := memory.NewCloud("good-token")
		section := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
		return providertest.Harness{
			NewDriver:                   func(*testing.T) provider.Driver { return cloud.Driver("good-token") },
			NewDriverWithBadCredentials: func(*testing.T) provider.Driver { return cloud.Driver("wrong") },
			Backend:                     cloud,
			Duration:                    time.Minute,
			PageSize:                    memory.ListPageSize,
			AddBackups:                  cloud.AddBackups,
			Create: func(seed int) json.RawMessage {
				return section(backup.MemoryCreate{Target: fmt.Sprintf("db-%d", seed), Name: fmt.Sprintf("b-%d", seed), DurationSeconds: 60})
			},
			Copy: func(seed int, source string) json.RawMessage {
				return section(backup.MemoryCopy{Source: source, Target: fmt.Sprintf("dst-%d", seed), Name: fmt.Sprintf("c-%d", seed), DurationSeconds: 60})
			},
			Invalid: []providertest.InvalidCase{
				{Name: "missing resource", Kind: backup.KindCreate, Section: section(map[string]any{"name": "b1"}), Field: "memory.resource"},
				{Name: "bad name", Kind: backup.KindCreate, Section: section(map[string]any{"resource": "r", "name": "B!"}), Field: "memory.name"},
				{Name: "negative duration", Kind: backup.KindCreate, Section: section(map[string]any{"resource": "r", "name": "b1", "durationSeconds": -1}), Field: "memory.durationSeconds"},
				{Name: "unknown field", Kind: backup.KindCreate, Section: json.RawMessage(`{"resource":"r","name":"b1","nmae":"x"}`), Field: "memory"},
				{Name: "copy without source", Kind: backup.KindCopy, Section: section(map[string]any{"resource": "r", "name": "b1"}), Field: "memory.source"},
			},
		}
	})
}
