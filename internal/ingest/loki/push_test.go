package loki

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/vigilhq/vigil/internal/apierr"
	"github.com/vigilhq/vigil/internal/route"
)

// EncodeProto is the test-side encoder of a PushRequest.
func encodeProto(req *PushRequest) []byte {
	var out []byte
	for _, s := range req.Streams {
		var sb []byte
		sb = protowire.AppendTag(sb, fieldStreamLabels, protowire.BytesType)
		sb = protowire.AppendString(sb, FormatLabels(s.Labels))
		for _, e := range s.Entries {
			var eb, ts []byte
			ts = protowire.AppendTag(ts, fieldTSSeconds, protowire.VarintType)
			ts = protowire.AppendVarint(ts, uint64(e.Timestamp/1e9))
			ts = protowire.AppendTag(ts, fieldTSNanos, protowire.VarintType)
			ts = protowire.AppendVarint(ts, uint64(e.Timestamp%1e9))
			eb = protowire.AppendTag(eb, fieldEntryTimestamp, protowire.BytesType)
			eb = protowire.AppendBytes(eb, ts)
			eb = protowire.AppendTag(eb, fieldEntryLine, protowire.BytesType)
			eb = protowire.AppendString(eb, e.Line)
			for _, m := range e.Metadata {
				var mb []byte
				mb = protowire.AppendTag(mb, fieldPairName, protowire.BytesType)
				mb = protowire.AppendString(mb, m.Name)
				mb = protowire.AppendTag(mb, fieldPairValue, protowire.BytesType)
				mb = protowire.AppendString(mb, m.Value)
				eb = protowire.AppendTag(eb, fieldEntryMetadata, protowire.BytesType)
				eb = protowire.AppendBytes(eb, mb)
			}
			sb = protowire.AppendTag(sb, fieldStreamEntries, protowire.BytesType)
			sb = protowire.AppendBytes(sb, eb)
		}
		out = protowire.AppendTag(out, fieldStreams, protowire.BytesType)
		out = protowire.AppendBytes(out, sb)
	}
	return out
}

var sample = &PushRequest{Streams: []Stream{
	{
		Labels: []Label{{"app", "api"}, {"env", "prod"}},
		Entries: []Entry{
			{Timestamp: 1700000000123456789, Line: `level=info msg="hello"`},
			{Timestamp: 1700000001000000000, Line: "second", Metadata: []Label{{"trace_id", "0af7651916cd43dd8448eb211c80319c"}}},
		},
	},
	{
		Labels:  []Label{{"app", "db"}},
		Entries: []Entry{{Timestamp: 1700000002000000000, Line: "ünïcode \"quoted\""}},
	},
}}

func TestDecodeProtoRoundTrip(t *testing.T) {
	got, err := DecodeProto(encodeProto(sample))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(sample, got); d != "" {
		t.Fatalf("mismatch (-want +got):\n%s", d)
	}
}

func TestDecodeJSON(t *testing.T) {
	body := `{"streams":[{"stream":{"env":"prod","app":"api"},"values":[
		["1700000000123456789","level=info msg=\"hello\""],
		["1700000001000000000","second",{"trace_id":"0af7651916cd43dd8448eb211c80319c"}]]},
		{"stream":{"app":"db"},"values":[["1700000002000000000","ünïcode \"quoted\""]]}]}`
	got, err := DecodeJSON([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(sample, got); d != "" {
		t.Fatalf("mismatch (-want +got):\n%s", d)
	}
}

func TestParseLabels(t *testing.T) {
	f := func(in string, want []Label, wantErr string) {
		t.Helper()
		got, err := ParseLabels(in)
		if wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), wantErr) {
				t.Fatalf("ParseLabels(%q) err = %v, want containing %q", in, err, wantErr)
			}
			return
		}
		if err != nil {
			t.Fatalf("ParseLabels(%q): %v", in, err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("ParseLabels(%q) (-want +got):\n%s", in, d)
		}
	}
	f(`{b="2", a="1"}`, []Label{{"a", "1"}, {"b", "2"}}, "")
	f(`{a="x\"y\\n",}`, []Label{{"a", "x\"y\\n"}}, "")
	f(` { job = "a" } `, []Label{{"job", "a"}}, "")
	f(`{a="1", e=""}`, []Label{{"a", "1"}}, "")
	f(`{}`, nil, "at least one label")
	f(`{a="1",a="2"}`, nil, "duplicate label name")
	f(`{1a="x"}`, nil, "expected a label name")
	f(`{a=x}`, nil, "double-quoted")
	f(`{a="x"`, nil, "expected ',' or '}'")
	f(`{a="x}`, nil, "unterminated")
	f(`a="x"`, nil, "expected '{'")
}

func TestDecodeErrors(t *testing.T) {
	f := func(name string, body []byte, json bool, wantErr string) {
		t.Helper()
		var err error
		if json {
			_, err = DecodeJSON(body)
		} else {
			_, err = DecodeProto(body)
		}
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("%s: err = %v, want containing %q", name, err, wantErr)
		}
	}
	f("truncated", encodeProto(sample)[:30], false, "malformed protobuf")
	f("bad nanos", encodeProto(&PushRequest{Streams: []Stream{{Labels: []Label{{"a", "b"}}, Entries: []Entry{{Timestamp: -5, Line: "x"}}}}}), false, "out of range")
	f("no labels", protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), nil), false, "missing labels")
	f("json ts", []byte(`{"streams":[{"stream":{"a":"b"},"values":[[1,"x"]]}]}`), true, "timestamp must be a string")
	f("json ts int", []byte(`{"streams":[{"stream":{"a":"b"},"values":[["1.5","x"]]}]}`), true, "not an integer")
	f("json shape", []byte(`{"streams":[{"stream":{"a":"b"},"values":[["1"]]}]}`), true, "want 2 or 3")
	f("json label", []byte(`{"streams":[{"stream":{"a-b":"b"},"values":[]}]}`), true, "not valid")
	f("json trailing", []byte(`{"streams":[]} {}`), true, "unexpected data")
	f("json md", []byte(`{"streams":[{"stream":{"a":"b"},"values":[["1","x",{"k":1}]]}]}`), true, "metadata")
}

type fakeConsumer struct {
	mu   sync.Mutex
	got  []*PushRequest
	err  error
	rej  int64
	msgs string
}

func (f *fakeConsumer) ConsumePush(_ context.Context, req *PushRequest) (int64, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return 0, "", f.err
	}
	f.got = append(f.got, req)
	return f.rej, f.msgs, nil
}

func TestHandler(t *testing.T) {
	pb := encodeProto(sample)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"streams":[{"stream":{"app":"x"},"values":[["1","l"]]}]}`))
	zw.Close()

	f := func(name string, c *fakeConsumer, ct, ce string, body []byte, wantStatus, wantStored int, wantBody string) {
		t.Helper()
		h, err := New(Options{Consumer: c, MaxBodyBytes: 1 << 16})
		if err != nil {
			t.Fatal(err)
		}
		mux := route.NewMux(h.Routes())
		r := httptest.NewRequest("POST", "/loki/api/v1/push", bytes.NewReader(body))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		if ce != "" {
			r.Header.Set("Content-Encoding", ce)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if w.Code != wantStatus {
			t.Fatalf("%s: status %d, want %d (%s)", name, w.Code, wantStatus, w.Body)
		}
		if len(c.got) != wantStored {
			t.Fatalf("%s: %d requests stored, want %d", name, len(c.got), wantStored)
		}
		if !strings.Contains(w.Body.String(), wantBody) {
			t.Fatalf("%s: body %q, want containing %q", name, w.Body, wantBody)
		}
	}
	f("snappy proto", &fakeConsumer{}, "application/x-protobuf", "", snappy.Encode(nil, pb), 204, 1, "")
	f("gzip json", &fakeConsumer{}, "application/json", "gzip", gz.Bytes(), 204, 1, "")
	f("raw proto not snappy", &fakeConsumer{}, "application/x-protobuf", "", pb, 400, 0, "snappy")
	f("bad json", &fakeConsumer{}, "application/json", "", []byte(`{"streams":[`), 400, 0, "malformed JSON")
	f("too large", &fakeConsumer{}, "application/json", "", bytes.Repeat([]byte(" "), 1<<17), 413, 0, "over the limit")
	f("bomb", &fakeConsumer{}, "application/x-protobuf", "", snappy.Encode(nil, make([]byte, 1<<17)), 413, 0, "over the limit")
	f("overloaded", &fakeConsumer{err: apierr.New(apierr.Overloaded, "queue full")}, "application/x-protobuf", "", snappy.Encode(nil, pb), 429, 0, "queue full")
	f("partial", &fakeConsumer{rej: 1, msgs: "too old"}, "application/x-protobuf", "", snappy.Encode(nil, pb), 400, 1, "1 of 3 entries rejected: too old")
	f("bad encoding", &fakeConsumer{}, "application/json", "br", []byte(`{}`), 400, 0, "Content-Encoding")
	// issue 10 item 18: a body of another type is refused by its type.
	f("text/plain", &fakeConsumer{}, "text/plain", "", []byte("a line"), 415, 0,
		`unsupported Content-Type "text/plain": want application/x-protobuf (a snappy-compressed logproto.PushRequest) or application/json`)
	f("form", &fakeConsumer{}, "application/x-www-form-urlencoded", "", []byte("a=b"), 415, 0, "unsupported Content-Type")
	f("no content type", &fakeConsumer{}, "", "", snappy.Encode(nil, pb), 204, 1, "")
	f("json with charset", &fakeConsumer{}, "application/json; charset=utf-8", "gzip", gz.Bytes(), 204, 1, "")
}

// TestHandlerRetryAfter: an overloaded store (such as the active-stream
// limit) is answered 429 with the store's Retry-After.
func TestHandlerRetryAfter(t *testing.T) {
	h, err := New(Options{Consumer: &fakeConsumer{err: &apierr.Error{Code: apierr.Overloaded, Message: "the active stream limit", RetryAfter: 90 * time.Second}}})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", "/loki/api/v1/push", bytes.NewReader(snappy.Encode(nil, encodeProto(sample))))
	w := httptest.NewRecorder()
	route.NewMux(h.Routes()).ServeHTTP(w, r)
	if w.Code != 429 || w.Header().Get("Retry-After") != "90" || !strings.Contains(w.Body.String(), "the active stream limit") {
		t.Fatalf("%d %v %q", w.Code, w.Header(), w.Body)
	}
}

func FuzzDecodeProto(f *testing.F) {
	f.Add(encodeProto(sample))
	f.Add([]byte{0x0a, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := DecodeProto(b)
		if err != nil {
			return
		}
		// Whatever decodes must survive a round trip unchanged.
		again, err := DecodeProto(encodeProto(req))
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if d := cmp.Diff(req, again, cmp.Comparer(func(a, b []Label) bool { return cmp.Equal(normalizeNil(a), normalizeNil(b)) })); d != "" {
			t.Fatalf("round trip (-first +second):\n%s", d)
		}
	})
}

func normalizeNil(ls []Label) []Label {
	if len(ls) == 0 {
		return nil
	}
	return ls
}

func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"streams":[{"stream":{"app":"x"},"values":[["1","l",{"a":"b"}]]}]}`))
	f.Add([]byte(`{"streams":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := DecodeJSON(b)
		if err != nil {
			return
		}
		for _, s := range req.Streams {
			if len(s.Labels) == 0 {
				t.Fatal("accepted a stream without labels")
			}
			for _, e := range s.Entries {
				if e.Timestamp <= 0 {
					t.Fatal("accepted a non-positive timestamp")
				}
			}
		}
	})
}

func FuzzParseLabels(f *testing.F) {
	f.Add(`{a="1", b="x\"y"}`)
	f.Fuzz(func(t *testing.T, s string) {
		ls, err := ParseLabels(s)
		if err != nil {
			return
		}
		again, err := ParseLabels(FormatLabels(ls))
		if err != nil || !cmp.Equal(ls, again) {
			t.Fatalf("round trip of %q: %v %v %v", s, ls, again, err)
		}
	})
}

// Admit's refusal (the memory governor's) is answered before the body is
// read, 503 with Retry-After, and nothing reaches the store.
func TestHandlerAdmitRefusal(t *testing.T) {
	c := &fakeConsumer{}
	h, err := New(Options{Consumer: c, Admit: func() error {
		return &apierr.Error{Code: apierr.Unavailable, Message: "memory limit: over 90% of memory_limit 512MiB; retry later", RetryAfter: 2 * time.Second}
	}})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", "/loki/api/v1/push", bytes.NewReader(snappy.Encode(nil, encodeProto(sample))))
	w := httptest.NewRecorder()
	route.NewMux(h.Routes()).ServeHTTP(w, r)
	if w.Code != 503 || w.Header().Get("Retry-After") != "2" || !strings.Contains(w.Body.String(), "memory_limit") || len(c.got) != 0 {
		t.Fatalf("%d %v %q, %d stored", w.Code, w.Header(), w.Body, len(c.got))
	}
}
