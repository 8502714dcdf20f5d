package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/vigilhq/vigil/internal/state"
)

// testOP is a minimal OpenID provider: discovery, JWKS, an authorization
// endpoint that signs in whichever user the test chose, and a token
// endpoint that checks the code, the client secret and the PKCE verifier
// and returns an RS256-signed ID token.
type testOP struct {
	t      *testing.T
	srv    *httptest.Server
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

func newTestOP(t *testing.T) *testOP {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	op := &testOP{t: t, key: key, codes: map[string]codeGrant{}}
	mux := http.NewServeMux()
	op.srv = httptest.NewServer(mux)
	t.Cleanup(op.srv.Close)
	iss := op.srv.URL
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
		if q.Get("client_id") != "vigil" || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || !strings.Contains(q.Get("scope"), "openid") {
			http.Error(w, "bad authorization request", 400)
			return
		}
		op.mu.Lock()
		code := newSecret()
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
		if !ok || id != "vigil" || secret != "s3cret" || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
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
		claims, _ := json.Marshal(map[string]any{"iss": iss, "sub": "id-" + g.user, "aud": "vigil", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
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

func (op *testOP) signIn(user string, groups ...string) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.user, op.groups = user, groups
}

func TestOIDCLoginMapsGroupsToRoles(t *testing.T) {
	op := newTestOP(t)
	ctx := context.Background()
	db, err := state.Open(ctx, filepath.Join(t.TempDir(), "state.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, _ := OpenStore(ctx, db, nil)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	a, err := New(ctx, Options{Store: st, OIDC: &OIDCOptions{
		Issuer: op.srv.URL, ClientID: "vigil", ClientSecret: "s3cret", RedirectURL: srv.URL + "/login/oidc/callback",
		RoleGroups: map[Role][]string{Admin: {"ops"}, Editor: {"devs"}}, Name: "Test ID",
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range a.Routes() {
		mux.Handle(rt.MuxPattern(), a.Guard(rt.Scope, rt.Handler))
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "home") })

	login := func(user string, groups ...string) (*http.Client, int, string) {
		t.Helper()
		op.signIn(user, groups...)
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		resp, err := c.Get(srv.URL + "/login/oidc?next=/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return c, resp.StatusCode, string(b)
	}
	me := func(c *http.Client) (int, string) {
		resp, err := c.Get(srv.URL + "/vigil/api/v1/me")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	// The login page offers the provider.
	resp, _ := http.Get(srv.URL + "/login")
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "Sign in with Test ID") {
		t.Fatalf("login page lacks the SSO button: %s", page)
	}

	c, code, body := login("olga", "staff", "ops")
	if code != 200 || body != "home" {
		t.Fatalf("oidc login: %d %s", code, body)
	}
	if code, body := me(c); code != 200 || !strings.Contains(body, `"user":"olga"`) || !strings.Contains(body, `"role":"admin"`) {
		t.Fatalf("me after oidc login: %d %s", code, body)
	}
	c, _, _ = login("dev", "devs")
	if _, body := me(c); !strings.Contains(body, `"role":"editor"`) {
		t.Fatalf("devs group: %s", body)
	}
	// In none of the mapped groups (and no default role): refused.
	c, code, body = login("guest", "visitors")
	if code != 401 || !strings.Contains(body, "none of the groups") {
		t.Fatalf("unmapped user: %d %s", code, body)
	}
	if code, _ := me(c); code != 401 {
		t.Fatalf("unmapped user has a session: %d", code)
	}
	// The role follows the groups at the next login.
	c, _, _ = login("olga", "devs")
	if _, body := me(c); !strings.Contains(body, `"role":"editor"`) {
		t.Fatalf("olga after leaving ops: %s", body)
	}
	// An SSO user cannot sign in with a password.
	if status, _, _ := a.login(ctx, "olga", "", "1.2.3.4"); status != http.StatusUnauthorized {
		t.Fatalf("password login of an SSO user: %d", status)
	}
	// A provider user named like a local user does not get that user's account.
	if err := st.AddUser(ctx, "root", Admin, "root-password"); err != nil {
		t.Fatal(err)
	}
	c, code, _ = login("root", "visitors", "devs")
	if code != 401 {
		t.Fatalf("SSO user named like a local admin: %d", code)
	}
	if code, _ := me(c); code != 401 {
		t.Fatal("SSO login took over a local user")
	}
	// A callback with a forged state is refused.
	jar, _ := cookiejar.New(nil)
	fc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, _ = fc.Get(srv.URL + "/login/oidc")
	resp.Body.Close()
	resp, _ = fc.Get(srv.URL + "/login/oidc/callback?code=x&state=forged")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(string(b), "state mismatch") {
		t.Fatalf("forged state: %d %s", resp.StatusCode, b)
	}
}
