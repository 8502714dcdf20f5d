package traces

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// FuzzParseSearch: any query string either parses into a consistent query
// or is refused with an error; never a panic.
func FuzzParseSearch(f *testing.F) {
	for _, s := range []string{
		"service=a",
		"service=a&operation=op&limit=20&start=1700000000000000&end=1700003600000000",
		`service=a&tags={"http.status_code":"500","error":true}&minDuration=100ms&maxDuration=1.5s`,
		"service=a&tag=k:v&tag=x:y:z&lookback=2h",
		"traceID=abc&traceID=a00102030405060708090a0b0c0d0e01",
		"service=a&minDuration=-1s",
		"service=a&start=99&end=1",
		"limit=-4&service=",
	} {
		f.Add(s)
	}
	now := time.Unix(1_800_000_000, 0)
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		r, err := parseSearch(q, now)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		tq := r.query
		if tq.Service == "" && len(r.traceIDs) == 0 {
			t.Fatalf("accepted a search without service or trace IDs: %q", raw)
		}
		if tq.StartMin > tq.StartMax || tq.Limit <= 0 || tq.Limit > maxSearchLimit {
			t.Fatalf("inconsistent query %+v from %q", tq, raw)
		}
		if tq.DurationMin < 0 || tq.DurationMax < 0 || (tq.DurationMax > 0 && tq.DurationMin > tq.DurationMax) {
			t.Fatalf("bad durations %+v from %q", tq, raw)
		}
	})
}

func FuzzParseDependencies(f *testing.F) {
	f.Add("endTs=1700000000000&lookback=3600000")
	f.Add("endTs=-1")
	f.Add("lookback=99999999999999999999")
	now := time.Unix(1_800_000_000, 0)
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		if _, lb, err := parseDependencies(q, now); err == nil && lb <= 0 {
			t.Fatalf("non-positive lookback %v accepted from %q", lb, raw)
		}
	})
}

// FuzzTraceID: accepted IDs print back to the same digits (zero-padded).
func FuzzTraceID(f *testing.F) {
	f.Add("a00102030405060708090a0b0c0d0e01")
	f.Add("00000000000000ff")
	f.Add("ff")
	f.Add("XYZ")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := parseTraceID(s)
		if err != nil {
			return
		}
		got := jaegerTraceID(id)
		if strings.TrimLeft(got, "0") != strings.TrimLeft(strings.ToLower(s), "0") {
			t.Fatalf("parseTraceID(%q) printed as %q", s, got)
		}
	})
}

// FuzzDecodeAttrs: stored attribute text never panics the decoder, and
// whatever decodes re-encodes to text that decodes to the same map.
func FuzzDecodeAttrs(f *testing.F) {
	m := pcommon.NewMap()
	m.PutStr("s", "v")
	m.PutInt("i", -3)
	m.PutDouble("d", 1.5)
	m.PutEmptyBytes("b").FromRaw([]byte("xy"))
	m.PutEmptySlice("a").AppendEmpty().SetBool(true)
	m.PutEmptyMap("m").PutEmpty("e")
	f.Add(string(appendAttrs(nil, m)))
	f.Add(`[["k",{"d":"NaN"}]]`)
	f.Add(`[["k",{"m":[["x",[1,2]]]}]]`)
	f.Fuzz(func(t *testing.T, s string) {
		got := pcommon.NewMap()
		if err := decodeAttrs(s, got); err != nil {
			return
		}
		again := pcommon.NewMap()
		enc := string(appendAttrs(nil, got))
		if err := decodeAttrs(enc, again); err != nil {
			t.Fatalf("re-encoded %q does not decode: %v", enc, err)
		}
		if enc2 := string(appendAttrs(nil, again)); enc2 != enc {
			t.Fatalf("not stable: %q then %q", enc, enc2)
		}
	})
}

// FuzzConsumeOTLPJSON: whatever OTLP JSON decodes is stored without an
// error (invalid UTF-8, odd values, empty IDs). Each input commits to
// DuckDB, so this fuzzer runs slowly (a few execs a second); the worker
// reports progress in batches.
func FuzzConsumeOTLPJSON(f *testing.F) {
	var m ptrace.JSONMarshaler
	seed, _ := m.MarshalTraces(richTraces())
	f.Add(seed)
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"\u0000\udfff"}]}]}]}`))
	s := newStore(f, Options{})
	var u ptrace.JSONUnmarshaler
	f.Fuzz(func(t *testing.T, b []byte) {
		td, err := u.UnmarshalTraces(b)
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rejected, _, err := s.ConsumeTraces(ctx, td)
		if err != nil {
			t.Fatalf("ConsumeTraces: %v", err)
		}
		if rejected > int64(td.SpanCount()) {
			t.Fatalf("rejected %d of %d", rejected, td.SpanCount())
		}
	})
}
