package ops_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/ops"
	"github.com/backupflow/backupflow/internal/testenv"
	"github.com/backupflow/backupflow/wiring"
)

// TestWorkerEncryptsHistoryAndServesTheCodec runs the worker as worker/main.go
// assembles it (InitializeWorker, App.Run) with BACKUPFLOW_CODEC_KEY_FILE:
// the history holds only encrypted payloads, a client with the same key reads
// the result, and the worker's codec endpoint (its own listener, behind its
// bearer token) decodes the history's payloads.
func TestWorkerEncryptsHistoryAndServesTheCodec(t *testing.T) {
	dir := t.TempDir()
	keyFile, tokenFile := filepath.Join(dir, "codec-key"), filepath.Join(dir, "codec-token")
	require.NoError(t, os.WriteFile(keyFile, []byte(strings.Repeat("5a", 32)+"\n"), 0o600))
	require.NoError(t, os.WriteFile(tokenFile, []byte("ui-token\n"), 0o600))

	e := testenv.Start(t, true)
	cfg := e.ConfigFromEnv(t, map[string]string{"BACKUPFLOW_PROVIDERS": "memory", "BACKUPFLOW_OPS_ADDR": "127.0.0.1:0",
		"BACKUPFLOW_CODEC_KEY_FILE": keyFile, "BACKUPFLOW_CODEC_AUTH_TOKEN_FILE": tokenFile,
		"BACKUPFLOW_CODEC_ADDR": "127.0.0.1:0", "BACKUPFLOW_CODEC_CORS_ORIGINS": "http://localhost:8080"})
	require.NoError(t, cfg.Validate())
	app, cleanup, err := wiring.InitializeWorker(cfg)
	require.NoError(t, err)
	t.Cleanup(cleanup)
	require.NotNil(t, app.Codec)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	addr, err := app.OpsAddr(testenv.Context(t, 30*time.Second))
	require.NoError(t, err)
	opsBase := "http://" + addr
	addr, err = app.CodecAddr(testenv.Context(t, 30*time.Second))
	require.NoError(t, err)
	base := "http://" + addr

	dc, fc, err := wiring.Converters(keyFile)
	require.NoError(t, err)
	c := e.Server.NewClientWithOptions(client.Options{DataConverter: dc, FailureConverter: fc})
	req, err := backup.NewRequest(&backup.MemoryCreate{Target: "payroll-db", Name: "nightly", DurationSeconds: 0.2})
	require.NoError(t, err)
	h, err := backup.NewClient(c).StartCreate(testenv.Context(t, 30*time.Second), req)
	require.NoError(t, err)
	res, err := h.Result(testenv.Context(t, 60*time.Second))
	require.NoError(t, err, "a client with the key reads the worker's result")
	assert.Equal(t, "payroll-db", res.Resource)

	// Every payload in the history is encrypted: inputs, results, local
	// activity markers, the memo. (Workflow IDs and search attributes are
	// not payloads: they stay readable, by Temporal's design.)
	var payloads, all []*commonpb.Payload
	it := e.Client.GetWorkflowHistory(testenv.Context(t, 30*time.Second), h.WorkflowID, h.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		if a := ev.GetWorkflowExecutionStartedEventAttributes(); a != nil {
			payloads = append(payloads, a.GetInput().GetPayloads()...)
			for _, p := range a.GetMemo().GetFields() {
				all = append(all, p)
			}
		}
		if a := ev.GetWorkflowExecutionCompletedEventAttributes(); a != nil {
			payloads = append(payloads, a.GetResult().GetPayloads()...)
		}
		all = append(all, ev.GetActivityTaskScheduledEventAttributes().GetInput().GetPayloads()...)
		all = append(all, ev.GetActivityTaskCompletedEventAttributes().GetResult().GetPayloads()...)
		for _, d := range ev.GetMarkerRecordedEventAttributes().GetDetails() {
			all = append(all, d.GetPayloads()...)
		}
	}
	require.Len(t, payloads, 2, "the request and the result")
	all = append(all, payloads...)
	assert.Greater(t, len(all), 6, "activity inputs and results, markers and memo are checked too")
	for _, p := range all {
		assert.Equal(t, ops.EncodingEncrypted, string(p.Metadata[converter.MetadataEncoding]))
		assert.NotContains(t, string(p.Data), "payroll")
	}

	// The Web UI's view: the codec endpoint decodes them, with the token
	// only, and only on its own port.
	code, _ := post(t, opsBase+"/codec/decode", "Bearer ui-token", payloads)
	assert.Equal(t, http.StatusNotFound, code, "the ops port serves no codec")
	code, _ = post(t, base+"/codec/decode", "", payloads)
	assert.Equal(t, http.StatusUnauthorized, code)
	code, body := post(t, base+"/codec/decode", "Bearer ui-token", payloads)
	require.Equal(t, http.StatusOK, code, string(body))
	var decoded commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(body, &decoded))
	require.Len(t, decoded.Payloads, 2)
	var result backup.Result
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(decoded.Payloads[1], &result))
	assert.Equal(t, res.Backup.ID, result.Backup.ID)
	assert.Contains(t, string(decoded.Payloads[0].Data), "payroll-db", "the request, decoded")
}
