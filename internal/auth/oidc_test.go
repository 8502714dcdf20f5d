package auth

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/internal/auth/oidctest"
	"github.com/vigilhq/vigil/internal/state"
)

func TestOIDCLoginMapsGroupsToRoles(t *testing.T) {
	op := oidctest.New(t, "vigil", "s3cret")
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
		Issuer: op.URL, ClientID: "vigil", ClientSecret: "s3cret", RedirectURL: srv.URL + "/login/oidc/callback",
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
		op.SignIn(user, groups...)
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
