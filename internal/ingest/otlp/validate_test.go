package otlp

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ruleRequest is one signal's request with a value planted in it.
type ruleRequest struct {
	name, path string
	proto      func() []byte
	json       func() []byte
	grpc       func(*grpc.ClientConn) error
}

// nested sets v to an array nested depth levels deep around a string.
func nested(v pcommon.Value, depth int, leaf string) {
	for range depth - 1 {
		v = v.SetEmptySlice().AppendEmpty()
	}
	v.SetStr(leaf)
}

// ruleRequests builds, for each signal, a request whose resource
// attribute service.name is leaf nested depth levels deep (depth 1: the
// plain string), and for logs also a body nested the same way.
func ruleRequests(depth int, leaf string) []ruleRequest {
	plant := func(res pcommon.Resource) { nested(res.Attributes().PutEmpty("service.name"), depth, leaf) }
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	plant(rs.Resource())
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID([16]byte{1})
	sp.SetSpanID([8]byte{1})
	sp.SetName("op")
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	plant(rm.Resource())
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("m")
	m.SetEmptyGauge().DataPoints().AppendEmpty().SetIntValue(1)
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	plant(rl.Resource())
	nested(rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body(), depth, leaf)

	// JSON encoders escape or replace invalid UTF-8: plant the raw bytes.
	rawJSON := func(b []byte, err error) []byte {
		if err != nil {
			panic(err)
		}
		return b
	}
	tj := ptraceotlp.NewExportRequestFromTraces(td)
	mj := pmetricotlp.NewExportRequestFromMetrics(md)
	lj := plogotlp.NewExportRequestFromLogs(ld)
	return []ruleRequest{
		{name: "traces", path: "/v1/traces",
			proto: func() []byte { return rawJSON(tj.MarshalProto()) },
			json:  func() []byte { return rawJSON(tj.MarshalJSON()) },
			grpc: func(c *grpc.ClientConn) error {
				_, err := ptraceotlp.NewGRPCClient(c).Export(context.Background(), tj)
				return err
			}},
		{name: "metrics", path: "/v1/metrics",
			proto: func() []byte { return rawJSON(mj.MarshalProto()) },
			json:  func() []byte { return rawJSON(mj.MarshalJSON()) },
			grpc: func(c *grpc.ClientConn) error {
				_, err := pmetricotlp.NewGRPCClient(c).Export(context.Background(), mj)
				return err
			}},
		{name: "logs", path: "/v1/logs",
			proto: func() []byte { return rawJSON(lj.MarshalProto()) },
			json:  func() []byte { return rawJSON(lj.MarshalJSON()) },
			grpc: func(c *grpc.ClientConn) error {
				_, err := plogotlp.NewGRPCClient(c).Export(context.Background(), lj)
				return err
			}},
	}
}

// The same rule for invalid UTF-8 and for nesting on the six paths (three
// signals, gRPC and HTTP, the latter in protobuf and JSON): refused with
// 400 / INVALID_ARGUMENT naming the problem, nothing stored (issue 10
// item 19).
func TestOneRuleOnEveryPath(t *testing.T) {
	const placeholder = "PLACEHOLDER"
	cases := []struct {
		name    string
		depth   int
		leaf    string // placeholder is replaced by invalid UTF-8 in JSON
		jsonFix func([]byte) []byte
		want    string // "" accepted
	}{
		{"valid", 1, "shop", nil, ""},
		{"invalid UTF-8", 1, "\xff\xfe", func(b []byte) []byte { return b }, "is not valid UTF-8"},
		{"nested at the limit", MaxValueDepth, "x", nil, ""},
		{"nested past the limit", MaxValueDepth + 8, "x", nil, "more than 32 levels deep"},
		{"nested past the protobuf decoder's own limit", 60, "x", nil, "more than 32 levels deep"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &fakeAll{}
			r, err := New(Options{Metrics: c, Traces: c, Logs: c})
			if err != nil {
				t.Fatal(err)
			}
			conn := serveGRPC(t, r)
			leaf := tc.leaf
			if tc.jsonFix != nil {
				leaf = placeholder
			}
			jsonReqs := ruleRequests(tc.depth, leaf)
			for i, rq := range ruleRequests(tc.depth, tc.leaf) {
				check := func(path string, ok bool, msg string) {
					t.Helper()
					switch {
					case tc.want == "" && !ok:
						t.Errorf("%s %s: refused (%s), want accepted", rq.name, path, msg)
					case tc.want != "" && ok:
						t.Errorf("%s %s: accepted, want refused with %q", rq.name, path, tc.want)
					case tc.want != "" && !strings.Contains(msg, tc.want):
						t.Errorf("%s %s: message %q, want it to say %q", rq.name, path, msg, tc.want)
					}
				}
				err := rq.grpc(conn)
				st := status.Convert(err)
				if err != nil && st.Code() != codes.InvalidArgument {
					t.Errorf("%s grpc: code %v, want INVALID_ARGUMENT", rq.name, st.Code())
				}
				check("grpc", err == nil, st.Message())

				w := postBody(r.Handler(), rq.path, "application/x-protobuf", rq.proto())
				if w.Code != 200 && w.Code != 400 {
					t.Errorf("%s http protobuf: status %d", rq.name, w.Code)
				}
				check("http protobuf", w.Code == 200, w.Body.String())

				body := jsonReqs[i].json()
				if tc.jsonFix != nil {
					body = bytes.ReplaceAll(body, []byte(placeholder), []byte("\xff\xfe"))
				}
				w = postBody(r.Handler(), rq.path, "application/json", body)
				if w.Code != 200 && w.Code != 400 {
					t.Errorf("%s http json: status %d", rq.name, w.Code)
				}
				check("http json", w.Code == 200, w.Body.String())
			}
			if want := 0; tc.want != "" && c.items != want {
				t.Errorf("consumers got %d items of refused requests", c.items)
			}
			if tc.want == "" && c.items != 3*3 {
				t.Errorf("consumers got %d items, want 9 (3 signals x 3 paths)", c.items)
			}
		})
	}
}

// A JSON body nested far deeper than any valid request is refused before
// the decoder recurses into it (JSON decoding has no depth limit of its
// own; 100,000 levels used to be accepted on /v1/traces).
func TestJSONDepthBeforeDecoding(t *testing.T) {
	c := &fakeAll{}
	r, err := New(Options{Metrics: c, Traces: c, Logs: c})
	if err != nil {
		t.Fatal(err)
	}
	deep := strings.Repeat(`{"arrayValue":{"values":[`, 100_000) + `{"stringValue":"x"}` + strings.Repeat(`]}}`, 100_000)
	for _, p := range []string{"/v1/traces", "/v1/metrics", "/v1/logs"} {
		body := `{"resourceSpans":[{"resource":{"attributes":[{"key":"k","value":` + deep + `}]}}]}`
		w := postBody(r.Handler(), p, "application/json", []byte(body))
		if w.Code != 400 || !strings.Contains(w.Body.String(), "more than 32 levels deep") {
			t.Errorf("%s: %d %.200s", p, w.Code, w.Body)
		}
	}
	if c.items != 0 {
		t.Fatal("a refused request reached a consumer")
	}
}

func FuzzCheckJSONDepth(f *testing.F) {
	f.Add([]byte(`{"a":"[[[["}`))
	f.Add([]byte(`[[[[[[]]]]]]`))
	f.Add([]byte(`{"a":"\\"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = checkJSONDepth("logs", b) // must not panic
	})
}
