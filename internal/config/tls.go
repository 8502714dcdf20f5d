package config

import (
	"fmt"

	"github.com/prometheus/exporter-toolkit/web"
)

// TLS configures TLS for the listeners. Each entry takes the keys of
// Prometheus's web configuration file's tls_server_config (cert_file,
// key_file, client_auth_type, client_ca_file, client_allowed_sans,
// min_version, max_version, cipher_suites, curve_preferences); relative
// paths are relative to the config file. The certificate and key are
// read again when the files change, without a restart.
type TLS struct {
	// HTTP is the HTTP port (APIs, UI, remote write).
	HTTP *web.TLSConfig `yaml:"http"`
	// OTLP is both OTLP ports (gRPC and HTTP); client_auth_type
	// RequireAndVerifyClientCert with client_ca_file (and optionally
	// client_allowed_sans) requires client certificates for ingest.
	OTLP *web.TLSConfig `yaml:"otlp"`
}

func (t *TLS) setDefaults() {
	for _, c := range []*web.TLSConfig{t.HTTP, t.OTLP} {
		if c != nil && c.MinVersion == 0 {
			c.MinVersion = web.TLSVersion(0x0303) // TLS 1.2, as Prometheus
		}
	}
}

func (t *TLS) validate() []FieldError {
	var errs []FieldError
	for _, e := range []struct {
		name string
		c    *web.TLSConfig
	}{{"http", t.HTTP}, {"otlp", t.OTLP}} {
		c := e.c
		if c == nil {
			continue
		}
		if c.TLSCertPath == "" && c.TLSCert == "" {
			errs = append(errs, FieldError{Field: e.name + ".cert_file", Msg: "required: the PEM certificate (chain) file"})
		}
		if c.TLSKeyPath == "" && c.TLSKey == "" {
			errs = append(errs, FieldError{Field: e.name + ".key_file", Msg: "required: the PEM private key file"})
		}
		switch c.ClientAuth {
		case "", "NoClientCert", "RequestClientCert", "RequireAnyClientCert", "VerifyClientCertIfGiven", "RequireAndVerifyClientCert":
		default:
			errs = append(errs, FieldError{Field: e.name + ".client_auth_type", Msg: fmt.Sprintf("%q: want NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert", c.ClientAuth)})
		}
		if (c.ClientAuth == "RequireAndVerifyClientCert" || c.ClientAuth == "VerifyClientCertIfGiven") && c.ClientCAs == "" && c.ClientCAsText == "" {
			errs = append(errs, FieldError{Field: e.name + ".client_ca_file", Msg: "required with client_auth_type " + c.ClientAuth})
		}
		if len(c.ClientAllowedSans) > 0 && c.ClientCAs == "" && c.ClientCAsText == "" {
			errs = append(errs, FieldError{Field: e.name + ".client_allowed_sans", Msg: "needs client_ca_file: only verified certificates are checked"})
		}
	}
	return errs
}
