package auth

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"time"

	"github.com/vigilhq/vigil/internal/apierr"
)

// SetupTTL is how long a first-start setup link stays valid.
const SetupTTL = 24 * time.Hour

// Bootstrap prepares the first admin when no user exists: with password
// set (VIGIL_ADMIN_PASSWORD) it creates user "admin" with it and returns
// ""; otherwise it returns a one-time setup path (/setup?token=...) to
// print. With users present it does nothing and returns "".
func (a *Auth) Bootstrap(ctx context.Context, password string) (string, error) {
	if a.opts.Disabled {
		return "", nil
	}
	n, err := a.store.CountUsers(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	if password != "" {
		if err := a.store.AddUser(ctx, "admin", Admin, password); err != nil {
			return "", err
		}
		return "", a.store.Audit(ctx, Event{Actor: "system", Action: "user.bootstrap", Target: "admin", Detail: "from VIGIL_ADMIN_PASSWORD"})
	}
	secret, err := a.store.createSetup(ctx, SetupTTL)
	if err != nil {
		return "", err
	}
	return "/setup?token=" + secret, nil
}

var setupTmpl = template.Must(template.New("setup").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Set up · Vigil</title>
<style>body{font-family:system-ui,sans-serif;max-width:24rem;margin:3rem auto;padding:0 1rem;color:#1d2128}label{display:block;margin:.8rem 0 .3rem;font-weight:600}
input{width:100%;box-sizing:border-box;padding:.55rem;border:1px solid #767b85;border-radius:4px;font-size:1rem}button{margin-top:1.2rem;padding:.6rem 1.2rem;border:0;border-radius:4px;background:#1f5fc8;color:#fff;font-size:1rem}
p[role=alert]{background:#fdecea;color:#8a1c12;padding:.6rem;border-radius:4px}</style></head><body>
<h1>Create Vigil's first admin</h1>
{{if .Error}}<p role="alert">{{.Error}}</p>{{end}}
<form method="post" action="{{.Prefix}}/setup"><input type="hidden" name="token" value="{{.Token}}">
<label for="username">User name</label><input id="username" name="username" value="admin" autocomplete="username" required>
<label for="password">Password (at least 8 characters)</label><input id="password" name="password" type="password" autocomplete="new-password" required minlength="8">
<button type="submit">Create admin</button></form></body></html>
`))

func (a *Auth) setupPage(w http.ResponseWriter, status int, token, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_ = setupTmpl.Execute(w, map[string]string{"Token": token, "Error": msg, "Prefix": a.opts.PathPrefix})
}

func (a *Auth) serveSetupPage(w http.ResponseWriter, r *http.Request) {
	a.setupPage(w, http.StatusOK, r.URL.Query().Get("token"), "")
}

func (a *Auth) serveSetup(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	token, name, pw := r.PostFormValue("token"), r.PostFormValue("username"), r.PostFormValue("password")
	if ok, wait := a.limiter.attempt("setup", clientOf(r), a.now()); !ok {
		a.setupPage(w, http.StatusTooManyRequests, token, "Too many attempts; try again in "+wait.Round(time.Second).String()+".")
		return
	}
	if err := a.store.completeSetup(r.Context(), token, name, pw); err != nil {
		var ae *apierr.Error
		if errors.As(err, &ae) {
			a.limiter.failed("setup", a.now())
			a.setupPage(w, http.StatusBadRequest, token, ae.Message)
			return
		}
		a.logger.Error("complete setup", "err", err)
		a.setupPage(w, http.StatusServiceUnavailable, token, "Could not create the admin right now; try again.")
		return
	}
	_ = a.store.Audit(r.Context(), Event{Actor: "system", Action: "user.bootstrap", Target: name, Client: clientOf(r), Detail: "setup link"})
	if err := a.startSession(w, r, name, "setup"); err != nil {
		a.logger.Error("start session", "err", err)
	}
	http.Redirect(w, r, a.url("/"), http.StatusSeeOther)
}
