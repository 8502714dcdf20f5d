// Package otlpenv reads the OTLP exporter variables that the SDK must
// interpret itself rather than leave to OpenTelemetry's exporters: the
// headers, which WithToken adds to.
package otlpenv

import (
	"fmt"
	"net/url"
	"os"
	"strings"
)

// Headers returns the headers set for signal ("traces", "metrics" or
// "logs") by OTEL_EXPORTER_OTLP_<SIGNAL>_HEADERS, else by
// OTEL_EXPORTER_OTLP_HEADERS, as OpenTelemetry's exporters read them (the
// signal's variable replaces the general one, it does not add to it). It
// returns nil when neither is set, and an error naming the variable when
// an entry is malformed.
func Headers(signal string) (map[string]string, error) {
	name := "OTEL_EXPORTER_OTLP_" + strings.ToUpper(signal) + "_HEADERS"
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		name = "OTEL_EXPORTER_OTLP_HEADERS"
		v = strings.TrimSpace(os.Getenv(name))
	}
	if v == "" {
		return nil, nil
	}
	return ParseHeaders(name, v)
}

// ParseHeaders reads value, the content of the variable name, as the
// OpenTelemetry specification writes headers: "key1=value1,key2=value2",
// keys being HTTP header names and values URL-encoded (W3C Baggage's
// format). Spaces around keys and values are ignored, as are empty
// entries; a later key replaces an earlier one.
func ParseHeaders(name, value string) (map[string]string, error) {
	h := map[string]string{}
	for kv := range strings.SplitSeq(value, ",") {
		if strings.TrimSpace(kv) == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("%s: %q is not key=value", name, kv)
		}
		k = strings.TrimSpace(k)
		if !ValidHeaderName(k) {
			return nil, fmt.Errorf("%s: %q is not a valid HTTP header name", name, k)
		}
		dec, err := url.PathUnescape(v)
		if err != nil {
			return nil, fmt.Errorf("%s: the value of %s is not URL-encoded: %v", name, k, err)
		}
		dec = strings.TrimSpace(dec)
		if !ValidHeaderValue(dec) {
			return nil, fmt.Errorf("%s: the value of %s holds a control character", name, k)
		}
		h[k] = dec
	}
	return h, nil
}

// ValidHeaderName reports whether s is an HTTP field name (RFC 9110 token).
func ValidHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// ValidHeaderValue reports whether s can be sent as an HTTP field value
// (and gRPC metadata): no control characters other than tab.
func ValidHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
