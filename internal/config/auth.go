package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Auth configures authentication (docs/security.md).
//
// With no auth section Vigil is open, and it refuses to start unless every
// listen address is a loopback one (see CheckExposure).
type Auth struct {
	// Mode is "local" (users, sessions and API tokens; OIDC optional) or
	// "none" (every route open: only behind a proxy that authenticates).
	// "" means the section is absent.
	Mode string `yaml:"mode"`
	// Session: browser sessions.
	Session AuthSession `yaml:"session"`
	// Login bounds password guessing, per user name and per client address.
	Login AuthLogin `yaml:"login"`
	// TokenAuditInterval is how often token use is written to the audit
	// log (one event per token used in the interval).
	TokenAuditInterval Duration `yaml:"token_audit_interval"`
	// AuditRetention is how long audit events are kept.
	AuditRetention Duration `yaml:"audit_retention"`
	// OIDC enables single sign-on.
	OIDC *AuthOIDC `yaml:"oidc"`
}

// AuthSession configures browser sessions.
type AuthSession struct {
	IdleTimeout     Duration `yaml:"idle_timeout"`
	AbsoluteTimeout Duration `yaml:"absolute_timeout"`
	// SecureCookies sets the cookies' Secure attribute: "auto" (when the
	// HTTP port serves TLS), "true" or "false" (behind a TLS proxy, say
	// true).
	SecureCookies string `yaml:"secure_cookies"`
}

// AuthLogin configures the login limits.
type AuthLogin struct {
	MaxFailures     int      `yaml:"max_failures"`
	Lockout         Duration `yaml:"lockout"`
	ClientBurst     int      `yaml:"client_burst"`
	ClientPerMinute float64  `yaml:"client_per_minute"`
}

// AuthOIDC configures OpenID Connect single sign-on.
type AuthOIDC struct {
	Issuer       string `yaml:"issuer"`
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret"`
	// RedirectURL is https://<vigil>/login/oidc/callback as registered at
	// the provider.
	RedirectURL   string   `yaml:"redirect_url"`
	Scopes        []string `yaml:"scopes"`
	UsernameClaim string   `yaml:"username_claim"`
	GroupsClaim   string   `yaml:"groups_claim"`
	// RoleGroups maps viewer, editor and admin to provider groups.
	RoleGroups map[string][]string `yaml:"role_groups"`
	// DefaultRole for users in none of the groups; "" refuses them.
	DefaultRole string `yaml:"default_role"`
	// Name is the login button's label.
	Name string `yaml:"name"`
	// CAFile is a PEM bundle trusted for the provider besides the system's.
	CAFile string `yaml:"ca_file"`
}

// Enabled reports whether requests must authenticate.
func (a *Auth) Enabled() bool { return a.Mode == "local" }

func (a *Auth) setDefaults() {
	if a.Session.IdleTimeout == 0 {
		a.Session.IdleTimeout = Duration(12 * 60 * 60 * 1e9)
	}
	if a.Session.AbsoluteTimeout == 0 {
		a.Session.AbsoluteTimeout = Duration(7 * 24 * 60 * 60 * 1e9)
	}
	if a.Session.SecureCookies == "" {
		a.Session.SecureCookies = "auto"
	}
	if a.Login.MaxFailures == 0 {
		a.Login.MaxFailures = 5
	}
	if a.Login.Lockout == 0 {
		a.Login.Lockout = Duration(15 * 60 * 1e9)
	}
	if a.Login.ClientBurst == 0 {
		a.Login.ClientBurst = 20
	}
	if a.Login.ClientPerMinute == 0 {
		a.Login.ClientPerMinute = 10
	}
	if a.TokenAuditInterval == 0 {
		a.TokenAuditInterval = Duration(60 * 1e9)
	}
	if a.AuditRetention == 0 {
		a.AuditRetention = Duration(90 * 24 * 60 * 60 * 1e9)
	}
}

func (a *Auth) validate() []FieldError {
	var errs []FieldError
	switch a.Mode {
	case "", "none", "local":
	default:
		errs = append(errs, FieldError{Field: "mode", Msg: fmt.Sprintf("unknown mode %q: want local (users and tokens) or none (open)", a.Mode)})
	}
	switch a.Session.SecureCookies {
	case "auto", "true", "false":
	default:
		errs = append(errs, FieldError{Field: "session.secure_cookies", Msg: fmt.Sprintf("%q: want auto, true or false", a.Session.SecureCookies)})
	}
	if a.Session.IdleTimeout < 0 || a.Session.AbsoluteTimeout < 0 || a.Session.IdleTimeout > a.Session.AbsoluteTimeout {
		errs = append(errs, FieldError{Field: "session.idle_timeout", Msg: "want 0 < idle_timeout <= absolute_timeout"})
	}
	errs = append(errs, positive("login.max_failures", a.Login.MaxFailures)...)
	errs = append(errs, positive("login.client_burst", a.Login.ClientBurst)...)
	errs = append(errs, positive("login.client_per_minute", a.Login.ClientPerMinute)...)
	if o := a.OIDC; o != nil {
		if a.Mode != "local" {
			errs = append(errs, FieldError{Field: "oidc", Msg: "single sign-on needs mode: local"})
		}
		for _, f := range []struct{ name, v string }{{"issuer", o.Issuer}, {"client_id", o.ClientID}, {"redirect_url", o.RedirectURL}} {
			if f.v == "" {
				errs = append(errs, FieldError{Field: "oidc." + f.name, Msg: "required"})
			}
		}
		for _, f := range []struct{ name, v string }{{"issuer", o.Issuer}, {"redirect_url", o.RedirectURL}} {
			if u, err := url.Parse(f.v); f.v != "" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "") {
				errs = append(errs, FieldError{Field: "oidc." + f.name, Msg: fmt.Sprintf("%q: want an http(s) URL", f.v)})
			}
		}
		for role := range o.RoleGroups {
			if role != "viewer" && role != "editor" && role != "admin" {
				errs = append(errs, FieldError{Field: "oidc.role_groups." + role, Msg: "unknown role: want viewer, editor or admin"})
			}
		}
		if r := o.DefaultRole; r != "" && r != "viewer" && r != "editor" && r != "admin" {
			errs = append(errs, FieldError{Field: "oidc.default_role", Msg: fmt.Sprintf("unknown role %q: want viewer, editor, admin or empty (refuse)", r)})
		}
	}
	return errs
}

// IsLoopback reports whether a listen address accepts only local
// connections (127.0.0.0/8, ::1, localhost); "" (disabled) counts as
// loopback.
func IsLoopback(addr string) bool {
	if addr == "" {
		return true
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckExposure refuses a configuration that would serve an open Vigil
// beyond this machine: with no auth section, every listen address must
// be a loopback one. Call it after command-line overrides.
func (c *Config) CheckExposure() error {
	if c.Auth.Mode != "" {
		return nil
	}
	var open []string
	for _, a := range []struct{ key, addr string }{{"http_addr", c.HTTPAddr}, {"otlp.grpc_addr", c.OTLP.GRPCAddr}, {"otlp.http_addr", c.OTLP.HTTPAddr}} {
		if a.key != "http_addr" && c.OTLP.Disabled {
			continue
		}
		if !IsLoopback(a.addr) {
			open = append(open, a.key+" "+a.addr)
		}
	}
	if len(open) == 0 {
		return nil
	}
	return fmt.Errorf(`refusing to start: Vigil would listen beyond this machine (%s) with no authentication.
Add to the config file, to require users and API tokens:

  auth:
    mode: local

or, to accept an open server (behind a proxy that authenticates):

  auth:
    mode: none`, strings.Join(open, ", "))
}
