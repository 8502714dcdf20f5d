package auth

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDCOptions configure single sign-on with an OpenID Connect provider.
type OIDCOptions struct {
	// Issuer is the provider's issuer URL (its discovery document is at
	// Issuer + "/.well-known/openid-configuration").
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is Vigil's callback as the provider knows it:
	// https://vigil.example.com/login/oidc/callback.
	RedirectURL string
	// Scopes requested besides "openid" (default profile, email, groups).
	Scopes []string
	// UsernameClaim names the user (default preferred_username, then
	// email, then sub).
	UsernameClaim string
	// GroupsClaim holds the user's groups (default "groups").
	GroupsClaim string
	// RoleGroups maps a role to the groups that grant it; the highest
	// matching role wins.
	RoleGroups map[Role][]string
	// DefaultRole is given to users in none of the groups; "" refuses them.
	DefaultRole Role
	// Name is shown on the login button (default "single sign-on").
	Name string
	// HTTPClient talks to the provider (tests pass one trusting their CA).
	HTTPClient *http.Client
}

// oidcProvider discovers the provider on first use, so that Vigil starts
// while the provider is down; a failed discovery is retried on the next
// login.
type oidcProvider struct {
	opts OIDCOptions

	mu       sync.Mutex
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func newOIDCProvider(_ context.Context, o OIDCOptions) (*oidcProvider, error) {
	if o.Issuer == "" || o.ClientID == "" || o.RedirectURL == "" {
		return nil, fmt.Errorf("oidc: issuer, client_id and redirect_url are required")
	}
	if len(o.Scopes) == 0 {
		o.Scopes = []string{"profile", "email", "groups"}
	}
	if o.GroupsClaim == "" {
		o.GroupsClaim = "groups"
	}
	if o.Name == "" {
		o.Name = "single sign-on"
	}
	return &oidcProvider{opts: o}, nil
}

func (p *oidcProvider) ctx(ctx context.Context) context.Context {
	if p.opts.HTTPClient != nil {
		return oidc.ClientContext(ctx, p.opts.HTTPClient)
	}
	return ctx
}

func (p *oidcProvider) discover(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.oauth != nil {
		return p.oauth, p.verifier, nil
	}
	dctx, cancel := context.WithTimeout(p.ctx(ctx), 10*time.Second)
	defer cancel()
	prov, err := oidc.NewProvider(dctx, p.opts.Issuer)
	if err != nil {
		return nil, nil, fmt.Errorf("discover OpenID provider %s: %w", p.opts.Issuer, err)
	}
	p.oauth = &oauth2.Config{
		ClientID: p.opts.ClientID, ClientSecret: p.opts.ClientSecret, RedirectURL: p.opts.RedirectURL,
		Endpoint: prov.Endpoint(), Scopes: append([]string{oidc.ScopeOpenID}, p.opts.Scopes...),
	}
	p.verifier = prov.Verifier(&oidc.Config{ClientID: p.opts.ClientID})
	return p.oauth, p.verifier, nil
}

// roleOf maps the groups claim to a role: the highest role any group
// grants, else DefaultRole.
func (p *oidcProvider) roleOf(groups []string) Role {
	for i := len(Roles) - 1; i >= 0; i-- {
		r := Roles[i]
		for _, g := range p.opts.RoleGroups[r] {
			if slices.Contains(groups, g) {
				return r
			}
		}
	}
	return p.opts.DefaultRole
}

const oidcStateCookie = "vigil_oidc"

// serveOIDCLogin sends the browser to the provider with a state, a nonce
// and a PKCE challenge kept in a short-lived cookie.
func (a *Auth) serveOIDCLogin(w http.ResponseWriter, r *http.Request) {
	if a.oidc == nil {
		http.NotFound(w, r)
		return
	}
	cfg, _, err := a.oidc.discover(r.Context())
	if err != nil {
		a.logger.Warn("single sign-on unavailable", "err", err)
		a.loginPage(w, r, http.StatusServiceUnavailable, "Single sign-on is unavailable right now; try again later or sign in with a password.")
		return
	}
	state, nonce, verifier := newSecret(), newSecret(), oauth2.GenerateVerifier()
	http.SetCookie(w, &http.Cookie{
		Name: oidcStateCookie, Value: state + "." + nonce + "." + verifier + "." + safeNext(r.URL.Query().Get("next")),
		Path: a.url("/login/oidc"), MaxAge: 600, HttpOnly: true, Secure: a.opts.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, cfg.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

// serveOIDCCallback exchanges the code, verifies the ID token and its
// nonce, maps the groups to a role and starts a session.
func (a *Auth) serveOIDCCallback(w http.ResponseWriter, r *http.Request) {
	if a.oidc == nil {
		http.NotFound(w, r)
		return
	}
	fail := func(msg string, err error) {
		a.logins.WithLabelValues("failure").Inc()
		a.logger.Warn("single sign-on failed", "reason", msg, "err", err)
		_ = a.store.Audit(r.Context(), Event{Actor: "anonymous", Action: "login.failed", Client: clientOf(r), Detail: "oidc: " + msg})
		a.loginPage(w, r, http.StatusUnauthorized, "Single sign-on failed: "+msg+".")
	}
	c, err := r.Cookie(oidcStateCookie)
	http.SetCookie(w, &http.Cookie{Name: oidcStateCookie, Path: a.url("/login/oidc"), MaxAge: -1})
	if err != nil {
		fail("the sign-in took too long or cookies are off", err)
		return
	}
	parts := strings.SplitN(c.Value, ".", 4)
	if len(parts) != 4 || subtle.ConstantTimeCompare([]byte(parts[0]), []byte(r.URL.Query().Get("state"))) != 1 {
		fail("state mismatch", nil)
		return
	}
	if e := r.URL.Query().Get("error"); e != "" {
		fail("the provider said "+e, nil)
		return
	}
	cfg, verifier, err := a.oidc.discover(r.Context())
	if err != nil {
		fail("provider unavailable", err)
		return
	}
	ctx := a.oidc.ctx(r.Context())
	tok, err := cfg.Exchange(ctx, r.URL.Query().Get("code"), oauth2.VerifierOption(parts[2]))
	if err != nil {
		fail("code exchange refused", err)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := verifier.Verify(ctx, raw)
	if err != nil {
		fail("ID token invalid", err)
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(parts[1])) != 1 {
		fail("nonce mismatch", nil)
		return
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		fail("claims unreadable", err)
		return
	}
	name := claimString(claims, a.oidc.opts.UsernameClaim, "preferred_username", "email", "sub")
	var groups []string
	switch g := claims[a.oidc.opts.GroupsClaim].(type) {
	case []any:
		for _, v := range g {
			if s, ok := v.(string); ok {
				groups = append(groups, s)
			}
		}
	case string:
		groups = []string{g}
	}
	role := a.oidc.roleOf(groups)
	if role == "" {
		fail("your account is in none of the groups allowed to use Vigil", nil)
		return
	}
	if err := a.store.EnsureSSOUser(r.Context(), name, role); err != nil {
		fail("user name not usable", err)
		return
	}
	if err := a.startSession(w, r, name, "oidc"); err != nil {
		a.logger.Error("start session", "err", err)
		a.loginPage(w, r, http.StatusServiceUnavailable, "Could not sign you in right now; try again.")
		return
	}
	http.Redirect(w, r, a.url(safeNext(parts[3])), http.StatusSeeOther)
}

func claimString(claims map[string]any, names ...string) string {
	for _, n := range names {
		if s, ok := claims[n].(string); ok && s != "" && n != "" {
			return s
		}
	}
	return ""
}
