package ops

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
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

// The variables that name key files, for error messages.
const (
	VarCodecKeyFile     = "BACKUPFLOW_CODEC_KEY_FILE"
	VarCodecOldKeyFiles = "BACKUPFLOW_CODEC_OLD_KEY_FILES"
)

// Codec encrypts Temporal payloads with AES-256-GCM under a key ring: it
// encrypts with the current key and decrypts with any key of the ring,
// chosen by the key ID in the payload's metadata, so keys can be rotated
// while workflows run. An encoded payload holds the original payload
// (proto-marshalled, metadata included) sealed with a random 12-byte nonce;
// its own metadata says only the encoding, the cipher and the key ID.
// Decode leaves payloads it did not encrypt as they are, so histories
// written before the codec was enabled stay readable.
type Codec struct {
	current *ringKey
	keys    map[string]*ringKey // by key ID, the current key included
}

type ringKey struct {
	id   string
	aead cipher.AEAD
}

var _ converter.PayloadCodec = (*Codec)(nil)

// NewCodec returns a codec encrypting with current (32 bytes) and also
// decrypting with each old key.
func NewCodec(current []byte, old ...[]byte) (*Codec, error) {
	cur, err := newRingKey(current)
	if err != nil {
		return nil, err
	}
	c := &Codec{current: cur, keys: map[string]*ringKey{cur.id: cur}}
	for _, k := range old {
		rk, err := newRingKey(k)
		if err != nil {
			return nil, err
		}
		c.keys[rk.id] = rk
	}
	return c, nil
}

func newRingKey(key []byte) (*ringKey, error) {
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
	return &ringKey{id: hex.EncodeToString(sum[:8]), aead: aead}, nil
}

// LoadCodec reads the current key from currentPath (BACKUPFLOW_CODEC_KEY_FILE)
// and decrypt-only keys from oldPaths (BACKUPFLOW_CODEC_OLD_KEY_FILES). Each
// file holds 32 bytes written as base64 (`openssl rand -base64 32`) or hex
// (`openssl rand -hex 32`), surrounding whitespace ignored. Errors name the
// variable and the file, never the file's content.
func LoadCodec(currentPath string, oldPaths ...string) (*Codec, error) {
	current, err := readKey(VarCodecKeyFile, currentPath)
	if err != nil {
		return nil, err
	}
	old := make([][]byte, 0, len(oldPaths))
	for _, p := range oldPaths {
		k, err := readKey(VarCodecOldKeyFiles, p)
		if err != nil {
			return nil, err
		}
		old = append(old, k)
	}
	return NewCodec(current, old...)
}

func readKey(variable, path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", variable, err)
	}
	key, err := ParseKey(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: key file %s: %w", variable, path, err)
	}
	return key, nil
}

// ParseKey reads a key file's content: 32 bytes as base64 or hex. The error
// describes what was found without quoting it.
func ParseKey(raw []byte) ([]byte, error) {
	text := string(bytes.TrimSpace(raw))
	if text == "" {
		return nil, errors.New("is empty; want 32 bytes as base64 (`openssl rand -base64 32`) or hex (`openssl rand -hex 32`)")
	}
	var found string
	if k, err := hex.DecodeString(text); err == nil {
		if len(k) == 32 {
			return k, nil
		}
		found = fmt.Sprintf("hex of %d bytes", len(k))
	} else if k, err := base64.StdEncoding.DecodeString(text); err == nil {
		if len(k) == 32 {
			return k, nil
		}
		found = fmt.Sprintf("base64 of %d bytes", len(k))
	} else {
		found = fmt.Sprintf("%d characters that are neither base64 nor hex", len(text))
	}
	return nil, fmt.Errorf("holds %s; want 32 bytes as base64 (44 characters, `openssl rand -base64 32`) or hex (64 digits, `openssl rand -hex 32`)", found)
}

// KeyID identifies the current key without revealing it.
func (c *Codec) KeyID() string { return c.current.id }

// KeyIDs lists the IDs of every key the codec decrypts with, sorted.
func (c *Codec) KeyIDs() []string {
	ids := make([]string, 0, len(c.keys))
	for id := range c.keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Encode implements converter.PayloadCodec.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	k := c.current
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("codec: marshal payload: %w", err)
		}
		nonce := make([]byte, k.aead.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("codec: nonce: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(EncodingEncrypted),
				MetadataCipher:             []byte(cipherName),
				MetadataKeyID:              []byte(k.id),
			},
			Data: k.aead.Seal(nonce, nonce, plain, []byte(k.id)),
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
		id := string(p.GetMetadata()[MetadataKeyID])
		k, ok := c.keys[id]
		if !ok {
			return nil, fmt.Errorf("codec: payload was encrypted with key ID %s, which is not in the key ring (%s); "+
				"add that key's file to %s", printableID(id), printableIDs(c.KeyIDs()), VarCodecOldKeyFiles)
		}
		data := p.GetData()
		n := k.aead.NonceSize()
		if len(data) < n+k.aead.Overhead() {
			return nil, fmt.Errorf("codec: encrypted payload too short (%d bytes)", len(data))
		}
		plain, err := k.aead.Open(nil, data[:n], data[n:], []byte(k.id))
		if err != nil {
			return nil, fmt.Errorf("codec: decrypt payload (key ID %s): %w", k.id, err)
		}
		var orig commonpb.Payload
		if err := proto.Unmarshal(plain, &orig); err != nil {
			return nil, fmt.Errorf("codec: unmarshal decrypted payload: %w", err)
		}
		out[i] = &orig
	}
	return out, nil
}

// printableID quotes a key ID read from a payload: it is not ours to trust.
func printableID(id string) string {
	if len(id) > 64 {
		id = id[:64] + "..."
	}
	return fmt.Sprintf("%q", id)
}

func printableIDs(ids []string) string {
	if len(ids) == 1 {
		return "key ID " + ids[0]
	}
	return fmt.Sprintf("key IDs %v", ids)
}

// DataConverter returns the default data converter with this codec. A nil
// codec returns the default converter. Clients should use Converters or
// ApplyTo, which also encrypt failure messages.
func (c *Codec) DataConverter() converter.DataConverter {
	if c == nil {
		return converter.GetDefaultDataConverter()
	}
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// Converters returns the data converter and the failure converter of a
// client, built together so they cannot disagree: the failure converter
// moves each failure's message and stack trace into a payload that the
// data converter encrypts. Failure types stay readable (the server and the
// clients' classification need them). A nil codec returns Temporal's defaults.
func (c *Codec) Converters() (converter.DataConverter, converter.FailureConverter) {
	if c == nil {
		return converter.GetDefaultDataConverter(), temporal.GetDefaultFailureConverter()
	}
	dc := c.DataConverter()
	return dc, temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{DataConverter: dc, EncodeCommonAttributes: true})
}

// ApplyTo sets the client options' data and failure converters (Converters).
func (c *Codec) ApplyTo(opts *client.Options) {
	opts.DataConverter, opts.FailureConverter = c.Converters()
}
