package ops_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"

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
	for name, content := range map[string]string{
		"hex":          hex.EncodeToString(key) + "\n",
		"HEX":          strings.ToUpper(hex.EncodeToString(key)),
		"base64":       base64.StdEncoding.EncodeToString(key) + "\n",
		"base64 space": "  " + base64.StdEncoding.EncodeToString(key) + "\r\n\n",
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
		c, err := ops.LoadCodec(path)
		require.NoError(t, err, name)
		assert.Equal(t, want.KeyID(), c.KeyID(), name)
	}
	_, err = ops.NewCodec(key[:16])
	require.Error(t, err, "AES-128 keys are refused: the codec is AES-256")
}

// A bad key file is refused with the variable and the file named, a hint at
// the formats, and nothing of its content.
func TestLoadCodecRefusesBadKeyFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	require.NoError(t, os.WriteFile(good, []byte(hex.EncodeToString(newKey(t))), 0o600))
	raw := newKey(t)
	for name, c := range map[string]struct {
		content []byte
		want    string
	}{
		"empty":            {nil, "is empty"},
		"blank":            {[]byte(" \n\t\n"), "is empty"},
		"raw 32 bytes":     {raw, "neither base64 nor hex"},
		"hex, 16 bytes":    {[]byte(hex.EncodeToString(raw[:16])), "hex of 16 bytes"},
		"hex, 33 bytes":    {[]byte(hex.EncodeToString(append(raw, 7))), "hex of 33 bytes"},
		"base64, 16 bytes": {[]byte(base64.StdEncoding.EncodeToString(raw[:16])), "base64 of 16 bytes"},
		"base64, 48 bytes": {[]byte(base64.StdEncoding.EncodeToString(append(raw, raw[:16]...))), "base64 of 48 bytes"},
		"text":             {[]byte("correct horse battery staple!!"), "neither base64 nor hex"},
		"PEM":              {[]byte("-----BEGIN KEY-----\nabc\n-----END KEY-----\n"), "neither base64 nor hex"},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
			require.NoError(t, os.WriteFile(path, c.content, 0o600))
			for _, load := range []struct {
				variable string
				load     func() (*ops.Codec, error)
			}{
				{"BACKUPFLOW_CODEC_KEY_FILE", func() (*ops.Codec, error) { return ops.LoadCodec(path) }},
				{"BACKUPFLOW_CODEC_OLD_KEY_FILES", func() (*ops.Codec, error) { return ops.LoadCodec(good, good, path) }},
			} {
				_, err := load.load()
				require.Error(t, err)
				assert.Contains(t, err.Error(), load.variable+": key file "+path+": ")
				assert.Contains(t, err.Error(), c.want)
				assert.Contains(t, err.Error(), "base64")
				if len(c.content) > 8 {
					assert.NotContains(t, err.Error(), strings.TrimSpace(string(c.content)), "the content is not echoed")
				}
			}
		})
	}
	_, err := ops.LoadCodec(filepath.Join(dir, "missing"))
	require.ErrorContains(t, err, "BACKUPFLOW_CODEC_KEY_FILE")
	_, err = ops.LoadCodec(good, filepath.Join(dir, "missing-old"))
	require.ErrorContains(t, err, "BACKUPFLOW_CODEC_OLD_KEY_FILES")
	require.ErrorContains(t, err, "missing-old")
}

// The ring encrypts with the current key and decrypts with any of its keys;
// a payload of a key it lacks fails with that key's ID.
func TestCodecKeyRing(t *testing.T) {
	k1, k2, k3 := newKey(t), newKey(t), newKey(t)
	old, err := ops.NewCodec(k1)
	require.NoError(t, err)
	ring, err := ops.NewCodec(k2, k1)
	require.NoError(t, err)
	stranger, err := ops.NewCodec(k3)
	require.NoError(t, err)
	assert.NotEqual(t, old.KeyID(), ring.KeyID())
	assert.ElementsMatch(t, []string{old.KeyID(), ring.KeyID()}, ring.KeyIDs())

	plain := []*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"orders"`)}}
	fromOld, err := old.Encode(plain)
	require.NoError(t, err)
	fromRing, err := ring.Encode(plain)
	require.NoError(t, err)
	assert.Equal(t, ring.KeyID(), string(fromRing[0].Metadata[ops.MetadataKeyID]), "encrypts with the current key")

	got, err := ring.Decode(append(fromOld, fromRing...))
	require.NoError(t, err, "decrypts with old and current keys")
	for _, p := range got {
		assert.True(t, proto.Equal(plain[0], p))
	}
	_, err = old.Decode(fromRing)
	require.Error(t, err, "the old key alone cannot read the new one's payloads")
	assert.Contains(t, err.Error(), ring.KeyID())
	assert.Contains(t, err.Error(), "BACKUPFLOW_CODEC_OLD_KEY_FILES")

	_, err = stranger.Decode(fromOld)
	require.Error(t, err)
	for _, k := range [][]byte{k1, k2, k3} {
		assert.NotContains(t, err.Error(), hex.EncodeToString(k))
		assert.NotContains(t, err.Error(), base64.StdEncoding.EncodeToString(k))
	}
}

// Converters encrypt a failure's message and stack trace with the payloads'
// codec, and keep its type readable.
func TestConvertersEncryptFailures(t *testing.T) {
	c := newCodec(t)
	dc, fc := c.Converters()
	cause := temporal.NewApplicationError("provider said: volume vol-42 is full", "BackupFailed", map[string]string{"field": "x"})
	f := fc.ErrorToFailure(temporal.NewApplicationErrorWithCause("backup failed", "BackupFailed", cause))
	for cur := f; cur != nil; cur = cur.GetCause() {
		assert.Equal(t, "Encoded failure", cur.GetMessage())
		assert.Empty(t, cur.GetStackTrace())
		assert.Equal(t, ops.EncodingEncrypted, string(cur.GetEncodedAttributes().GetMetadata()[converter.MetadataEncoding]))
		assert.Equal(t, "BackupFailed", cur.GetApplicationFailureInfo().GetType(), "types stay readable")
	}
	raw, err := proto.Marshal(f)
	require.NoError(t, err)
	assert.False(t, bytes.Contains(raw, []byte("vol-42")))

	var app *temporal.ApplicationError
	clone := func() *failurepb.Failure { return proto.Clone(f).(*failurepb.Failure) } // FailureToError decodes in place
	back := fc.FailureToError(clone())
	require.ErrorAs(t, back, &app)
	assert.Equal(t, "backup failed", app.Message())
	require.ErrorAs(t, errors.Unwrap(back), &app)
	assert.Equal(t, "provider said: volume vol-42 is full", app.Message())
	var details map[string]string
	require.NoError(t, app.Details(&details))
	assert.Equal(t, "x", details["field"])

	// The attributes are a payload of the data converter built with it.
	var attrs struct {
		Message string `json:"message"`
	}
	require.NoError(t, dc.FromPayload(f.GetEncodedAttributes(), &attrs))
	assert.Equal(t, "backup failed", attrs.Message)

	_, otherFC := newCodec(t).Converters()
	assert.NotContains(t, otherFC.FailureToError(clone()).Error(), "vol-42", "another key reads nothing")
	var none *ops.Codec
	ddc, dfc := none.Converters()
	assert.Equal(t, converter.GetDefaultDataConverter(), ddc)
	assert.Equal(t, "backup failed", dfc.ErrorToFailure(errors.New("backup failed")).GetMessage(), "no codec, nothing encoded")
}
