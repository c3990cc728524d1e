package backup

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWorkflowIDRefusesWhatTemporalOrATerminalWould(t *testing.T) {
	ok, err := NewRequest(&AliRDSCreate{DBInstanceID: "rm-1"})
	require.NoError(t, err)
	id, err := ok.WorkflowID(KindCreate)
	require.NoError(t, err)
	assert.Equal(t, "create/alirds/rm-1", id)

	for name, resource := range map[string]string{
		"control character": "rm-1\x1b[2J",
		"newline":           "rm-1\nx",
		"too long":          strings.Repeat("r", MaxIDLength),
	} {
		t.Run(name, func(t *testing.T) {
			req, err := NewRequest(&AliRDSCreate{DBInstanceID: resource})
			require.NoError(t, err)
			_, err = req.WorkflowID(KindCreate)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "alirds: the ")
			_, err = NewClient(nil).Start(t.Context(), KindCreate, req)
			require.Error(t, err, "the Go client refuses it before calling Temporal (a nil client would panic)")
		})
	}
}

func TestMetricProvider(t *testing.T) {
	assert.Equal(t, "spanner", MetricProvider("spanner"))
	assert.Equal(t, "memory", MetricProvider("memory"))
	assert.Equal(t, MetricUnknown, MetricProvider("drop table; --"))
}
