package config

import (
	"fmt"
	"net/url"
	"strings"
)

// Web is how users reach Vigil.
type Web struct {
	// ExternalURL is the URL users reach Vigil at (behind a proxy or a DNS
	// name): every link Vigil builds (alert generator URLs, notification
	// links, the Alertmanager externalURL, the index page) uses it. A path
	// in it is also the route prefix every route is served under, as
	// Prometheus's --web.external-url does. "" = built from http_addr.
	ExternalURL string `yaml:"external_url"`
}

func (w *Web) validate() []FieldError {
	if w.ExternalURL == "" {
		return nil
	}
	if _, err := ParseExternalURL(w.ExternalURL); err != nil {
		return []FieldError{{Field: "external_url", Msg: err.Error()}}
	}
	return nil
}

// ParseExternalURL parses web.external_url: an absolute http or https URL
// without query or fragment; its path (without a trailing slash) is the
// route prefix.
func ParseExternalURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("invalid URL %q: %v", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("invalid URL %q: want an absolute http:// or https:// URL such as https://vigil.example.com/", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("invalid URL %q: want no query, fragment or user info", s)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}
