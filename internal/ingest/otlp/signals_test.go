package otlp

import (
	"context"
	"net"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/vigilhq/vigil/internal/apierr"
)

// fakeAll consumes every signal with the same answer.
type fakeAll struct {
	rejected int64
	msg      string
	err      error
	items    int
}

func (f *fakeAll) answer(n int) (int64, string, error) {
	f.items += n
	return f.rejected, f.msg, f.err
}

func (f *fakeAll) ConsumeMetrics(_ context.Context, md pmetric.Metrics) (int64, string, error) {
	return f.answer(md.DataPointCount())
}

func (f *fakeAll) ConsumeTraces(_ context.Context, td ptrace.Traces) (int64, string, error) {
	return f.answer(td.SpanCount())
}

func (f *fakeAll) ConsumeLogs(_ context.Context, ld plog.Logs) (int64, string, error) {
	return f.answer(ld.LogRecordCount())
}

// signalClient exports 3 items of one signal over gRPC and over HTTP
// (protobuf) and reports the partial success of the response.
type signalClient struct {
	name   string
	path   string
	grpc   func(*grpc.ClientConn) (rejected int64, msg string, err error)
	decode func(body []byte) (rejected int64, msg string, err error)
	body   func() ([]byte, error)
}

func signalClients() []signalClient {
	md := pmetric.NewMetrics()
	g := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetEmptyGauge()
	for range 3 {
		g.DataPoints().AppendEmpty().SetIntValue(1)
	}
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for range 3 {
		lrs.AppendEmpty().Body().SetStr("line")
	}
	td := traces(3)
	return []signalClient{
		{
			name: "metrics", path: "/v1/metrics",
			grpc: func(c *grpc.ClientConn) (int64, string, error) {
				resp, err := pmetricotlp.NewGRPCClient(c).Export(context.Background(), pmetricotlp.NewExportRequestFromMetrics(md))
				if err != nil {
					return 0, "", err
				}
				return resp.PartialSuccess().RejectedDataPoints(), resp.PartialSuccess().ErrorMessage(), err
			},
			body: func() ([]byte, error) { return pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto() },
			decode: func(b []byte) (int64, string, error) {
				resp := pmetricotlp.NewExportResponse()
				err := resp.UnmarshalProto(b)
				return resp.PartialSuccess().RejectedDataPoints(), resp.PartialSuccess().ErrorMessage(), err
			},
		},
		{
			name: "traces", path: "/v1/traces",
			grpc: func(c *grpc.ClientConn) (int64, string, error) {
				resp, err := ptraceotlp.NewGRPCClient(c).Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(td))
				if err != nil {
					return 0, "", err
				}
				return resp.PartialSuccess().RejectedSpans(), resp.PartialSuccess().ErrorMessage(), err
			},
			body: func() ([]byte, error) { return ptraceotlp.NewExportRequestFromTraces(td).MarshalProto() },
			decode: func(b []byte) (int64, string, error) {
				resp := ptraceotlp.NewExportResponse()
				err := resp.UnmarshalProto(b)
				return resp.PartialSuccess().RejectedSpans(), resp.PartialSuccess().ErrorMessage(), err
			},
		},
		{
			name: "logs", path: "/v1/logs",
			grpc: func(c *grpc.ClientConn) (int64, string, error) {
				resp, err := plogotlp.NewGRPCClient(c).Export(context.Background(), plogotlp.NewExportRequestFromLogs(ld))
				if err != nil {
					return 0, "", err
				}
				return resp.PartialSuccess().RejectedLogRecords(), resp.PartialSuccess().ErrorMessage(), err
			},
			body: func() ([]byte, error) { return plogotlp.NewExportRequestFromLogs(ld).MarshalProto() },
			decode: func(b []byte) (int64, string, error) {
				resp := plogotlp.NewExportResponse()
				err := resp.UnmarshalProto(b)
				return resp.PartialSuccess().RejectedLogRecords(), resp.PartialSuccess().ErrorMessage(), err
			},
		},
	}
}

// serveGRPC starts r on a loopback port and returns a client connection;
// the server stops when the test ends.
func serveGRPC(t *testing.T, r *Receiver) *grpc.ClientConn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.ServeGRPC(ctx, ln) }()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return conn
}

func retryDelay(st *status.Status) time.Duration {
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri.RetryDelay.AsDuration()
		}
	}
	return 0
}

// TestSignalsOverBothTransports: every signal answers the same way over
// gRPC and HTTP: not supported without a consumer, partial success with the
// consumer's count and message, consumer errors mapped to status codes with
// RetryInfo / Retry-After when retryable.
func TestSignalsOverBothTransports(t *testing.T) {
	type want struct {
		code       codes.Code
		httpStatus int
		msg        string // gRPC status message, or partial success message
		rejected   int64
		retry      time.Duration
	}
	cases := []struct {
		name     string
		consumer *fakeAll // nil: signal not configured
		want     func(signal string) want
	}{
		{"not supported", nil, func(s string) want {
			return want{code: codes.Unimplemented, httpStatus: 404, msg: "OTLP " + s + " are not accepted by this server"}
		}},
		{"ok", &fakeAll{}, func(string) want { return want{code: codes.OK, httpStatus: 200} }},
		{"partial", &fakeAll{rejected: 2, msg: "2 items had no name"}, func(string) want {
			return want{code: codes.OK, httpStatus: 200, rejected: 2, msg: "2 items had no name"}
		}},
		{"invalid", &fakeAll{err: apierr.New(apierr.Invalid, "bad attribute %q", "x")}, func(string) want {
			return want{code: codes.InvalidArgument, httpStatus: 400, msg: `bad attribute "x"`}
		}},
		{"unavailable", &fakeAll{err: &apierr.Error{Code: apierr.Unavailable, Message: "store closed", RetryAfter: 3 * time.Second}}, func(string) want {
			return want{code: codes.Unavailable, httpStatus: 503, msg: "store closed", retry: 3 * time.Second}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{}
			if tc.consumer != nil {
				opts = Options{Metrics: tc.consumer, Traces: tc.consumer, Logs: tc.consumer}
			}
			r, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			conn := serveGRPC(t, r)
			for _, sc := range signalClients() {
				w := tc.want(sc.name)

				rejected, msg, err := sc.grpc(conn)
				st := status.Convert(err)
				if st.Code() != w.code {
					t.Errorf("%s grpc: code %v, want %v (%v)", sc.name, st.Code(), w.code, err)
				}
				if err != nil {
					if st.Message() != w.msg {
						t.Errorf("%s grpc: message %q, want %q", sc.name, st.Message(), w.msg)
					}
					if d := retryDelay(st); d != w.retry {
						t.Errorf("%s grpc: retry delay %v, want %v", sc.name, d, w.retry)
					}
				} else if rejected != w.rejected || msg != w.msg {
					t.Errorf("%s grpc: partial success %d %q, want %d %q", sc.name, rejected, msg, w.rejected, w.msg)
				}

				body, err := sc.body()
				if err != nil {
					t.Fatal(err)
				}
				resp := postBody(r.Handler(), sc.path, "application/x-protobuf", body)
				if resp.Code != w.httpStatus {
					t.Errorf("%s http: status %d, want %d (%s)", sc.name, resp.Code, w.httpStatus, resp.Body)
				}
				if resp.Code == 200 {
					rejected, msg, err := sc.decode(resp.Body.Bytes())
					if err != nil || rejected != w.rejected || msg != w.msg {
						t.Errorf("%s http: partial success %d %q (%v), want %d %q", sc.name, rejected, msg, err, w.rejected, w.msg)
					}
				}
				if ra := resp.Header().Get("Retry-After"); w.retry > 0 && ra != "3" || w.retry == 0 && ra != "" {
					t.Errorf("%s http: Retry-After %q", sc.name, ra)
				}
			}
			if tc.consumer != nil && tc.consumer.items != 2*3*3 {
				t.Errorf("consumer got %d items, want 18 (3 signals x 2 transports x 3)", tc.consumer.items)
			}
		})
	}
}
