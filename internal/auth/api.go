package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/common/model"

	"github.com/vigilhq/vigil/internal/apierr"
	"github.com/vigilhq/vigil/internal/route"
)

// Routes are the login pages and the users, tokens, sessions and audit
// APIs (docs/security.md). With authentication off they are in the table
// all the same (so docs/api.md lists them) and answer 404.
func (a *Auth) Routes() []route.Route {
	rs := a.routes()
	if a.opts.Disabled {
		for i := range rs {
			rs[i].Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				a.refuse(w, r, http.StatusNotFound, "authentication is off (no auth section, or auth.mode none): there are no users, sessions or tokens")
			})
		}
	}
	return rs
}

func (a *Auth) routes() []route.Route {
	const api = "/vigil/api/v1"
	return []route.Route{
		route.Func("GET", "/login", route.Public, a.serveLoginPage, "sign-in page"),
		route.Func("POST", "/login", route.Public, a.serveLoginForm, "sign-in form submission"),
		route.Func("POST", "/logout", route.Read, a.serveLogout, "sign out (form; csrf_token field)"),
		route.Func("GET", "/login/oidc", route.Public, a.serveOIDCLogin, "single sign-on: redirect to the OpenID provider"),
		route.Func("GET", "/login/oidc/callback", route.Public, a.serveOIDCCallback, "single sign-on: the OpenID provider's redirect back"),
		route.Func("GET", "/setup", route.Public, a.serveSetupPage, "first-start admin setup page (one-time link)"),
		route.Func("POST", "/setup", route.Public, a.serveSetup, "first-start admin setup form"),
		route.Func("POST", api+"/login", route.Public, a.serveLoginAPI, "sign in: JSON {username, password}; sets the session cookie, returns the CSRF token"),
		route.Func("POST", api+"/logout", route.Read, a.serveLogout, "sign out: ends the caller's session"),
		route.Func("GET", api+"/me", route.Read, a.serveMe, "the caller: user, role, scopes, CSRF token of the session"),
		route.Func("PUT", api+"/me/password", route.Read, a.serveOwnPassword, "change one's own password: JSON {current, new}"),
		route.Func("GET", api+"/users", route.Admin, a.serveUsers, "list users"),
		route.Func("POST", api+"/users", route.Admin, a.serveAddUser, "create a user: JSON {name, role, password}"),
		route.Func("PATCH", api+"/users/{name}", route.Admin, a.serveUpdateUser, "change a user's role or password: JSON {role, password}"),
		route.Func("DELETE", api+"/users/{name}", route.Admin, a.serveDeleteUser, "delete a user, ending their sessions and revoking their tokens"),
		route.Func("GET", api+"/tokens", route.Read, a.serveTokens, "list API tokens (one's own; an admin sees all)"),
		route.Func("POST", api+"/tokens", route.Read, a.serveCreateToken, "create an API token: JSON {name, scopes, expires_in, owner}; the token is shown once"),
		route.Func("DELETE", api+"/tokens/{id}", route.Read, a.serveRevokeToken, "revoke an API token (one's own; an admin any)"),
		route.Func("GET", api+"/sessions", route.Read, a.serveSessions, "list live sessions (one's own; an admin sees all)"),
		route.Func("DELETE", api+"/sessions/{id}", route.Read, a.serveRevokeSession, "end a session (one's own; an admin any)"),
		route.Func("GET", api+"/audit", route.Admin, a.serveAudit, "the audit log: logins, token use (sampled), every change made through the API"),
	}
}

func (a *Auth) apiError(w http.ResponseWriter, r *http.Request, err error) {
	apierr.Writer{Logger: a.logger}.JSON(w, r, err, func(rep apierr.Reply) any {
		return map[string]any{"status": "error", "errorType": string(rep.Code), "error": rep.Message}
	})
}

func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return apierr.New(apierr.Invalid, "invalid JSON body: %v", err)
	}
	return nil
}

func isAdmin(p *Principal) bool { return p.Scopes.Has(route.Admin) }

func (a *Auth) serveUsers(w http.ResponseWriter, r *http.Request) {
	users, err := a.store.Users(r.Context())
	if err != nil {
		a.apiError(w, r, err)
		return
	}
	if users == nil {
		users = []User{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "success", "data": users})
}

func (a *Auth) serveAddUser(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name     string `json:"name"`
		Role     Role   `json:"role"`
		Password string `json:"password"`
	}
	if err := decode(r, &req); err != nil {
		a.apiError(w, r, err)
		return
	}
	if err := a.store.AddUser(r.Context(), req.Name, req.Role, req.Password); err != nil {
		a.apiError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"status": "success", "data": map[string]any{"name": req.Name, "role": req.Role}})
}

func (a *Auth) serveUpdateUser(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var req struct {
		Role     Role   `json:"role"`
		Password string `json:"password"`
	}
	if err := decode(r, &req); err != nil {
		a.apiError(w, r, err)
		return
	}
	if req.Role == "" && req.Password == "" {
		a.apiError(w, r, apierr.New(apierr.Invalid, "nothing to change: give role and/or password"))
		return
	}
	if req.Role != "" {
		if err := a.store.SetRole(r.Context(), name, req.Role); err != nil {
			a.apiError(w, r, err)
			return
		}
	}
	if req.Password != "" {
		if err := a.store.SetPassword(r.Context(), name, req.Password); err != nil {
			a.apiError(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "success"})
}

func (a *Auth) serveDeleteUser(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if p := FromContext(r.Context()); p.User == name && p.TokenID == "" {
		a.apiError(w, r, apierr.New(apierr.Invalid, "you cannot delete the user you are signed in as"))
		return
	}
	revoked, err := a.store.DeleteUser(r.Context(), name)
	if err != nil {
		a.apiError(w, r, err)
		return
	}
	for _, id := range revoked {
		a.tokens.remove(id)
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "success", "data": map[string]any{"revoked_tokens": len(revoked)}})
}

func (a *Auth) serveOwnPassword(w http.ResponseWriter, r *http.Request) {
	p := FromContext(r.Context())
	var req struct {
		Current string `json:"current"`
		New     string `json:"new"`
	}
	if err := decode(r, &req); err != nil {
		a.apiError(w, r, err)
		return
	}
	if p.session == nil {
		a.apiError(w, r, apierr.New(apierr.Invalid, "changing a password needs a signed-in session, not an API token"))
		return
	}
	status, wait, err := a.login(r.Context(), p.User, req.Current, clientOf(r))
	if err != nil {
		a.apiError(w, r, err)
		return
	}
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(apierr.RetryAfterSeconds(wait)))
		writeJSON(w, status, map[string]any{"status": "error", "errorType": "limited", "error": "too many attempts; retry later"})
		return
	}
	if status != 0 {
		writeJSON(w, http.StatusForbidden, map[string]any{"status": "error", "errorType": "forbidden", "error": "the current password is wrong"})
		return
	}
	if err := a.store.SetPassword(r.Context(), p.User, req.New); err != nil {
		a.apiError(w, r, err)
		return
	}
	// SetPassword ended every session; start a new one for this browser.
	if err := a.startSession(w, r, p.User, "password change"); err != nil {
		a.apiError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "success"})
}

func (a *Auth) serveTokens(w http.ResponseWriter, r *http.Request) {
	p := FromContext(r.Context())
	owner := p.User
	if isAdmin(p) {
		owner = r.URL.Query().Get("owner")
	}
	toks, err := a.store.tokens(r.Context(), owner, false)
	if err != nil {
		a.apiError(w, r, err)
		return
	}
	if toks == nil {
		toks = []Token{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "success", "data": toks})
}

// MaxTokenLifetime bounds expires_in; tokens without one never expire.
const MaxTokenLifetime = 10 * 365 * 24 * time.Hour

func (a *Auth) serveCreateToken(w http.ResponseWriter, r *http.Request) {
	p := FromContext(r.Context())
	var req struct {
		Name      string   `json:"name"`
		Scopes    []string `json:"scopes"`
		ExpiresIn string   `json:"expires_in"` // Prometheus duration: 90d
		Owner     string   `json:"owner"`
	}
	if err := decode(r, &req); err != nil {
		a.apiError(w, r, err)
		return
	}
	if p.TokenID != "" && !isAdmin(p) {
		a.refuse(w, r, http.StatusForbidden, "creating a token needs a signed-in session or a token with the \"admin\" scope")
		return
	}
	if req.Name == "" || len(req.Name) > 128 {
		a.apiError(w, r, apierr.New(apierr.Invalid, "name: want 1-128 characters saying what the token is for (\"prometheus on host-1\")"))
		return
	}
	scopes, err := ParseScopes(req.Scopes)
	if err != nil {
		a.apiError(w, r, apierr.Wrap(apierr.Invalid, err, "scopes"))
		return
	}
	if !p.Scopes.Contains(scopes) {
		a.refuse(w, r, http.StatusForbidden, fmt.Sprintf("a token can carry only scopes its creator has: you have %s, asked for %s", p.Scopes, scopes))
		return
	}
	owner := p.User
	if req.Owner != "" && req.Owner != p.User {
		if !isAdmin(p) {
			a.refuse(w, r, http.StatusForbidden, "only an admin creates tokens for another user")
			return
		}
		owner = req.Owner
	}
	var expires time.Time
	if req.ExpiresIn != "" {
		d, err := model.ParseDuration(req.ExpiresIn)
		if err != nil || d <= 0 || time.Duration(d) > MaxTokenLifetime {
			a.apiError(w, r, apierr.New(apierr.Invalid, "expires_in %q: want a duration such as 90d or 12h, at most 10y", req.ExpiresIn))
			return
		}
		expires = a.now().Add(time.Duration(d))
	}
	secret, tok, err := a.store.createToken(r.Context(), req.Name, owner, scopes, expires)
	if err != nil {
		a.apiError(w, r, err)
		return
	}
	a.tokens.add(tok)
	writeJSON(w, http.StatusCreated, map[string]any{"status": "success", "data": map[string]any{"token": secret, "info": tok}})
}

func (a *Auth) serveRevokeToken(w http.ResponseWriter, r *http.Request) {
	p := FromContext(r.Context())
	id := r.PathValue("id")
	if !isAdmin(p) {
		toks, err := a.store.tokens(r.Context(), p.User, false)
		if err != nil {
			a.apiError(w, r, err)
			return
		}
		own := false
		for _, t := range toks {
			own = own || t.ID == id
		}
		if !own {
			a.apiError(w, r, apierr.New(apierr.NotFound, "no active token of yours with ID %s", id))
			return
		}
	}
	if _, err := a.store.revokeToken(r.Context(), id); err != nil {
		a.apiError(w, r, err)
		return
	}
	a.tokens.remove(id)
	writeJSON(w, http.StatusOK, map[string]any{"status": "success"})
}

// RevokeToken revokes a token by ID; it is refused at once.
func (a *Auth) RevokeToken(ctx context.Context, id string) error {
	if _, err := a.store.revokeToken(ctx, id); err != nil {
		return err
	}
	a.tokens.remove(id)
	return nil
}

func (a *Auth) serveSessions(w http.ResponseWriter, r *http.Request) {
	p := FromContext(r.Context())
	user := p.User
	if isAdmin(p) {
		user = r.URL.Query().Get("user")
	}
	ss, err := a.store.Sessions(r.Context(), user)
	if err != nil {
		a.apiError(w, r, err)
		return
	}
	if ss == nil {
		ss = []Session{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "success", "data": ss})
}

func (a *Auth) serveRevokeSession(w http.ResponseWriter, r *http.Request) {
	p := FromContext(r.Context())
	user := p.User
	if isAdmin(p) {
		user = ""
	}
	if err := a.store.RevokeSession(r.Context(), r.PathValue("id"), user); err != nil {
		a.apiError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "success"})
}

func (a *Auth) serveAudit(w http.ResponseWriter, r *http.Request) {
	q, err := parseAuditQuery(r.URL.Query())
	if err != nil {
		a.apiError(w, r, err)
		return
	}
	evs, err := a.store.AuditEvents(r.Context(), q)
	if err != nil {
		a.apiError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "success", "data": evs})
}
