package integration

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/ops"
	"github.com/backupflow/backupflow/internal/testenv"
	"github.com/backupflow/backupflow/provider/memory"
	"github.com/backupflow/backupflow/wiring"
)

// writeKey writes a fresh 32-byte key file (base64 or hex) and returns its
// path and the key.
func writeKey(t *testing.T, name string, asHex bool) (string, []byte) {
	t.Helper()
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	text := base64.StdEncoding.EncodeToString(key)
	if asHex {
		text = hex.EncodeToString(key)
	}
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(text+"\n"), 0o600))
	return path, key
}

// codecClient is a client of e's server with the converters of the key files.
func codecClient(t *testing.T, e *testenv.Env, keyFile string, oldKeyFiles ...string) (client.Client, *backup.Client) {
	t.Helper()
	dc, fc, err := wiring.Converters(keyFile, oldKeyFiles...)
	require.NoError(t, err)
	c := e.Server.NewClientWithOptions(client.Options{Namespace: e.Namespace, DataConverter: dc, FailureConverter: fc})
	t.Cleanup(c.Close)
	bc := backup.NewClient(c)
	bc.DataConverter = dc
	return c, bc
}

// startCodecWorker runs a worker on c (which must carry the same keys) for the memory cloud.
func startCodecWorker(t *testing.T, e *testenv.Env, c client.Client, cloud *memory.Cloud, keyFile string, oldKeyFiles ...string) *wiring.App {
	t.Helper()
	cfg := e.Config(t, "memory")
	cfg.Ops.CodecKeyFile, cfg.Ops.CodecOldKeyFiles = keyFile, oldKeyFiles
	require.NoError(t, cfg.Validate())
	app, err := wiring.InitializeWorkerWithClient(cfg, c, wiring.ExtraDrivers{cloud.Driver(token)})
	require.NoError(t, err)
	require.NoError(t, app.Worker.Start())
	t.Cleanup(app.Worker.Stop)
	return app
}

// With an encrypting payload codec, memos and poll details are ciphertext:
// the typed client must read them with the same converter, or an identical
// re-submission looks like a conflict and the live percent disappears.
func TestClientUnderPayloadCodec(t *testing.T) {
	e := testenv.Start(t, true)
	keyFile, _ := writeKey(t, "codec.key", true)
	c, bc := codecClient(t, e, keyFile)
	startCodecWorker(t, e, c, memory.NewCloud(token), keyFile)

	ctx := testenv.Context(t, time.Minute)
	req := memoryRequest(t, "sealed-db", "b", 600)
	first, err := bc.StartCreate(ctx, req)
	require.NoError(t, err)
	again, err := bc.StartCreate(ctx, req)
	require.NoError(t, err, "an identical re-submission attaches under a codec too")
	assert.True(t, again.Attached)

	var p backup.Progress
	require.Eventually(t, func() bool {
		p, err = first.Progress(ctx)
		return err == nil && p.State == backup.StateRunning && p.Percent > 0
	}, 20*time.Second, 50*time.Millisecond, "the live percent is decoded through the codec")
	assert.Contains(t, p.Waiting, "still making the backup", "the pending poll's encrypted failure message is decoded")
	require.NoError(t, first.Cancel(ctx, "done"))
	_, err = first.Result(ctx)
	_, ok := backup.CleanupOf(err)
	assert.True(t, ok)
}

// failures lists every failure in a history, causes included.
func failures(h *historypb.History) []*failurepb.Failure {
	var out []*failurepb.Failure
	add := func(f *failurepb.Failure) {
		for ; f != nil; f = f.GetCause() {
			out = append(out, f)
		}
	}
	for _, ev := range h.GetEvents() {
		add(ev.GetWorkflowExecutionFailedEventAttributes().GetFailure())
		add(ev.GetActivityTaskFailedEventAttributes().GetFailure())
		add(ev.GetMarkerRecordedEventAttributes().GetFailure())
		add(ev.GetWorkflowTaskFailedEventAttributes().GetFailure())
	}
	return out
}

// payloads lists every payload in a history, wherever it is, except search
// attributes: the server indexes them, so no codec ever sees them.
func payloads(h *historypb.History) []*commonpb.Payload {
	var out []*commonpb.Payload
	var walk func(m protoreflect.Message)
	walk = func(m protoreflect.Message) {
		switch v := m.Interface().(type) {
		case *commonpb.SearchAttributes:
			return
		case *commonpb.Payload:
			out = append(out, v)
			return
		}
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			switch {
			case fd.IsList() && fd.Message() != nil:
				for i := range v.List().Len() {
					walk(v.List().Get(i).Message())
				}
			case fd.IsMap() && fd.MapValue().Message() != nil:
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					walk(mv.Message())
					return true
				})
			case fd.Message() != nil && !fd.IsList() && !fd.IsMap():
				walk(v.Message())
			}
			return true
		})
	}
	walk(h.ProtoReflect())
	return out
}

// A backup that fails with the codec on leaves its failure messages
// encrypted in history; their types stay readable, and a client with the
// key classifies the failure as it would without encryption.
func TestFailuresAreEncrypted(t *testing.T) {
	e := testenv.Start(t, true)
	keyFile, _ := writeKey(t, "codec.key", false)
	c, bc := codecClient(t, e, keyFile)
	startCodecWorker(t, e, c, memory.NewCloud(token), keyFile)

	const secret = "volume vol-7f3a9 of orders-primary is full"
	ctx := testenv.Context(t, time.Minute)
	req, err := backup.NewRequest(&backup.MemoryCreate{Target: "sealed-fail-db", Name: "b", DurationSeconds: 0.2, FailWith: secret})
	require.NoError(t, err)
	h, err := bc.StartCreate(ctx, req)
	require.NoError(t, err)
	_, err = h.Result(ctx)
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "%v", err)
	assert.Equal(t, "BackupFailed", app.Type())
	assert.Contains(t, app.Error(), secret, "a client with the key reads the message")
	class, msg := backup.FailureOf(err)
	assert.Equal(t, backup.BackupFailed, class)
	assert.Contains(t, msg, secret)
	p, err := h.Progress(ctx)
	require.NoError(t, err)
	assert.Equal(t, backup.StateFailed, p.State)
	assert.Contains(t, p.LastError, secret)

	// The raw history, as the server stores it and a client without the key sees it.
	hist := e.History(t, h.WorkflowID, h.RunID)
	raw, err := proto.Marshal(hist)
	require.NoError(t, err)
	assert.False(t, bytes.Contains(raw, []byte("vol-7f3a9")), "the message is nowhere in the history in clear")
	fs := failures(hist)
	require.NotEmpty(t, fs)
	var types []string
	for _, f := range fs {
		assert.Equal(t, "Encoded failure", f.GetMessage())
		assert.Empty(t, f.GetStackTrace())
		require.NotNil(t, f.GetEncodedAttributes())
		assert.Equal(t, ops.EncodingEncrypted, string(f.GetEncodedAttributes().GetMetadata()[converter.MetadataEncoding]))
		if info := f.GetApplicationFailureInfo(); info != nil {
			types = append(types, info.GetType())
		}
	}
	assert.Contains(t, types, "BackupFailed", "error types stay readable: the server and the clients route on them")
	for _, p := range payloads(hist) {
		assert.Equal(t, ops.EncodingEncrypted, string(p.GetMetadata()[converter.MetadataEncoding]), "every payload is encrypted")
	}

	// A client without the key still gets the type, not the message.
	err = e.Client.GetWorkflow(ctx, h.WorkflowID, h.RunID).Get(ctx, nil)
	require.True(t, errors.As(err, &app), "%v", err)
	assert.Equal(t, "BackupFailed", app.Type())
	assert.NotContains(t, err.Error(), "vol-7f3a9")
	assert.Contains(t, app.Message(), "Encoded failure")
}

// A key rotation under a running backup: worker A (key K1) starts it and
// stops while the backup runs; worker B (current K2, K1 kept as old) reads
// what A wrote and finishes it. The history then holds payloads of both
// keys, and K2 alone cannot read the K1 ones.
func TestKeyRotationUnderARunningBackup(t *testing.T) {
	e := testenv.Start(t, true)
	k1File, k1 := writeKey(t, "k1", false)
	k2File, k2 := writeKey(t, "k2", true)
	cloud := memory.NewCloud(token)

	cA, bcA := codecClient(t, e, k1File)
	workerA := startCodecWorker(t, e, cA, cloud, k1File)
	ctx := testenv.Context(t, 2*time.Minute)
	h, err := bcA.StartCreate(ctx, memoryRequest(t, "rotating-db", "b", 3600))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		p, err := h.Progress(ctx)
		return err == nil && p.State == backup.StateRunning && p.Percent > 0
	}, 20*time.Second, 50*time.Millisecond, "worker A polls the running backup")
	workerA.Worker.Stop()

	cB, bcB := codecClient(t, e, k2File, k1File)
	startCodecWorker(t, e, cB, cloud, k2File, k1File)
	cloud.Advance(2 * time.Hour) // the backup is done at the provider
	res, err := bcB.Handle(h.WorkflowID, h.RunID).Result(ctx)
	require.NoError(t, err, "worker B finishes the backup worker A started")
	assert.Equal(t, "READY", res.Backup.State)

	only1, err := ops.NewCodec(k1)
	require.NoError(t, err)
	only2, err := ops.NewCodec(k2)
	require.NoError(t, err)
	byKey := map[string][]*commonpb.Payload{}
	hist := e.History(t, h.WorkflowID, h.RunID)
	for _, p := range payloads(hist) {
		id := string(p.GetMetadata()[ops.MetadataKeyID])
		byKey[id] = append(byKey[id], p)
	}
	require.NotEmpty(t, byKey[only1.KeyID()], "payloads written before the rotation")
	require.NotEmpty(t, byKey[only2.KeyID()], "payloads written after it")
	assert.ElementsMatch(t, []string{only1.KeyID(), only2.KeyID()}, slices.Collect(maps.Keys(byKey)),
		"no payload without a key ID: all are encrypted")

	_, err = only2.Decode(byKey[only1.KeyID()])
	require.Error(t, err, "K2 alone cannot read what K1 encrypted")
	assert.Contains(t, err.Error(), only1.KeyID(), "the error names the missing key's ID")
	for _, material := range []string{hex.EncodeToString(k1), base64.StdEncoding.EncodeToString(k1), hex.EncodeToString(k2)} {
		assert.NotContains(t, err.Error(), material, "never key material")
	}
	_, err = only2.Decode(byKey[only2.KeyID()])
	require.NoError(t, err)
	ring, err := ops.LoadCodec(k2File, k1File)
	require.NoError(t, err)
	_, err = ring.Decode(byKey[only1.KeyID()])
	require.NoError(t, err, "the ring reads both")
	assert.Equal(t, only2.KeyID(), ring.KeyID(), "K2 is the ring's current key")
}
