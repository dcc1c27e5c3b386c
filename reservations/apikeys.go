package reservations

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roomwire/roomwire/canonical"
)

// APIKey is a key scoped to some properties. Its secret is shown once, when
// created; the store keeps only a SHA-256 hash of it.
type APIKey struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Properties []string  `json:"properties"`
	CreatedAt  time.Time `json:"created_at"`
}

// ErrUnauthorized means a secret matches no live API key.
var ErrUnauthorized = errors.New("unauthorized")

// secretPrefix marks Roomwire keys, so that secret scanners can find leaked ones.
const secretPrefix = "rw_"

// CreateAPIKey makes a key for the given properties and returns it with its
// secret, which cannot be recovered later.
func (s *Store) CreateAPIKey(ctx context.Context, name string, properties []string) (APIKey, string, error) {
	var pr canonical.Problems
	if strings.TrimSpace(name) == "" {
		pr.Add("name", "is required, e.g. the partner or system that will use the key")
	}
	pr.CheckText("name", name, canonical.MaxNameLen)
	if len(properties) == 0 {
		pr.Add("properties", "at least one property id is required")
	}
	if len(properties) > 1000 {
		pr.Add("properties", "at most 1000 properties per key")
	}
	for i, p := range properties {
		pr.CheckCode(fmt.Sprintf("properties[%d]", i), p)
	}
	if err := pr.Err(); err != nil {
		return APIKey{}, "", err
	}
	idBytes := make([]byte, 6)
	secretBytes := make([]byte, 32)
	rand.Read(idBytes)
	rand.Read(secretBytes)
	key := APIKey{ID: "key_" + hex.EncodeToString(idBytes), Name: name, Properties: properties}
	secret := secretPrefix + key.ID[len("key_"):] + "_" + base64.RawURLEncoding.EncodeToString(secretBytes)
	err := s.pool.QueryRow(ctx, `INSERT INTO api_keys (id, name, secret_hash, properties) VALUES ($1, $2, $3, $4) RETURNING created_at`,
		key.ID, name, hashSecret(secret), properties).Scan(&key.CreatedAt)
	if err != nil {
		return APIKey{}, "", err
	}
	return key, secret, nil
}

// Authenticate returns the live key whose secret this is.
func (s *Store) Authenticate(ctx context.Context, secret string) (APIKey, error) {
	if !strings.HasPrefix(secret, secretPrefix) || len(secret) > 200 {
		return APIKey{}, ErrUnauthorized
	}
	var k APIKey
	err := s.pool.QueryRow(ctx, `SELECT id, name, properties, created_at FROM api_keys WHERE secret_hash = $1 AND revoked_at IS NULL`,
		hashSecret(secret)).Scan(&k.ID, &k.Name, &k.Properties, &k.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return APIKey{}, ErrUnauthorized
	}
	return k, err
}

// RevokeAPIKey makes a key unusable from now on.
func (s *Store) RevokeAPIKey(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return notFound("API key", id)
	}
	return nil
}

// hashSecret is a plain SHA-256: the secrets are 256 random bits, so a slow
// password hash would add latency to every request and no safety.
func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}
