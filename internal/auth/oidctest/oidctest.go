// Package oidctest is a minimal OpenID Connect provider for tests, as
// httptest is a server: discovery, JWKS, an authorization endpoint that
// signs in whichever user the test chose (no login page), and a token
// endpoint that checks the code, the client secret and the PKCE verifier
// and returns an RS256-signed ID token with the nonce, the user name
// (preferred_username) and the groups.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Provider is a running test OpenID provider; it stops when the test ends.
type Provider struct {
	t   testing.TB
	srv *httptest.Server
	// URL is the issuer.
	URL    string
	key    *rsa.PrivateKey
	mu     sync.Mutex
	user   string
	groups []string
	codes  map[string]codeGrant
}

type codeGrant struct {
	nonce, challenge, user string
	groups                 []string
}

// New starts a provider for one client (its ID and secret).
func New(t testing.TB, clientID, clientSecret string) *Provider {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	op := &Provider{t: t, key: key, codes: map[string]codeGrant{}}
	mux := http.NewServeMux()
	op.srv = httptest.NewServer(mux)
	t.Cleanup(op.srv.Close)
	iss := op.srv.URL
	op.URL = iss
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": iss, "authorization_endpoint": iss + "/authorize", "token_endpoint": iss + "/token", "jwks_uri": iss + "/jwks",
			"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"}, "id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != clientID || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || !strings.Contains(q.Get("scope"), "openid") {
			http.Error(w, "bad authorization request", 400)
			return
		}
		op.mu.Lock()
		code := rand.Text()
		op.codes[code] = codeGrant{nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), user: op.user, groups: op.groups}
		op.mu.Unlock()
		u, _ := url.Parse(q.Get("redirect_uri"))
		v := url.Values{"code": {code}, "state": {q.Get("state")}}
		u.RawQuery = v.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		id, secret, _ := r.BasicAuth()
		if id == "" {
			id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
		}
		op.mu.Lock()
		g, ok := op.codes[r.PostFormValue("code")]
		delete(op.codes, r.PostFormValue("code"))
		op.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
		if !ok || id != clientID || secret != clientSecret || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			_, _ = io.WriteString(w, `{"error":"invalid_grant"}`)
			return
		}
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
		if err != nil {
			t.Error(err)
			return
		}
		now := time.Now()
		claims, _ := json.Marshal(map[string]any{"iss": iss, "sub": "id-" + g.user, "aud": clientID, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
			"nonce": g.nonce, "preferred_username": g.user, "groups": g.groups})
		jws, err := signer.Sign(claims)
		if err != nil {
			t.Error(err)
			return
		}
		idt, _ := jws.CompactSerialize()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 3600, "id_token": idt})
	})
	return op
}

// SignIn chooses who the next authorization signs in.
func (op *Provider) SignIn(user string, groups ...string) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.user, op.groups = user, groups
}
