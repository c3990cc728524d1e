package ops

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

// Payload metadata written by Codec.
const (
	// EncodingEncrypted marks an encrypted payload ("encoding" metadata).
	EncodingEncrypted = "binary/encrypted"
	// MetadataCipher names the cipher.
	MetadataCipher = "encryption-cipher"
	// MetadataKeyID identifies the key (a hash of it, never the key).
	MetadataKeyID = "encryption-key-id"
	cipherName    = "AES-256-GCM"
)

// Codec encrypts Temporal payloads with AES-256-GCM. An encoded payload
// holds the original payload (proto-marshalled, metadata included) sealed
// with a random 12-byte nonce; its own metadata says only the encoding, the
// cipher and the key ID. Decode leaves payloads it did not encrypt as they
// are, so histories written before the codec was enabled stay readable.
type Codec struct {
	aead  cipher.AEAD
	keyID string
}

var _ converter.PayloadCodec = (*Codec)(nil)

// NewCodec returns a codec for a 32-byte key.
func NewCodec(key []byte) (*Codec, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("AES-256 key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(key)
	return &Codec{aead: aead, keyID: hex.EncodeToString(sum[:8])}, nil
}

// LoadCodec reads the key file named by BACKUPFLOW_CODEC_KEY_FILE: 32 raw
// bytes, or 32 bytes written as base64 (`openssl rand -base64 32`) or hex
// (`openssl rand -hex 32`), surrounding whitespace ignored.
func LoadCodec(path string) (*Codec, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("BACKUPFLOW_CODEC_KEY_FILE: %w", err)
	}
	key, err := parseKey(raw)
	if err != nil {
		return nil, fmt.Errorf("BACKUPFLOW_CODEC_KEY_FILE %s: %w", path, err)
	}
	return NewCodec(key)
}

func parseKey(raw []byte) ([]byte, error) {
	if len(raw) == 32 {
		return raw, nil
	}
	text := string(bytes.TrimSpace(raw))
	if k, err := hex.DecodeString(text); err == nil && len(k) == 32 {
		return k, nil
	}
	if k, err := base64.StdEncoding.DecodeString(text); err == nil && len(k) == 32 {
		return k, nil
	}
	return nil, fmt.Errorf("want a 32-byte key: 32 raw bytes, 64 hex digits or 44 base64 characters (%d bytes read)", len(raw))
}

// KeyID identifies the key without revealing it.
func (c *Codec) KeyID() string { return c.keyID }

// Encode implements converter.PayloadCodec.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("codec: marshal payload: %w", err)
		}
		nonce := make([]byte, c.aead.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("codec: nonce: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(EncodingEncrypted),
				MetadataCipher:             []byte(cipherName),
				MetadataKeyID:              []byte(c.keyID),
			},
			Data: c.aead.Seal(nonce, nonce, plain, []byte(c.keyID)),
		}
	}
	return out, nil
}

// Decode implements converter.PayloadCodec.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != EncodingEncrypted {
			out[i] = p
			continue
		}
		if id := string(p.GetMetadata()[MetadataKeyID]); id != c.keyID {
			return nil, fmt.Errorf("codec: payload was encrypted with key %s; this key is %s", id, c.keyID)
		}
		data := p.GetData()
		n := c.aead.NonceSize()
		if len(data) < n+c.aead.Overhead() {
			return nil, fmt.Errorf("codec: encrypted payload too short (%d bytes)", len(data))
		}
		plain, err := c.aead.Open(nil, data[:n], data[n:], []byte(c.keyID))
		if err != nil {
			return nil, fmt.Errorf("codec: decrypt payload: %w", err)
		}
		var orig commonpb.Payload
		if err := proto.Unmarshal(plain, &orig); err != nil {
			return nil, fmt.Errorf("codec: unmarshal decrypted payload: %w", err)
		}
		out[i] = &orig
	}
	return out, nil
}

// DataConverter returns the default data converter with this codec, for
// client.Options.DataConverter. A nil codec returns the default converter.
func (c *Codec) DataConverter() converter.DataConverter {
	if c == nil {
		return converter.GetDefaultDataConverter()
	}
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}
