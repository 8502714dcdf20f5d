package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/vigilhq/vigil/internal/route"
	"github.com/vigilhq/vigil/internal/state"
)

// defaultParams are the production parameters, before TestMain lowers them.
var defaultParams Params

func TestMain(m *testing.M) {
	// The cheapest argon2id parameters keep the tests fast; the default's
	// cost is checked by TestDefaultParamsCost.
	defaultParams = DefaultParams
	DefaultParams = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	dummyHash, _ = HashPassword("x", DefaultParams)
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	t     *testing.T
	a     *Auth
	clock *clock
	srv   *httptest.Server
	mux   *http.ServeMux
}

// newFixture serves the auth routes plus one route per scope, each
// answering "ok <scope>".
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := state.Open(ctx, filepath.Join(t.TempDir(), "state.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	st, err := OpenStore(ctx, db, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(ctx, Options{Store: st, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	routes := a.Routes()
	for _, s := range route.Scopes {
		s := s
		routes = append(routes, route.Func("", "/test/"+string(s), s, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "ok "+string(s)+" "+Caller(r))
		}, ""))
	}
	for _, rt := range routes {
		mux.Handle(rt.MuxPattern(), a.Guard(rt.Scope, rt.Handler))
	}
	f := &fixture{t: t, a: a, clock: c, srv: httptest.NewServer(mux), mux: mux}
	t.Cleanup(f.srv.Close)
	for _, u := range []struct {
		name string
		role Role
	}{{"vera", Viewer}, {"ed", Editor}, {"ada", Admin}} {
		if err := st.AddUser(ctx, u.name, u.role, "password-"+u.name); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

type req struct {
	method, path, body string
	header             []string
	cookies            []*http.Cookie
}

func (f *fixture) do(r req) (int, http.Header, string, []*http.Cookie) {
	f.t.Helper()
	if r.method == "" {
		r.method = "GET"
	}
	hr, _ := http.NewRequest(r.method, f.srv.URL+r.path, strings.NewReader(r.body))
	for i := 0; i+1 < len(r.header); i += 2 {
		hr.Header.Set(r.header[i], r.header[i+1])
	}
	for _, c := range r.cookies {
		hr.AddCookie(c)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(hr)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b), resp.Cookies()
}

// token creates a token for owner with the given scopes, directly.
func (f *fixture) token(owner string, scopes Scopes, expires time.Time) (string, Token) {
	f.t.Helper()
	secret, tok, err := f.a.store.createToken(context.Background(), "test", owner, scopes, expires)
	if err != nil {
		f.t.Fatal(err)
	}
	f.a.tokens.add(tok)
	return secret, tok
}

// login signs in through the JSON API and returns the cookies and CSRF token.
func (f *fixture) login(user, pw string) ([]*http.Cookie, string) {
	f.t.Helper()
	code, _, body, cookies := f.do(req{method: "POST", path: "/vigil/api/v1/login", body: `{"username":"` + user + `","password":"` + pw + `"}`, header: []string{"Content-Type", "application/json"}})
	if code != 200 {
		f.t.Fatalf("login %s: %d %s", user, code, body)
	}
	var m me
	if err := json.Unmarshal([]byte(body), &m); err != nil || m.CSRFToken == "" {
		f.t.Fatalf("login answer %s: %v", body, err)
	}
	var csrfCookie string
	for _, c := range cookies {
		if c.Name == SessionCookie && (!c.HttpOnly || c.SameSite != http.SameSiteStrictMode) {
			f.t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict", c)
		}
		if c.Name == CSRFCookie {
			csrfCookie = c.Value
		}
	}
	if csrfCookie != m.CSRFToken {
		f.t.Fatalf("csrf cookie %q != csrf_token %q", csrfCookie, m.CSRFToken)
	}
	return cookies, m.CSRFToken
}

func TestTokensAndScopes(t *testing.T) {
	f := newFixture(t)
	read, _ := f.token("vera", scopeRead, time.Time{})
	ingest, _ := f.token("ci", scopeIngest, time.Time{})
	admin, _ := f.token("ada", Admin.Scopes(), time.Time{})
	basic := func(tok string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte("promtail:"+tok)) }

	check := func(path, auth string, want int) {
		t.Helper()
		var h []string
		if auth != "" {
			h = []string{"Authorization", auth}
		}
		code, hdr, body, _ := f.do(req{method: "POST", path: path, header: h})
		if code != want {
			t.Fatalf("POST %s with %q: %d %s; want %d", path, auth, code, body, want)
		}
		switch code {
		case 401:
			if hdr.Get("WWW-Authenticate") == "" {
				t.Fatalf("401 without WWW-Authenticate")
			}
		case 403:
			scope := strings.TrimPrefix(path, "/test/")
			if !strings.Contains(body, `"`+scope+`"`) {
				t.Fatalf("403 body %q does not name the scope %q", body, scope)
			}
		}
	}
	check("/test/public", "", 200)
	check("/test/read", "", 401)
	check("/test/read", "Bearer "+read, 200)
	check("/test/read", basic(read), 200)
	check("/test/read", "Bearer vigil_"+strings.Repeat("A", 43), 401)
	check("/test/read", "Bearer "+read[:len(read)-1]+"x", 401)
	check("/test/read", "Basic garbage", 401)
	check("/test/write", "Bearer "+read, 403)
	check("/test/ingest", "Bearer "+read, 403)
	check("/test/ingest", "Bearer "+ingest, 200)
	check("/test/ingest", basic(ingest), 200)
	check("/test/read", "Bearer "+ingest, 403)
	check("/test/admin", "Bearer "+admin, 200)
	check("/test/ingest", "Bearer "+admin, 200)

	// The caller is the token's owner.
	if _, _, body, _ := f.do(req{path: "/test/read", header: []string{"Authorization", "Bearer " + read}}); body != "ok read vera" {
		t.Fatalf("body %q", body)
	}

	// Revocation takes effect at once, also for a token already in the hot map.
	code, _, body, _ := f.do(req{path: "/vigil/api/v1/tokens", header: []string{"Authorization", "Bearer " + admin}})
	if code != 200 || !strings.Contains(body, `"owner":"ci"`) {
		t.Fatalf("list tokens: %d %s", code, body)
	}
	var list struct{ Data []Token }
	_ = json.Unmarshal([]byte(body), &list)
	var ciID string
	for _, tk := range list.Data {
		if tk.Owner == "ci" {
			ciID = tk.ID
		}
	}
	if strings.Contains(body, ingest) || strings.Contains(body, "hash") {
		t.Fatal("token list shows a secret or its hash")
	}
	code, _, body, _ = f.do(req{method: "DELETE", path: "/vigil/api/v1/tokens/" + ciID, header: []string{"Authorization", "Bearer " + admin}})
	if code != 200 {
		t.Fatalf("revoke: %d %s", code, body)
	}
	check("/test/ingest", "Bearer "+ingest, 401)

	// A new Auth on the same store (a restart) knows the live tokens and not the revoked one.
	a2, err := New(context.Background(), Options{Store: f.a.store, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if a2.tokenPrincipal(read, "bearer") == nil || a2.tokenPrincipal(ingest, "bearer") != nil {
		t.Fatal("restart: live token unknown or revoked token accepted")
	}
}

func TestTokenExpiry(t *testing.T) {
	f := newFixture(t)
	tok, _ := f.token("vera", scopeRead, f.clock.Now().Add(time.Hour))
	h := []string{"Authorization", "Bearer " + tok}
	if code, _, _, _ := f.do(req{path: "/test/read", header: h}); code != 200 {
		t.Fatalf("fresh token: %d", code)
	}
	f.clock.Add(time.Hour)
	if code, _, _, _ := f.do(req{path: "/test/read", header: h}); code != 401 {
		t.Fatalf("expired token: %d", code)
	}
}

func TestCreateTokenWithinRole(t *testing.T) {
	f := newFixture(t)
	cookies, csrf := f.login("ed", "password-ed")
	create := func(body string, want int) string {
		t.Helper()
		code, _, out, _ := f.do(req{method: "POST", path: "/vigil/api/v1/tokens", body: body, cookies: cookies, header: []string{"X-CSRF-Token", csrf, "Content-Type", "application/json"}})
		if code != want {
			t.Fatalf("create %s: %d %s; want %d", body, code, out, want)
		}
		return out
	}
	out := create(`{"name":"ci","scopes":["read","write"],"expires_in":"90d"}`, 201)
	create(`{"name":"ci","scopes":["admin"]}`, 403)
	create(`{"name":"ci","scopes":["ingest"]}`, 403)
	create(`{"name":"ci","scopes":["read"],"owner":"ada"}`, 403)
	create(`{"name":"ci","scopes":["bogus"]}`, 400)
	create(`{"name":"","scopes":["read"]}`, 400)
	var resp struct {
		Data struct {
			Token string
			Info  Token
		}
	}
	_ = json.Unmarshal([]byte(out), &resp)
	if !looksLikeToken(resp.Data.Token) || resp.Data.Info.ExpiresAt == nil {
		t.Fatalf("create answer %s", out)
	}
	if code, _, body, _ := f.do(req{method: "POST", path: "/test/write", header: []string{"Authorization", "Bearer " + resp.Data.Token}}); code != 200 || body != "ok write ed" {
		t.Fatalf("new token: %d %s", code, body)
	}
}

func TestSessionCSRFAndLogout(t *testing.T) {
	f := newFixture(t)
	cookies, csrf := f.login("ed", "password-ed")
	if code, _, body, _ := f.do(req{path: "/test/read", cookies: cookies}); code != 200 || body != "ok read ed" {
		t.Fatalf("GET with session: %d %s", code, body)
	}
	if code, _, body, _ := f.do(req{method: "POST", path: "/test/write", cookies: cookies}); code != 403 || !strings.Contains(body, CSRFHeader) {
		t.Fatalf("POST without CSRF: %d %s", code, body)
	}
	if code, _, _, _ := f.do(req{method: "POST", path: "/test/write", cookies: cookies, header: []string{CSRFHeader, csrf + "x"}}); code != 403 {
		t.Fatalf("POST with a wrong CSRF token: %d", code)
	}
	if code, _, _, _ := f.do(req{method: "POST", path: "/test/write", cookies: cookies, header: []string{CSRFHeader, csrf}}); code != 200 {
		t.Fatalf("POST with CSRF: %d", code)
	}
	if code, _, _, _ := f.do(req{method: "POST", path: "/test/write", cookies: cookies, header: []string{CSRFHeader, csrf, "Sec-Fetch-Site", "cross-site"}}); code != 403 {
		t.Fatalf("cross-site POST: %d", code)
	}
	if code, _, _, _ := f.do(req{method: "POST", path: "/test/admin", cookies: cookies, header: []string{CSRFHeader, csrf}}); code != 403 {
		t.Fatalf("editor on admin route: %d", code)
	}
	// The change was audited with who and from where.
	evs, err := f.a.store.AuditEvents(context.Background(), AuditQuery{Action: "POST /test/write"})
	if err != nil || len(evs) == 0 || evs[0].Actor != "user:ed" || evs[0].Client == "" || evs[0].Status != 200 {
		t.Fatalf("audit: %+v, %v", evs, err)
	}
	if code, _, body, _ := f.do(req{method: "POST", path: "/vigil/api/v1/logout", cookies: cookies, header: []string{CSRFHeader, csrf}}); code != 200 {
		t.Fatalf("logout: %d %s", code, body)
	}
	if code, _, _, _ := f.do(req{path: "/test/read", cookies: cookies}); code != 401 {
		t.Fatalf("after logout: %d", code)
	}
}

func TestSessionExpiry(t *testing.T) {
	f := newFixture(t)
	cookies, _ := f.login("vera", "password-vera")
	get := func() int {
		code, _, _, _ := f.do(req{path: "/test/read", cookies: cookies})
		return code
	}
	// Activity keeps the session past the idle timeout...
	for i := 0; i < 3; i++ {
		f.clock.Add(11 * time.Hour)
		if c := get(); c != 200 {
			t.Fatalf("active session after %d×11h: %d", i+1, c)
		}
	}
	// ...but not past the idle timeout without activity.
	f.clock.Add(12 * time.Hour)
	if c := get(); c != 401 {
		t.Fatalf("idle session: %d", c)
	}
	// The absolute timeout ends even an active session.
	cookies, _ = f.login("vera", "password-vera")
	for i := 0; i < 16; i++ {
		f.clock.Add(11 * time.Hour)
		get()
	}
	if c := get(); c != 401 {
		t.Fatalf("session 7d old: %d", c)
	}
}

func TestRevokeSessionAndUserDeletion(t *testing.T) {
	f := newFixture(t)
	vc, _ := f.login("vera", "password-vera")
	ac, acsrf := f.login("ada", "password-ada")
	tok, _ := f.token("vera", scopeRead, time.Time{})
	_, _, body, _ := f.do(req{path: "/vigil/api/v1/sessions?user=vera", cookies: ac})
	var list struct{ Data []Session }
	_ = json.Unmarshal([]byte(body), &list)
	if len(list.Data) != 1 {
		t.Fatalf("sessions of vera: %s", body)
	}
	if code, _, body, _ := f.do(req{method: "DELETE", path: "/vigil/api/v1/sessions/" + list.Data[0].ID, cookies: ac, header: []string{CSRFHeader, acsrf}}); code != 200 {
		t.Fatalf("revoke session: %d %s", code, body)
	}
	if code, _, _, _ := f.do(req{path: "/test/read", cookies: vc}); code != 401 {
		t.Fatalf("revoked session: %d", code)
	}
	if code, _, body, _ := f.do(req{method: "DELETE", path: "/vigil/api/v1/users/vera", cookies: ac, header: []string{CSRFHeader, acsrf}}); code != 200 {
		t.Fatalf("delete user: %d %s", code, body)
	}
	if code, _, _, _ := f.do(req{path: "/test/read", header: []string{"Authorization", "Bearer " + tok}}); code != 401 {
		t.Fatalf("token of a deleted user: %d", code)
	}
}

func TestLoginLimitsDoNotRevealUsers(t *testing.T) {
	f := newFixture(t)
	try := func(user, pw string) (int, string) {
		code, hdr, body, _ := f.do(req{method: "POST", path: "/vigil/api/v1/login", body: `{"username":"` + user + `","password":"` + pw + `"}`})
		return code, hdr.Get("Retry-After") + body
	}
	// A wrong password for a real user and any password for a missing
	// user get the same answer, and both lock after 5 failures.
	for _, user := range []string{"ada", "nobody"} {
		var first string
		for i := 0; i < 5; i++ {
			code, body := try(user, "wrong")
			if code != 401 {
				t.Fatalf("%s attempt %d: %d %s", user, i, code, body)
			}
			if first == "" {
				first = body
			} else if body != first {
				t.Fatalf("answers differ: %q vs %q", body, first)
			}
		}
		if code, body := try(user, "password-ada"); code != 429 || !strings.HasPrefix(body, "180") {
			t.Fatalf("%s after 5 failures: %d %s; want 429 with Retry-After 180", user, code, body)
		}
	}
	// The lock lifts as the bucket refills; success resets it.
	f.clock.Add(3 * time.Minute)
	if code, body := try("ada", "password-ada"); code != 200 {
		t.Fatalf("after 3m: %d %s", code, body)
	}
	for i := 0; i < 5; i++ {
		if code, _ := try("ada", "wrong"); code != 401 {
			t.Fatalf("after a success, failure %d: %d", i, code)
		}
	}
	// Failed logins are audited with the address, never the password.
	evs, _ := f.a.store.AuditEvents(context.Background(), AuditQuery{Action: "login.failed", Limit: 1000})
	if len(evs) < 10 {
		t.Fatalf("audit has %d failed logins", len(evs))
	}
	b, _ := json.Marshal(evs)
	if strings.Contains(string(b), "wrong") || strings.Contains(string(b), "password-ada") {
		t.Fatal("audit log holds a password")
	}
}

func TestLoginLimitPerClient(t *testing.T) {
	l := newLoginLimiter(LoginLimits{})
	now := time.Unix(0, 0)
	for i := 0; i < 20; i++ {
		if ok, _ := l.attempt("user"+string(rune('a'+i)), "10.0.0.1", now); !ok {
			t.Fatalf("attempt %d refused", i)
		}
	}
	if ok, wait := l.attempt("other", "10.0.0.1", now); ok || wait != 6*time.Second {
		t.Fatalf("21st attempt from one client: ok=%v wait=%v; want refused for 6s", ok, wait)
	}
	if ok, _ := l.attempt("other", "10.0.0.2", now); !ok {
		t.Fatal("another client refused")
	}
}

func TestLoginPageAndForm(t *testing.T) {
	f := newFixture(t)
	code, hdr, body, _ := f.do(req{path: "/login"})
	if code != 200 || !strings.Contains(body, `<label for="password">`) || !strings.Contains(hdr.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("login page: %d %s", code, body)
	}
	if strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Fatal("login page loads external assets")
	}
	form := "application/x-www-form-urlencoded"
	code, _, body, _ = f.do(req{method: "POST", path: "/login", body: "username=ada&password=nope&next=/x", header: []string{"Content-Type", form}})
	if code != 401 || !strings.Contains(body, "Wrong user name or password") {
		t.Fatalf("bad login form: %d %s", code, body)
	}
	code, hdr, _, cookies := f.do(req{method: "POST", path: "/login", body: "username=ada&password=password-ada&next=//evil.example", header: []string{"Content-Type", form}})
	if code != 303 || hdr.Get("Location") != "/" {
		t.Fatalf("login form: %d, Location %q", code, hdr.Get("Location"))
	}
	var csrf string
	for _, c := range cookies {
		if c.Name == CSRFCookie {
			csrf = c.Value
		}
	}
	// The logout form carries the CSRF token as a field.
	code, hdr, _, _ = f.do(req{method: "POST", path: "/logout", body: "csrf_token=" + csrf, cookies: cookies, header: []string{"Content-Type", form}})
	if code != 303 || hdr.Get("Location") != "/login" {
		t.Fatalf("logout form: %d", code)
	}
	if code, _, _, _ := f.do(req{path: "/test/read", cookies: cookies}); code != 401 {
		t.Fatalf("after logout form: %d", code)
	}
}

func TestBootstrapSetupLink(t *testing.T) {
	ctx := context.Background()
	db, err := state.Open(ctx, filepath.Join(t.TempDir(), "state.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, _ := OpenStore(ctx, db, nil)
	a, err := New(ctx, Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	link, err := a.Bootstrap(ctx, "")
	if err != nil || !strings.HasPrefix(link, "/setup?token=") {
		t.Fatalf("Bootstrap = %q, %v", link, err)
	}
	secret := strings.TrimPrefix(link, "/setup?token=")
	if err := st.completeSetup(ctx, "wrong", "root", "long-enough"); err == nil {
		t.Fatal("setup with a wrong secret succeeded")
	}
	if err := st.completeSetup(ctx, secret, "root", "long-enough"); err != nil {
		t.Fatal(err)
	}
	if err := st.completeSetup(ctx, secret, "root2", "long-enough"); err == nil {
		t.Fatal("setup link used twice")
	}
	if link, _ := a.Bootstrap(ctx, ""); link != "" {
		t.Fatalf("Bootstrap with users = %q", link)
	}
	users, _ := st.Users(ctx)
	if len(users) != 1 || users[0].Role != Admin {
		t.Fatalf("users %+v", users)
	}
}

func TestDisabledGuardPassesThrough(t *testing.T) {
	a, err := New(context.Background(), Options{Disabled: true})
	if err != nil {
		t.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	if got := a.Guard(route.Admin, h); got == nil || len(a.Routes()) == 0 || a.GRPCServerOptions(route.Ingest) != nil {
		t.Fatal("disabled auth wraps or adds routes")
	}
}

func TestGRPCCheck(t *testing.T) {
	f := newFixture(t)
	ingest, _ := f.token("ci", scopeIngest, time.Time{})
	read, _ := f.token("vera", scopeRead, time.Time{})
	f1 := func(md metadata.MD, want codes.Code) {
		t.Helper()
		ctx := metadata.NewIncomingContext(context.Background(), md)
		ctx, err := f.a.checkGRPC(ctx, route.Ingest)
		if status.Code(err) != want {
			t.Fatalf("checkGRPC(%v) = %v; want %v", md, err, want)
		}
		if err == nil && FromContext(ctx).User != "ci" {
			t.Fatal("principal not in context")
		}
	}
	f1(metadata.MD{}, codes.Unauthenticated)
	f1(metadata.Pairs("authorization", "Bearer "+ingest), codes.OK)
	f1(metadata.Pairs("authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("x:"+ingest))), codes.OK)
	f1(metadata.Pairs("authorization", "Bearer nope"), codes.Unauthenticated)
	f1(metadata.Pairs("authorization", "Bearer "+read), codes.PermissionDenied)
}

func TestTokenUseAudited(t *testing.T) {
	f := newFixture(t)
	tok, info := f.token("ci", scopeIngest, time.Time{})
	for i := 0; i < 3; i++ {
		f.do(req{method: "POST", path: "/test/ingest", header: []string{"Authorization", "Bearer " + tok}})
	}
	f.a.flushTokenUse(context.Background())
	evs, _ := f.a.store.AuditEvents(context.Background(), AuditQuery{Action: "token.use"})
	if len(evs) != 1 || evs[0].Detail != "3 requests" || evs[0].Target != "ingest" || !strings.Contains(evs[0].Actor, info.ID) {
		t.Fatalf("token use events %+v", evs)
	}
	toks, _ := f.a.store.tokens(context.Background(), "ci", false)
	if len(toks) != 1 || toks[0].LastUsedAt == nil {
		t.Fatalf("last used not recorded: %+v", toks)
	}
	// Ingest itself is not audited per request.
	if evs, _ := f.a.store.AuditEvents(context.Background(), AuditQuery{Action: "POST /test/ingest"}); len(evs) != 0 {
		t.Fatalf("ingest requests audited one by one: %d", len(evs))
	}
}

func TestAuditAPIForAdminsOnly(t *testing.T) {
	f := newFixture(t)
	vc, _ := f.login("vera", "password-vera")
	ac, _ := f.login("ada", "password-ada")
	if code, _, _, _ := f.do(req{path: "/vigil/api/v1/audit", cookies: vc}); code != 403 {
		t.Fatalf("viewer reads audit: %d", code)
	}
	code, _, body, _ := f.do(req{path: "/vigil/api/v1/audit?action=login&limit=10", cookies: ac})
	if code != 200 || !strings.Contains(body, `"actor":"user:vera"`) {
		t.Fatalf("audit: %d %s", code, body)
	}
	if code, _, _, _ := f.do(req{path: "/vigil/api/v1/audit?limit=0", cookies: ac}); code != 400 {
		t.Fatalf("bad limit: %d", code)
	}
}

func TestTokenIndexReload(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tok, _ := f.token("vera", scopeRead, time.Time{})
	internal := f.a.InternalToken("self-scrape", route.Read)
	h := func(tk string) int {
		code, _, _, _ := f.do(req{path: "/test/read", header: []string{"Authorization", "Bearer " + tk}})
		return code
	}
	if h(tok) != 200 || h(internal) != 200 {
		t.Fatal("tokens refused")
	}
	// Another process (vigil users delete) revokes vera's token in the database.
	if _, err := f.a.store.DeleteUser(ctx, "vera"); err != nil {
		t.Fatal(err)
	}
	if err := f.a.tokens.load(ctx, f.a.store); err != nil {
		t.Fatal(err)
	}
	if h(tok) != 401 {
		t.Fatal("token revoked in the database still accepted after a reload")
	}
	if h(internal) != 200 {
		t.Fatal("the in-memory token was lost by the reload")
	}
}

func TestPrune(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.login("vera", "password-vera")
	f.clock.Add(9 * 24 * time.Hour)
	if err := f.a.store.prune(ctx, f.clock.Now().Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	var n int
	_ = f.a.store.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM auth_sessions`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d ended sessions left", n)
	}
	if evs, _ := f.a.store.AuditEvents(ctx, AuditQuery{}); len(evs) != 0 {
		t.Fatalf("%d old audit events left", len(evs))
	}
}

func TestRunRecordsTokenUse(t *testing.T) {
	f := newFixture(t)
	tok, info := f.token("ci", scopeIngest, time.Time{})
	a, err := New(context.Background(), Options{Store: f.a.store, Now: f.clock.Now, TokenAuditInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	if a.tokenPrincipal(tok, "bearer") == nil {
		t.Fatal("token unknown")
	}
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/x", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	a.Guard(route.Ingest, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(rec, r)
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs, _ := a.store.AuditEvents(context.Background(), AuditQuery{Action: "token.use"})
		if len(evs) == 1 && strings.Contains(evs[0].Actor, info.ID) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("token use not audited by Run: %+v", evs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestLastAdminKept(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.a.store.SetRole(ctx, "ada", Editor); err == nil || !strings.Contains(err.Error(), "no admin would be left") {
		t.Fatalf("demoting the last admin: %v", err)
	}
	if _, err := f.a.store.DeleteUser(ctx, "ada"); err == nil {
		t.Fatal("deleting the last admin succeeded")
	}
	if err := f.a.store.SetRole(ctx, "ed", Admin); err != nil {
		t.Fatal(err)
	}
	if _, err := f.a.store.DeleteUser(ctx, "ada"); err != nil {
		t.Fatalf("deleting an admin while another is left: %v", err)
	}
}

func TestLoginLimiterFullMapSharesABucket(t *testing.T) {
	l := newLoginLimiter(LoginLimits{})
	now := time.Unix(0, 0)
	for i := 0; i < maxLimiterKeys; i++ {
		for j := 0; j < 5; j++ {
			l.failed(fmt.Sprint("flood-", i), now)
		}
	}
	// Every stored name is locked; a new name falls into the shared
	// overflow bucket, which locks after 5 failures like any name.
	for j := 0; j < 5; j++ {
		if ok, _ := l.attempt("admin", fmt.Sprint("10.0.", j/20, ".1"), now); !ok {
			t.Fatalf("attempt %d refused early", j)
		}
		l.failed("admin", now)
	}
	if ok, _ := l.attempt("admin", "10.9.9.9", now); ok {
		t.Fatal("a new name got attempts outside any limit with the map full")
	}
}
