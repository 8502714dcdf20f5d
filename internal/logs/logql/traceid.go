package logql

import "strings"

// TraceIDLabel is the structured-metadata label holding a record's trace ID.
const TraceIDLabel = "trace_id"

// NormalizeTraceID returns a hexadecimal trace ID in the form Vigil stores:
// lowercase, and a 64-bit ID (16 digits, as Jaeger and Grafana's
// trace-to-logs show such traces) as the 128-bit one zero-padded to 32
// digits, which is what OTLP carries. Other values are returned unchanged.
func NormalizeTraceID(s string) string {
	if (len(s) != 16 && len(s) != 32) || !isHex(s) {
		return s
	}
	s = strings.ToLower(s)
	if len(s) == 16 {
		s = "0000000000000000" + s
	}
	return s
}

// ShortTraceID returns the 16-digit form of a normalized 128-bit trace ID
// whose upper half is zero, or "" when there is none.
func ShortTraceID(id string) string {
	if len(id) == 32 && strings.HasPrefix(id, "0000000000000000") {
		return id[16:]
	}
	return ""
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
