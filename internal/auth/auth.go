package auth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilhq/vigil/internal/route"
)

// Cookie and header names the web UI uses (docs/security.md).
const (
	SessionCookie = "vigil_session" // HttpOnly; the session's secret
	CSRFCookie    = "vigil_csrf"    // readable by scripts; the value to send in CSRFHeader
	CSRFHeader    = "X-CSRF-Token"  // required on every state-changing request made with a session
)

// Options configure Auth. Store is required unless Disabled.
type Options struct {
	Store *Store
	// Disabled turns authentication off (auth mode none, or loopback with
	// no auth section): Guard returns handlers unchanged.
	Disabled bool
	// IdleTimeout ends a session unused this long (default 12h);
	// AbsoluteTimeout ends every session this long after login (default 7d).
	IdleTimeout, AbsoluteTimeout time.Duration
	// SecureCookies sets the Secure attribute (on when the HTTP port
	// serves TLS; browsers treat http://localhost as secure as well).
	SecureCookies bool
	Login         LoginLimits
	// TokenAuditInterval is how often token use is written to the audit
	// log: one event per token used in the interval, with the count and
	// the scopes used (default 1m).
	TokenAuditInterval time.Duration
	// AuditRetention is how long audit events are kept (default 90d);
	// ended sessions are deleted a day after they end.
	AuditRetention time.Duration
	// PathPrefix is the route prefix Vigil is served under (the path of
	// web.external_url, "" at the root): the pages' links and redirects
	// start with it.
	PathPrefix string
	// OIDC enables single sign-on; nil leaves it off.
	OIDC *OIDCOptions

	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time
}

// Auth authenticates requests and enforces scopes.
type Auth struct {
	opts    Options
	store   *Store
	logger  *slog.Logger
	now     func() time.Time
	tokens  *tokenIndex
	limiter *loginLimiter
	oidc    *oidcProvider
	cop     *http.CrossOriginProtection

	internalMu sync.Mutex
	internal   map[string]string // InternalToken's tokens by name

	denied *prometheus.CounterVec
	logins *prometheus.CounterVec
}

// New creates an Auth and loads the live tokens into memory.
func New(ctx context.Context, opts Options) (*Auth, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 12 * time.Hour
	}
	if opts.AbsoluteTimeout <= 0 {
		opts.AbsoluteTimeout = 7 * 24 * time.Hour
	}
	if opts.TokenAuditInterval <= 0 {
		opts.TokenAuditInterval = time.Minute
	}
	if opts.AuditRetention <= 0 {
		opts.AuditRetention = 90 * 24 * time.Hour
	}
	a := &Auth{
		opts: opts, store: opts.Store, logger: opts.Logger.With("component", "auth"), now: opts.Now,
		tokens: newTokenIndex(), limiter: newLoginLimiter(opts.Login), cop: http.NewCrossOriginProtection(),
		denied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_auth_denied_total",
			Help: "Requests refused by authentication (reason unauthenticated) or authorisation (reason forbidden, csrf).",
		}, []string{"reason"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_auth_logins_total",
			Help: "Login attempts by result (success, failure, limited).",
		}, []string{"result"}),
	}
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{a.denied, a.logins} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("register auth metrics: %w", err)
			}
		}
	}
	if opts.Disabled {
		return a, nil
	}
	if a.store == nil {
		return nil, fmt.Errorf("auth: Options.Store is required when authentication is on")
	}
	if err := a.tokens.load(ctx, a.store); err != nil {
		return nil, fmt.Errorf("load API tokens: %w", err)
	}
	if opts.OIDC != nil {
		p, err := newOIDCProvider(ctx, *opts.OIDC)
		if err != nil {
			return nil, err
		}
		a.oidc = p
	}
	return a, nil
}

// url is an absolute path to the app path p, under the route prefix.
func (a *Auth) url(p string) string { return a.opts.PathPrefix + p }

// Enabled reports whether requests are checked.
func (a *Auth) Enabled() bool { return !a.opts.Disabled }

// Store returns the credential store (nil when disabled without one).
func (a *Auth) Store() *Store { return a.store }

// Run writes token use (last-used times and sampled audit events) every
// TokenAuditInterval until ctx is done, then once more. Each time it also
// re-reads the live tokens, so that tokens revoked in the database by
// another process (vigil users delete) are refused within an interval, and
// hourly it deletes ended sessions and audit events past AuditRetention.
func (a *Auth) Run(ctx context.Context) error {
	if a.opts.Disabled {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(a.opts.TokenAuditInterval)
	defer t.Stop()
	var lastPrune time.Time
	for {
		select {
		case <-ctx.Done():
			a.flushTokenUse(context.WithoutCancel(ctx))
			return nil
		case <-t.C:
			a.flushTokenUse(ctx)
			if err := a.tokens.load(ctx, a.store); err != nil {
				a.logger.Warn("re-read API tokens", "err", err)
			}
			if now := a.now(); now.Sub(lastPrune) >= time.Hour {
				lastPrune = now
				if err := a.store.prune(ctx, now.Add(-a.opts.AuditRetention)); err != nil {
					a.logger.Warn("prune sessions and audit log", "err", err)
				}
			}
		}
	}
}

func (a *Auth) flushTokenUse(ctx context.Context) {
	used := a.tokens.drain()
	if len(used) == 0 {
		return
	}
	last := map[string]time.Time{}
	for _, u := range used {
		if strings.HasPrefix(u.id, "internal-") {
			continue // Vigil's own clients (self-scrape): not worth an event a minute
		}
		last[u.id] = u.lastUsed
		if err := a.store.Audit(ctx, Event{Actor: tokenActor(u.id, u.name, u.owner), Action: "token.use", Target: u.scopes.String(), Detail: fmt.Sprintf("%d requests", u.uses)}); err != nil {
			a.logger.Warn("write token use to the audit log", "err", err)
			return
		}
	}
	if err := a.store.touchTokens(ctx, last); err != nil {
		a.logger.Warn("record token last-used times", "err", err)
	}
}

func tokenActor(id, name, owner string) string {
	return fmt.Sprintf("token:%s (%s, owner %s)", id, name, owner)
}

// Principal is an authenticated caller.
type Principal struct {
	// User is the user name: the session's user or the token's owner.
	User string
	// Role is the session user's role ("" for tokens).
	Role   Role
	Scopes Scopes
	// TokenID and TokenName are set for API tokens.
	TokenID, TokenName string
	// Via is how the caller authenticated: session, bearer, basic, grpc.
	Via string

	session *Session
	token   *tokenEntry
}

// Actor names the principal in the audit log.
func (p *Principal) Actor() string {
	if p == nil {
		return "anonymous"
	}
	if p.TokenID != "" {
		return tokenActor(p.TokenID, p.TokenName, p.User)
	}
	return "user:" + p.User
}

type ctxKey struct{}

// FromContext returns the principal of a guarded request, or nil.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(ctxKey{}).(*Principal)
	return p
}

// CallerFunc names the caller of a request: the user name of its session
// or the owner of its API token, "" when authentication is off or the
// route is public. Features that record who did something (acknowledged
// an incident, created a silence) declare this type in their Options and
// the server hands them Caller.
type CallerFunc func(*http.Request) string

// Caller is the CallerFunc of Vigil's middleware.
func Caller(r *http.Request) string {
	if p := FromContext(r.Context()); p != nil {
		return p.User
	}
	return ""
}

var _ CallerFunc = Caller

// clientOf is the request's remote host (no port), for the audit log and
// the per-client login limit.
func clientOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// authenticate finds the request's principal: an API token in the
// Authorization header, else a session cookie. A malformed or unknown
// credential yields nil (never a fall-back to the other kind).
func (a *Auth) authenticate(r *http.Request) (*Principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		tok, via, ok := parseAuthorization(h)
		if !ok {
			return nil, nil
		}
		return a.tokenPrincipal(tok, via), nil
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	sess, ok, err := a.store.session(r.Context(), c.Value, a.opts.IdleTimeout)
	if err != nil || !ok {
		return nil, err
	}
	now := a.now()
	if now.Sub(sess.LastSeenAt) > time.Minute {
		if err := a.store.touchSession(r.Context(), sess.ID, now); err != nil {
			a.logger.Warn("record session activity", "err", err)
		}
	}
	return &Principal{User: sess.User, Role: sess.role, Scopes: sess.role.Scopes(), Via: "session", session: &sess}, nil
}

func (a *Auth) tokenPrincipal(tok, via string) *Principal {
	e := a.tokens.lookup(tok, a.now().UnixNano())
	if e == nil {
		return nil
	}
	return &Principal{User: e.owner, Scopes: e.scopes, TokenID: e.id, TokenName: e.name, Via: via, token: e}
}

// Check authenticates r for scope. It returns the principal, or the HTTP
// status and message to refuse with.
func (a *Auth) check(r *http.Request, scope route.Scope) (*Principal, int, string) {
	p, err := a.authenticate(r)
	if err != nil {
		a.logger.Error("authenticate request", "err", err)
		return nil, http.StatusServiceUnavailable, "cannot check credentials right now; retry later"
	}
	if p == nil {
		a.denied.WithLabelValues("unauthenticated").Inc()
		return nil, http.StatusUnauthorized, "authentication required: send an API token (Authorization: Bearer <token>, or basic auth with the token as password) or sign in at /login"
	}
	if !p.Scopes.Has(scope) {
		a.denied.WithLabelValues("forbidden").Inc()
		return p, http.StatusForbidden, fmt.Sprintf("this route needs the %q scope; the credential has %s", scope, describeScopes(p.Scopes))
	}
	if e := p.token; e != nil {
		e.uses.Add(1)
		if b := uint32(bitOf(scope)); e.used.Load()&b == 0 {
			e.used.Or(b)
		}
	}
	if p.session != nil && !safeMethod(r.Method) && !a.csrfOK(r, p.session) {
		a.denied.WithLabelValues("csrf").Inc()
		return p, http.StatusForbidden, "missing or wrong " + CSRFHeader + " header: a change made with a session must send the value of the " + CSRFCookie + " cookie (also returned by the login API) in it"
	}
	return p, 0, ""
}

func describeScopes(s Scopes) string {
	if s == 0 {
		return "none"
	}
	return "only " + s.String()
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func (a *Auth) csrfOK(r *http.Request, s *Session) bool {
	got := r.Header.Get(CSRFHeader)
	if got == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		got = r.PostFormValue("csrf_token")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) == 1
}

// Guard returns h guarded by scope: the one middleware every route of the
// server's table goes through. Public routes pass unchecked; every other
// route needs a credential granting scope, and a change made with a
// session needs the CSRF token. Changes (methods other than GET, HEAD and
// OPTIONS) on routes that are not ingest go to the audit log with their
// status.
func (a *Auth) Guard(scope route.Scope, h http.Handler) http.Handler {
	if a.opts.Disabled {
		return h
	}
	if scope == route.Public {
		return a.cop.Handler(h)
	}
	audit := scope != route.Ingest
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, status, msg := a.check(r, scope)
		if status != 0 {
			a.refuse(w, r, status, msg)
			return
		}
		if p.session != nil {
			// Sessions are ambient browser credentials: refuse cross-site
			// requests (Sec-Fetch-Site / Origin) besides the CSRF token.
			if err := a.cop.Check(r); err != nil {
				a.denied.WithLabelValues("csrf").Inc()
				a.refuse(w, r, http.StatusForbidden, "cross-origin request refused")
				return
			}
		}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, p))
		if !audit || safeMethod(r.Method) {
			h.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		a.auditChange(r, p, sw.status())
	})
}

func (a *Auth) auditChange(r *http.Request, p *Principal, status int) {
	action := r.Method + " " + r.URL.Path
	if r.Pattern != "" {
		action = r.Pattern
		if !strings.HasPrefix(action, r.Method) {
			action = r.Method + " " + action
		}
	}
	err := a.store.Audit(context.WithoutCancel(r.Context()), Event{Actor: p.Actor(), Action: action, Target: r.URL.Path, Client: clientOf(r), Status: status})
	if err != nil {
		a.logger.Error("write audit event", "err", err, "action", action)
	}
}

// refuse answers 401 (with WWW-Authenticate) or 403 naming the missing
// scope; JSON for API paths and JSON clients, plain text otherwise.
func (a *Auth) refuse(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	errType := map[int]string{401: "unauthorized", 403: "forbidden", 503: "unavailable"}[status]
	if wantsJSON(r) {
		writeJSON(w, status, map[string]any{"status": "error", "errorType": errType, "error": msg})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}

func wantsJSON(r *http.Request) bool {
	p := r.URL.Path
	return strings.Contains(r.Header.Get("Accept"), "json") || strings.HasPrefix(p, "/vigil/api/") || strings.HasPrefix(p, "/alertmanager/api/") ||
		(strings.HasPrefix(p, "/api/v1/") && p != "/api/v1/write") || strings.HasPrefix(p, "/jaeger/api/")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
