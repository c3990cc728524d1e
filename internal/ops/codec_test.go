package ops_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/internal/ops"
)

func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	_, err := rand.Read(k)
	require.NoError(t, err)
	return k
}

func newCodec(t *testing.T) *ops.Codec {
	t.Helper()
	c, err := ops.NewCodec(newKey(t))
	require.NoError(t, err)
	return c
}

func TestCodecRoundTripHidesThePayload(t *testing.T) {
	c := newCodec(t)
	dc := c.DataConverter()
	req := backup.Result{Provider: "spanner", Resource: "projects/p/instances/i/databases/orders"}
	p, err := dc.ToPayload(req)
	require.NoError(t, err)
	assert.Equal(t, ops.EncodingEncrypted, string(p.Metadata[converter.MetadataEncoding]))
	assert.Equal(t, c.KeyID(), string(p.Metadata[ops.MetadataKeyID]))
	assert.False(t, bytes.Contains(p.Data, []byte("orders")), "the data is encrypted")
	assert.NotContains(t, p.Metadata, "json/plain")

	var back backup.Result
	require.NoError(t, dc.FromPayload(p, &back))
	assert.Equal(t, req, back)

	// Two encodings of the same value differ (random nonce).
	p2, err := dc.ToPayload(req)
	require.NoError(t, err)
	assert.NotEqual(t, p.Data, p2.Data)
}

func TestCodecRefusesWrongKeyAndTampering(t *testing.T) {
	a, b := newCodec(t), newCodec(t)
	enc, err := a.Encode([]*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"x"`)}})
	require.NoError(t, err)

	_, err = b.Decode(enc)
	require.Error(t, err, "a different key cannot decode")
	assert.Contains(t, err.Error(), a.KeyID())

	// Same key ID (forged) but a different key: GCM authentication fails.
	forged := &commonpb.Payload{Metadata: map[string][]byte{}, Data: enc[0].Data}
	for k, v := range enc[0].Metadata {
		forged.Metadata[k] = v
	}
	forged.Metadata[ops.MetadataKeyID] = []byte(b.KeyID())
	_, err = b.Decode([]*commonpb.Payload{forged})
	require.Error(t, err)

	tampered := &commonpb.Payload{Metadata: enc[0].Metadata, Data: append([]byte(nil), enc[0].Data...)}
	tampered.Data[len(tampered.Data)-1] ^= 1
	_, err = a.Decode([]*commonpb.Payload{tampered})
	require.Error(t, err, "a modified ciphertext is refused")

	short := &commonpb.Payload{Metadata: enc[0].Metadata, Data: []byte{1, 2, 3}}
	_, err = a.Decode([]*commonpb.Payload{short})
	require.Error(t, err)
}

func TestCodecPassesThroughUnencryptedPayloads(t *testing.T) {
	c := newCodec(t)
	plain := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`{"a":1}`)}
	out, err := c.Decode([]*commonpb.Payload{plain})
	require.NoError(t, err)
	assert.Same(t, plain, out[0], "histories from before the codec stay readable")
}

func TestLoadCodecKeyFormats(t *testing.T) {
	key := newKey(t)
	want, err := ops.NewCodec(key)
	require.NoError(t, err)
	dir := t.TempDir()
	for name, content := range map[string][]byte{
		"raw":    key,
		"hex":    []byte(hex.EncodeToString(key) + "\n"),
		"base64": []byte(base64.StdEncoding.EncodeToString(key) + "\n"),
	} {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, content, 0o600))
		c, err := ops.LoadCodec(path)
		require.NoError(t, err, name)
		assert.Equal(t, want.KeyID(), c.KeyID(), name)
	}
	bad := filepath.Join(dir, "short")
	require.NoError(t, os.WriteFile(bad, []byte("c2hvcnQ=\n"), 0o600))
	_, err = ops.LoadCodec(bad)
	require.ErrorContains(t, err, "32-byte key")
	_, err = ops.LoadCodec(filepath.Join(dir, "missing"))
	require.ErrorContains(t, err, "BACKUPFLOW_CODEC_KEY_FILE")
	_, err = ops.NewCodec(key[:16])
	require.Error(t, err, "AES-128 keys are refused: the codec is AES-256")
}
