package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/exporter-toolkit/web"
)

// tlsConfigOf builds the tls.Config of a listener from its
// tls_server_config (exporter-toolkit's, so the keys and the client
// certificate rules are Prometheus's). Relative paths are relative to dir
// (the config file's folder). The certificate is served by a certReloader
// instead of exporter-toolkit's loader, which re-reads and re-parses both
// files on every handshake.
func tlsConfigOf(tc *web.TLSConfig, dir string, logger *slog.Logger, what string) (*tls.Config, error) {
	if tc == nil {
		return nil, nil
	}
	c := *tc
	if dir != "" {
		c.SetDirectory(dir)
	}
	cfg, err := web.ConfigToTLSConfig(&c)
	if err != nil {
		return nil, fmt.Errorf("tls.%s: %w", what, err)
	}
	if c.TLSCertPath != "" && c.TLSKeyPath != "" {
		r := &certReloader{certPath: c.TLSCertPath, keyPath: c.TLSKeyPath, logger: logger.With("component", "tls", "listener", what)}
		if _, err := r.get(nil); err != nil {
			return nil, fmt.Errorf("tls.%s: %w", what, err)
		}
		cfg.GetCertificate = r.get
	}
	return cfg, nil
}

// certReloader serves a certificate from files and reads them again when
// their size or modification time changes (checked at most once a second),
// so a renewed certificate is served without a restart. A pair that does
// not load (a half-written renewal) is logged and the previous one kept.
type certReloader struct {
	certPath, keyPath string
	logger            *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string
	checked time.Time
}

func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if r.cert != nil && now.Sub(r.checked) < time.Second {
		return r.cert, nil
	}
	r.checked = now
	stamp, err := fileStamp(r.certPath, r.keyPath)
	if err == nil && stamp == r.stamp && r.cert != nil {
		return r.cert, nil
	}
	cert, lerr := tls.LoadX509KeyPair(r.certPath, r.keyPath)
	if err == nil {
		err = lerr
	}
	if err != nil {
		if r.cert != nil {
			r.logger.Warn("certificate files changed but do not load; serving the previous certificate", "cert_file", r.certPath, "err", err)
			return r.cert, nil
		}
		return nil, fmt.Errorf("load certificate %s and key %s: %w", r.certPath, r.keyPath, err)
	}
	if r.cert != nil {
		r.logger.Info("certificate reloaded", "cert_file", r.certPath)
	}
	r.cert, r.stamp = &cert, stamp
	return r.cert, nil
}

func fileStamp(paths ...string) (string, error) {
	s := ""
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return "", err
		}
		s += fmt.Sprintf("%d/%d;", fi.Size(), fi.ModTime().UnixNano())
	}
	return s, nil
}

// listenTLS wraps ln in TLS when cfg is set (HTTP/2 and HTTP/1.1 offered).
func listenTLS(ln net.Listener, cfg *tls.Config) net.Listener {
	if cfg == nil {
		return ln
	}
	c := cfg.Clone()
	c.NextProtos = []string{"h2", "http/1.1"}
	return tls.NewListener(ln, c)
}

func configDir(file string) string {
	if file == "" {
		return ""
	}
	return filepath.Dir(file)
}
