package otlpenv

import (
	"maps"
	"strings"
	"testing"
)

func TestParseHeaders(t *testing.T) {
	for _, c := range []struct {
		in   string
		want map[string]string
		err  string
	}{
		{"a=1", map[string]string{"a": "1"}, ""},
		{" X-Tenant = acme , authorization=Bearer%20tok%3D ,", map[string]string{"X-Tenant": "acme", "authorization": "Bearer tok="}, ""},
		{"a=1,a=2", map[string]string{"a": "2"}, ""},
		{"a=", map[string]string{"a": ""}, ""},
		{"a=x=y", map[string]string{"a": "x=y"}, ""},
		{"novalue", nil, `"novalue" is not key=value`},
		{"bad key=1", nil, `"bad key" is not a valid HTTP header name`},
		{"=1", nil, `"" is not a valid HTTP header name`},
		{"a=%zz", nil, "not URL-encoded"},
		{"a=x%0D%0AInjected: 1", nil, "control character"},
	} {
		got, err := ParseHeaders("OTEL_EXPORTER_OTLP_HEADERS", c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_HEADERS") {
				t.Errorf("%q: err %v, want it to name the variable and say %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || !maps.Equal(got, c.want) {
			t.Errorf("%q: %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestHeadersSignalVariableReplacesGeneral(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=general,x-extra=1")
	t.Setenv("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "x-tenant=logs")
	if h, err := Headers("logs"); err != nil || !maps.Equal(h, map[string]string{"x-tenant": "logs"}) {
		t.Errorf("logs: %v, %v", h, err)
	}
	if h, err := Headers("traces"); err != nil || !maps.Equal(h, map[string]string{"x-tenant": "general", "x-extra": "1"}) {
		t.Errorf("traces: %v, %v", h, err)
	}
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "")
	if h, err := Headers("metrics"); err != nil || h != nil {
		t.Errorf("unset: %v, %v", h, err)
	}
	t.Setenv("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "oops")
	if _, err := Headers("metrics"); err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_METRICS_HEADERS") {
		t.Errorf("err %v, want it to name the per-signal variable", err)
	}
}

// FuzzParseHeaders: any input parses to valid header names and values or
// is refused with an error; nothing panics.
func FuzzParseHeaders(f *testing.F) {
	for _, s := range []string{"a=1", "a=1,b=%20x", "=", ",,", "a=%", "k=v\r\n", "Authorization=Bearer%20vigil_abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHeaders("V", s)
		if err != nil {
			if h != nil {
				t.Fatalf("%q: headers %v with error %v", s, h, err)
			}
			return
		}
		for k, v := range h {
			if !ValidHeaderName(k) || !ValidHeaderValue(v) || strings.TrimSpace(v) != v {
				t.Fatalf("%q: invalid header %q: %q", s, k, v)
			}
		}
	})
}
