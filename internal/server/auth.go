package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/vigilhq/vigil/internal/auth"
	"github.com/vigilhq/vigil/internal/config"
	"github.com/vigilhq/vigil/internal/route"
)

// AdminPasswordEnv, when set on a first start with authentication on and
// no users, creates user "admin" with this password instead of printing a
// setup link.
const AdminPasswordEnv = "VIGIL_ADMIN_PASSWORD"

// setupAuth wires authentication: the credential store in the state
// database, the middleware every route of the table goes through (see
// guard), the login and user/token APIs, and the first admin.
func (s *Server) setupAuth(ctx context.Context, cfg *config.Config) error {
	ac := cfg.Auth
	opts := auth.Options{
		Disabled:           !ac.Enabled(),
		IdleTimeout:        ac.Session.IdleTimeout.D(),
		AbsoluteTimeout:    ac.Session.AbsoluteTimeout.D(),
		SecureCookies:      ac.Session.SecureCookies == "true" || (ac.Session.SecureCookies == "auto" && cfg.TLS.HTTP != nil),
		TokenAuditInterval: ac.TokenAuditInterval.D(),
		AuditRetention:     ac.AuditRetention.D(),
		Login: auth.LoginLimits{
			MaxFailures: ac.Login.MaxFailures, Lockout: ac.Login.Lockout.D(),
			ClientBurst: ac.Login.ClientBurst, ClientPerMinute: ac.Login.ClientPerMinute,
		},
		PathPrefix: s.externalURL().Path,
		Logger:     s.logger,
		Registerer: s.reg,
	}
	if ac.Enabled() {
		shared, err := s.sharedState(ctx, cfg)
		if err != nil {
			return err
		}
		if opts.Store, err = auth.OpenStore(ctx, shared.db, nil); err != nil {
			return err
		}
		if ac.OIDC != nil {
			o, err := oidcOptions(ac.OIDC, configDir(cfg.File))
			if err != nil {
				return err
			}
			opts.OIDC = o
		}
	}
	a, err := auth.New(ctx, opts)
	if err != nil {
		return err
	}
	s.auth = a
	startedAuth, startedTLS := cfg.Auth, cfg.TLS
	s.addReloader("auth", commitOnly(func(c *config.Config) error {
		if !reflect.DeepEqual(c.Auth, startedAuth) || !reflect.DeepEqual(c.TLS, startedTLS) {
			s.logger.Warn("auth or tls changed: they are read at start; restart vigil to apply them (certificate files are reloaded on change without one)")
		}
		return nil
	}))
	if s.scraper != nil && a.Enabled() && cfg.SelfScrape {
		// The self-scrape started before auth existed: give it its token.
		if err := s.scraper.ApplyConfig(s.scrapeConfig(cfg)); err != nil {
			return err
		}
	}
	s.addRoutes(a.Routes()...)
	s.addActor("auth", a.Run)
	if !a.Enabled() {
		if ac.Mode == "none" {
			s.logger.Warn("authentication is off (auth.mode none): every route is open to anyone who reaches the ports")
		}
		return nil
	}
	link, err := a.Bootstrap(ctx, os.Getenv(AdminPasswordEnv))
	if err != nil {
		return fmt.Errorf("create the first admin: %w", err)
	}
	if link != "" {
		u := s.externalURL()
		if cfg.TLS.HTTP != nil && cfg.Web.ExternalURL == "" {
			u.Scheme = "https"
		}
		// The link is meant to be seen: it is how the operator gets in.
		// It works once, for 24h, and only while no user exists.
		s.logger.Warn("authentication is on and there are no users: open this one-time link to create the first admin (or restart with "+AdminPasswordEnv+" set, or run vigil users add)", "url", u.String()+link)
	}
	s.running = append(s.running, "authentication: users, sessions and API tokens")
	return nil
}

func oidcOptions(o *config.AuthOIDC, dir string) (*auth.OIDCOptions, error) {
	opts := &auth.OIDCOptions{
		Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: o.ClientSecret, RedirectURL: o.RedirectURL,
		Scopes: o.Scopes, UsernameClaim: o.UsernameClaim, GroupsClaim: o.GroupsClaim,
		DefaultRole: auth.Role(o.DefaultRole), Name: o.Name, RoleGroups: map[auth.Role][]string{},
	}
	for r, g := range o.RoleGroups {
		opts.RoleGroups[auth.Role(r)] = g
	}
	if o.CAFile != "" {
		path := o.CAFile
		if !filepath.IsAbs(path) && dir != "" {
			path = filepath.Join(dir, path)
		}
		pem, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("auth.oidc.ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("auth.oidc.ca_file %s: no PEM certificate in it", path)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		opts.HTTPClient = &http.Client{Transport: tr}
	}
	return opts, nil
}

// guard puts every route of the table behind the auth middleware, each
// with its own scope.
func (s *Server) guard(routes []route.Route) []route.Route {
	if s.auth == nil {
		return routes
	}
	out := make([]route.Route, len(routes))
	for i, r := range routes {
		r.Handler = s.auth.Guard(r.Scope, r.Handler)
		out[i] = r
	}
	return out
}

// otlpAuth returns the OTLP receiver's gRPC options (the ingest-scope
// interceptor and TLS credentials) and the wrapper of its HTTP port.
func (s *Server) otlpAuth(otlpTLS *tls.Config) ([]grpc.ServerOption, func(http.Handler) http.Handler) {
	var opts []grpc.ServerOption
	if otlpTLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(otlpTLS)))
	}
	if s.auth == nil {
		return opts, nil
	}
	opts = append(opts, s.auth.GRPCServerOptions(route.Ingest)...)
	return opts, func(h http.Handler) http.Handler { return s.auth.Guard(route.Ingest, h) }
}

// Caller names the user behind a request (its session's user or its
// token's owner; "" with authentication off). Features that record who
// acted take an auth.CallerFunc-shaped option; hand them this.
func (s *Server) Caller(r *http.Request) string { return auth.Caller(r) }

// mayWrite says whether a request's caller holds the write scope: always
// with authentication off.
func (s *Server) mayWrite(r *http.Request) bool {
	if s.auth == nil {
		return true
	}
	p := auth.FromContext(r.Context())
	return p != nil && p.Scopes.Has(route.Write)
}

// selfScrapeAuth is the self-scrape job's extra keys: an in-memory read
// token when authentication is on, https when the HTTP port serves TLS
// (the certificate is not verified: the target is this process on
// loopback).
func (s *Server) selfScrapeAuth(cfg *config.Config) string {
	var text string
	if s.auth != nil {
		if tok := s.auth.InternalToken("self-scrape", route.Read); tok != "" {
			text += fmt.Sprintf("  authorization:\n    credentials: %q\n", tok)
		}
	}
	if cfg.TLS.HTTP != nil {
		text += "  scheme: https\n  tls_config:\n    insecure_skip_verify: true\n"
	}
	return text
}
