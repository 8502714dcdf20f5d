package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen uint32
	KeyLen  uint32
}

// DefaultParams follow OWASP's password storage cheat sheet (argon2id,
// m=19 MiB, t=2, p=1): the cheapest setting it recommends, chosen because
// Vigil often runs on small machines where a login must not take a core
// for long. BenchmarkHashPassword measures its cost (docs/perf/auth.md);
// TestDefaultParamsCost keeps it at or above the OWASP floor.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// ErrBadHash is returned for a stored hash that is not an argon2id PHC string.
var ErrBadHash = errors.New("stored password hash is not an argon2id PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$hash)")

// HashPassword returns password's argon2id hash in the PHC string format.
func HashPassword(password string, p Params) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: read random salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// VerifyPassword reports whether password matches the PHC-encoded hash.
// The comparison is constant-time.
func VerifyPassword(password, encoded string) (bool, error) {
	p, salt, key, err := parseHash(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// Bounds on parameters read back from the database, so that a corrupted
// or hostile row cannot make one login allocate gigabytes.
const (
	maxMemory = 1 << 20 // KiB (1 GiB)
	maxTime   = 64
	maxKeyLen = 128
)

// parseHash parses "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>".
func parseHash(s string) (Params, []byte, []byte, error) {
	var p Params
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, ErrBadHash
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: version %q, want v=%d", ErrBadHash, parts[2], argon2.Version)
	}
	seen := 0
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return p, nil, nil, ErrBadHash
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, nil, nil, fmt.Errorf("%w: parameter %q", ErrBadHash, kv)
		}
		switch k {
		case "m":
			p.Memory, seen = uint32(n), seen|1
		case "t":
			p.Time, seen = uint32(n), seen|2
		case "p":
			if n > 255 {
				return p, nil, nil, fmt.Errorf("%w: parameter %q", ErrBadHash, kv)
			}
			p.Threads, seen = uint8(n), seen|4
		default:
			return p, nil, nil, fmt.Errorf("%w: unknown parameter %q", ErrBadHash, k)
		}
	}
	if seen != 7 || p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory || p.Time < 1 || p.Time > maxTime || p.Threads < 1 {
		return p, nil, nil, fmt.Errorf("%w: parameters %q out of range", ErrBadHash, parts[3])
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return p, nil, nil, fmt.Errorf("%w: salt", ErrBadHash)
	}
	key, err := enc.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > maxKeyLen {
		return p, nil, nil, fmt.Errorf("%w: key", ErrBadHash)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}
