package auth

import (
	"context"
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil/internal/apierr"
)

// dummyHash is verified against when a user does not exist, so that a
// login for an unknown name costs the same time as a wrong password.
var dummyHash, _ = HashPassword("vigil-timing-equaliser", DefaultParams)

// errBadLogin is the one answer to a wrong name or password: it never
// says which.
const errBadLogin = "wrong user name or password"

// login checks a name and password under the login limits. It returns
// the HTTP status to answer with (0 on success) and the Retry-After.
func (a *Auth) login(ctx context.Context, name, password, client string) (int, time.Duration, error) {
	now := a.now()
	if ok, wait := a.limiter.attempt(name, client, now); !ok {
		a.logins.WithLabelValues("limited").Inc()
		_ = a.store.Audit(ctx, Event{Actor: "anonymous", Action: "login.limited", Target: name, Client: client})
		return http.StatusTooManyRequests, wait, nil
	}
	role, hash, found, err := a.store.credentials(ctx, name)
	if err != nil {
		return 0, 0, err
	}
	if !found || hash == "" {
		hash = dummyHash
	}
	ok, err := VerifyPassword(password, hash)
	if err != nil {
		return 0, 0, err
	}
	if !ok || !found || role.Scopes() == 0 {
		a.limiter.failed(name, now)
		a.logins.WithLabelValues("failure").Inc()
		_ = a.store.Audit(ctx, Event{Actor: "anonymous", Action: "login.failed", Target: name, Client: client})
		return http.StatusUnauthorized, 0, nil
	}
	a.limiter.succeeded(name)
	a.logins.WithLabelValues("success").Inc()
	return 0, 0, nil
}

// startSession creates a session for user and sets its cookies.
func (a *Auth) startSession(w http.ResponseWriter, r *http.Request, user, via string) error {
	secret, sess, err := a.store.createSession(r.Context(), user, clientOf(r), a.opts.AbsoluteTimeout)
	if err != nil {
		return err
	}
	a.setSessionCookies(w, secret, sess.csrf, sess.ExpiresAt)
	return a.store.Audit(r.Context(), Event{Actor: "user:" + user, Action: "login", Target: "session " + sess.ID, Client: clientOf(r), Detail: via})
}

func (a *Auth) setSessionCookies(w http.ResponseWriter, secret, csrf string, expires time.Time) {
	maxAge := int(time.Until(expires).Seconds())
	if secret == "" {
		maxAge = -1
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: secret, Path: "/", MaxAge: maxAge, HttpOnly: true, Secure: a.opts.SecureCookies, SameSite: http.SameSiteStrictMode})
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: csrf, Path: "/", MaxAge: maxAge, Secure: a.opts.SecureCookies, SameSite: http.SameSiteStrictMode})
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// serveLoginAPI is POST /vigil/api/v1/login: JSON {username, password}
// in; the session cookie set and {user, role, scopes, csrf_token,
// expires_at} out.
func (a *Auth) serveLoginAPI(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil || req.Username == "" || req.Password == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": "error", "errorType": "invalid", "error": `want a JSON body {"username": "...", "password": "..."}`})
		return
	}
	status, wait, err := a.login(r.Context(), req.Username, req.Password, clientOf(r))
	switch {
	case err != nil:
		a.apiError(w, r, err)
		return
	case status == http.StatusTooManyRequests:
		w.Header().Set("Retry-After", strconv.Itoa(apierr.RetryAfterSeconds(wait)))
		writeJSON(w, status, map[string]any{"status": "error", "errorType": "limited", "error": "too many login attempts; retry later"})
		return
	case status != 0:
		writeJSON(w, status, map[string]any{"status": "error", "errorType": "unauthorized", "error": errBadLogin})
		return
	}
	secret, sess, err := a.store.createSession(r.Context(), req.Username, clientOf(r), a.opts.AbsoluteTimeout)
	if err != nil {
		a.apiError(w, r, err)
		return
	}
	a.setSessionCookies(w, secret, sess.csrf, sess.ExpiresAt)
	_ = a.store.Audit(r.Context(), Event{Actor: "user:" + req.Username, Action: "login", Target: "session " + sess.ID, Client: clientOf(r), Detail: "password"})
	role, _, _, _ := a.store.credentials(r.Context(), req.Username)
	writeJSON(w, http.StatusOK, meOf(&Principal{User: req.Username, Role: role, Scopes: role.Scopes(), Via: "session", session: &sess}))
}

type me struct {
	User      string     `json:"user"`
	Role      Role       `json:"role,omitempty"`
	Scopes    []string   `json:"scopes"`
	Via       string     `json:"via"`
	TokenID   string     `json:"token_id,omitempty"`
	SessionID string     `json:"session_id,omitempty"`
	CSRFToken string     `json:"csrf_token,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

func meOf(p *Principal) me {
	m := me{User: p.User, Role: p.Role, Scopes: scopeNames(p.Scopes), Via: p.Via, TokenID: p.TokenID}
	if s := p.session; s != nil {
		m.SessionID, m.CSRFToken = s.ID, s.csrf
		e := s.ExpiresAt
		m.ExpiresAt = &e
	}
	return m
}

// serveMe is GET /vigil/api/v1/me.
func (a *Auth) serveMe(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, meOf(FromContext(r.Context())))
}

// serveLogout is POST /vigil/api/v1/logout (and /logout from the login
// page's form): ends the caller's session and clears the cookies.
func (a *Auth) serveLogout(w http.ResponseWriter, r *http.Request) {
	p := FromContext(r.Context())
	if p == nil || p.session == nil {
		a.refuse(w, r, http.StatusBadRequest, "logout needs a session; API tokens are revoked with DELETE /vigil/api/v1/tokens/{id}")
		return
	}
	if err := a.store.RevokeSession(r.Context(), p.session.ID, ""); err != nil {
		a.apiError(w, r, err)
		return
	}
	a.setSessionCookies(w, "", "", time.Time{})
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		http.Redirect(w, r, a.url("/login"), http.StatusSeeOther)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "success"})
}

// safeNext keeps a post-login redirect on this site: a path, not a URL.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}

var loginTmpl = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Vigil</title>
<style>
body{font-family:system-ui,sans-serif;background:#f5f6f8;color:#1d2128;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}
main{background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.15);width:min(22rem,90vw)}
h1{font-size:1.4rem;margin:0 0 1rem}label{display:block;margin:.8rem 0 .3rem;font-weight:600}
input{width:100%;box-sizing:border-box;padding:.55rem;border:1px solid #767b85;border-radius:4px;font-size:1rem}
input:focus,button:focus,a:focus{outline:3px solid #2f6fde;outline-offset:1px}
button,.sso{display:block;width:100%;margin-top:1.2rem;padding:.6rem;border:0;border-radius:4px;background:#1f5fc8;color:#fff;font-size:1rem;cursor:pointer;text-align:center;text-decoration:none;box-sizing:border-box}
.sso{background:#39424e}p[role=alert]{background:#fdecea;color:#8a1c12;padding:.6rem;border-radius:4px}
</style></head><body><main>
<h1>Sign in to Vigil</h1>
{{if .Error}}<p role="alert">{{.Error}}</p>{{end}}
{{if .User}}<p>Signed in as <strong>{{.User}}</strong>.</p>
<form method="post" action="{{.Prefix}}/logout"><input type="hidden" name="csrf_token" value="{{.CSRF}}"><button type="submit">Sign out</button></form>
<p><a href="{{.Prefix}}/">Continue to Vigil</a></p>
{{else}}<form method="post" action="{{.Prefix}}/login">
<input type="hidden" name="next" value="{{.Next}}">
<label for="username">User name</label><input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
{{if .SSO}}<a class="sso" href="{{.Prefix}}/login/oidc?next={{.Next}}">Sign in with {{.SSO}}</a>{{end}}
{{end}}
</main></body></html>
`))

func (a *Auth) loginPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	data := map[string]any{"Error": msg, "Next": safeNext(r.FormValue("next")), "Prefix": a.opts.PathPrefix}
	if a.oidc != nil {
		data["SSO"] = a.oidc.opts.Name
	}
	if msg == "" {
		if p, _ := a.authenticate(r); p != nil && p.session != nil {
			data["User"], data["CSRF"] = p.User, p.session.csrf
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_ = loginTmpl.Execute(w, data)
}

// serveLoginPage is GET /login.
func (a *Auth) serveLoginPage(w http.ResponseWriter, r *http.Request) {
	a.loginPage(w, r, http.StatusOK, "")
}

// serveLoginForm is POST /login (the page's form).
func (a *Auth) serveLoginForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	name, pw := r.PostFormValue("username"), r.PostFormValue("password")
	if name == "" || pw == "" {
		a.loginPage(w, r, http.StatusBadRequest, "Enter your user name and password.")
		return
	}
	status, wait, err := a.login(r.Context(), name, pw, clientOf(r))
	switch {
	case err != nil:
		a.logger.Error("login", "err", err)
		a.loginPage(w, r, http.StatusServiceUnavailable, "Could not sign you in right now; try again.")
		return
	case status == http.StatusTooManyRequests:
		w.Header().Set("Retry-After", strconv.Itoa(apierr.RetryAfterSeconds(wait)))
		a.loginPage(w, r, status, "Too many attempts. Try again in "+wait.Round(time.Second).String()+".")
		return
	case status != 0:
		a.loginPage(w, r, status, "Wrong user name or password.")
		return
	}
	if err := a.startSession(w, r, name, "password"); err != nil {
		a.logger.Error("start session", "err", err)
		a.loginPage(w, r, http.StatusServiceUnavailable, "Could not sign you in right now; try again.")
		return
	}
	http.Redirect(w, r, a.url(safeNext(r.PostFormValue("next"))), http.StatusSeeOther)
}
