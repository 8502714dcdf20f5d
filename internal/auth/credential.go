package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// TokenPrefix starts every API token, so that secret scanners and people
// recognise one.
const TokenPrefix = "vigil_"

// tokenLen is len(TokenPrefix) + base64url of 32 random bytes.
const tokenLen = len(TokenPrefix) + 43

// newToken returns a new API token with 256 random bits.
func newToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// newID returns a short random identifier (token and session IDs shown
// in lists; not secret).
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newSecret returns a 256-bit random secret for session cookies, CSRF
// tokens and setup links.
func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// digest is the stored form of a high-entropy secret (token, session ID):
// SHA-256, hex.
func digest(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// looksLikeToken reports whether s has the shape of an API token. It lets
// the middleware reject garbage without touching the index.
func looksLikeToken(s string) bool {
	if len(s) != tokenLen || !strings.HasPrefix(s, TokenPrefix) {
		return false
	}
	for i := len(TokenPrefix); i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// parseAuthorization extracts the API token from an Authorization header
// value: "Bearer <token>" or "Basic base64(user:<token>)" (the user name
// is ignored: Promtail, Alloy and amtool send a token as the basic-auth
// password). ok is false when the header is empty or malformed; kind names
// the scheme for WWW-Authenticate and the audit log.
func parseAuthorization(h string) (token, kind string, ok bool) {
	scheme, rest, found := strings.Cut(h, " ")
	if !found {
		return "", "", false
	}
	rest = strings.TrimLeft(rest, " ")
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		if rest == "" || strings.ContainsAny(rest, " \t") {
			return "", "", false
		}
		return rest, "bearer", true
	case strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return "", "", false
		}
		_, pass, found := strings.Cut(string(raw), ":")
		if !found || pass == "" {
			return "", "", false
		}
		return pass, "basic", true
	}
	return "", "", false
}
