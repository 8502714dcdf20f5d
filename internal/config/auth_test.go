package config

import (
	"crypto/tls"
	"strings"
	"testing"
)

func TestAuthAndTLSSections(t *testing.T) {
	c, err := Parse([]byte(`
auth:
  mode: local
  session: {idle_timeout: 1h, absolute_timeout: 1d}
  oidc:
    issuer: https://id.example.com
    client_id: vigil
    redirect_url: https://vigil.example.com/login/oidc/callback
    role_groups: {admin: [ops]}
tls:
  http: {cert_file: c.pem, key_file: k.pem, min_version: TLS13}
  otlp: {cert_file: c.pem, key_file: k.pem, client_auth_type: RequireAndVerifyClientCert, client_ca_file: ca.pem, client_allowed_sans: [agent-1]}
`), "v.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Auth.Enabled() || c.Auth.Session.IdleTimeout.D().Hours() != 1 || c.Auth.Login.MaxFailures != 5 {
		t.Fatalf("auth %+v", c.Auth)
	}
	if uint16(c.TLS.HTTP.MinVersion) != tls.VersionTLS13 || uint16(c.TLS.OTLP.MinVersion) != tls.VersionTLS12 || c.TLS.OTLP.ClientAllowedSans[0] != "agent-1" {
		t.Fatalf("tls %+v %+v", c.TLS.HTTP, c.TLS.OTLP)
	}
}

func TestAuthErrors(t *testing.T) {
	f := func(text, want string) {
		t.Helper()
		_, err := Parse([]byte(text), "v.yaml")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Parse(%q) = %v; want an error with %q", text, err, want)
		}
	}
	f("auth: {mode: on}", "auth.mode: unknown mode")
	f("auth: {mode: none, oidc: {issuer: x}}", "single sign-on needs mode: local")
	f("auth: {mode: local, oidc: {issuer: 'ftp://x', client_id: a, redirect_url: 'https://v/cb'}}", "oidc.issuer")
	f("auth: {mode: local, bogus: 1}", "bogus")
	f("tls: {http: {cert_file: c.pem}}", "tls.http.key_file: required")
	f("tls: {otlp: {cert_file: c, key_file: k, client_auth_type: RequireAndVerifyClientCert}}", "tls.otlp.client_ca_file")
	f("tls: {http: {cert_file: c, key_file: k, min_version: TLS9}}", "TLS9")
}

func TestCheckExposure(t *testing.T) {
	f := func(text string, override func(*Config), wantErr bool) {
		t.Helper()
		c, err := Parse([]byte(text), "")
		if err != nil {
			t.Fatal(err)
		}
		if override != nil {
			override(c)
		}
		err = c.CheckExposure()
		if (err != nil) != wantErr {
			t.Fatalf("%q: CheckExposure = %v", text, err)
		}
		if err != nil && (!strings.Contains(err.Error(), "mode: local") || !strings.Contains(err.Error(), "mode: none")) {
			t.Fatalf("message lacks the two lines: %v", err)
		}
	}
	f("", nil, false)
	f("http_addr: localhost:9797", nil, false)
	f("http_addr: '[::1]:9797'", nil, false)
	f("http_addr: 0.0.0.0:9797", nil, true)
	f("http_addr: ':9797'", nil, true)
	f("", func(c *Config) { c.OTLP.GRPCAddr = "10.0.0.1:4317" }, true)
	f("otlp: {disabled: true}", func(c *Config) { c.OTLP.GRPCAddr = "10.0.0.1:4317" }, false)
	f("auth: {mode: none}\nhttp_addr: 0.0.0.0:9797", nil, false)
	f("auth: {mode: local}\nhttp_addr: 0.0.0.0:9797", nil, false)
}
