package codecfuzz_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"

	"github.com/backupflow/backupflow/internal/ops"
)

// fuzzKeys are fixed so that a corpus entry replays the same way.
var fuzzKeys = func() (current, old []byte) {
	current, old = make([]byte, 32), make([]byte, 32)
	for i := range current {
		current[i], old[i] = byte(i), byte(255-i)
	}
	return current, old
}

// FuzzCodecDecode: Decode never panics on any payload (any metadata, key ID
// or data, including ciphertext of a known key cut or altered), and a
// payload it encoded decodes to the original.
func FuzzCodecDecode(f *testing.F) {
	current, old := fuzzKeys()
	ring, err := ops.NewCodec(current, old)
	require.NoError(f, err)
	oldOnly, err := ops.NewCodec(old)
	require.NoError(f, err)
	seed := func(c *ops.Codec, data []byte) []byte {
		enc, err := c.Encode([]*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: data}})
		require.NoError(f, err)
		return enc[0].Data
	}
	f.Add(ops.EncodingEncrypted, ring.KeyID(), seed(ring, []byte(`"x"`)), "json/plain", []byte(`{"a":1}`))
	f.Add(ops.EncodingEncrypted, oldOnly.KeyID(), seed(oldOnly, []byte(`[1,2]`)), "binary/null", []byte{})
	f.Add(ops.EncodingEncrypted, "", []byte{}, "", []byte(nil))
	f.Add(ops.EncodingEncrypted, "0000000000000000", make([]byte, 40), "binary/plain", []byte{0, 1, 2})
	f.Add("json/plain", ring.KeyID(), []byte(`"plain"`), "json/protobuf", []byte("\xff\xfe"))
	f.Add(ops.EncodingEncrypted, ring.KeyID(), []byte{1, 2, 3}, "\xff", []byte("x"))

	f.Fuzz(func(t *testing.T, encoding, keyID string, data []byte, innerEncoding string, innerData []byte) {
		p := &commonpb.Payload{
			Metadata: map[string][]byte{converter.MetadataEncoding: []byte(encoding), ops.MetadataKeyID: []byte(keyID)},
			Data:     data,
		}
		out, err := ring.Decode([]*commonpb.Payload{p})
		if err == nil {
			require.Len(t, out, 1)
		} else {
			require.Nil(t, out)
		}
		if encoding != ops.EncodingEncrypted {
			require.NoError(t, err, "payloads the codec did not encrypt pass through")
			require.Same(t, p, out[0])
		}

		orig := &commonpb.Payload{Metadata: map[string][]byte{converter.MetadataEncoding: []byte(innerEncoding), "extra": data}, Data: innerData}
		enc, err := ring.Encode([]*commonpb.Payload{orig})
		require.NoError(t, err)
		require.Equal(t, ring.KeyID(), string(enc[0].Metadata[ops.MetadataKeyID]))
		back, err := ring.Decode(enc)
		require.NoError(t, err)
		require.True(t, proto.Equal(orig, back[0]), "round trip")

		// The same ciphertext under another key ID, or cut short, is refused, never misread.
		forged := proto.Clone(enc[0]).(*commonpb.Payload)
		forged.Metadata[ops.MetadataKeyID] = []byte(oldOnly.KeyID())
		_, err = ring.Decode([]*commonpb.Payload{forged})
		require.Error(t, err)
		if n := len(data) % (len(enc[0].Data) + 1); n < len(enc[0].Data) {
			cut := proto.Clone(enc[0]).(*commonpb.Payload)
			cut.Data = cut.Data[:n]
			_, err = ring.Decode([]*commonpb.Payload{cut})
			require.Error(t, err)
		}
	})
}
