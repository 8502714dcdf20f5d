package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcenc "google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip" // accept gzip-compressed gRPC requests
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/vigilhq/vigil/internal/apierr"
)

// Options configure a Receiver. Nil consumers make their signal answer
// "not supported" (HTTP 404 / gRPC UNIMPLEMENTED).
type Options struct {
	Metrics MetricsConsumer
	Traces  TracesConsumer
	Logs    LogsConsumer

	// Admit, when set, is asked before a request is read; an error (such
	// as the memory governor's retryable refusal) is the answer.
	Admit func() error
	// MaxRequestBytes bounds a request body after decompression (default 32 MiB).
	MaxRequestBytes int64
	// MaxConcurrentRequests bounds requests in progress (default 64); past
	// it clients get 429 / RESOURCE_EXHAUSTED with a retry delay.
	MaxConcurrentRequests int
	// RetryAfter is the delay suggested to clients refused for overload
	// (default 1s).
	RetryAfter time.Duration

	// GRPCServerOptions are added to the gRPC server's own (the server
	// passes authentication interceptors and TLS credentials here).
	GRPCServerOptions []grpc.ServerOption
	// WrapHTTP, when set, wraps the handler ServeHTTP serves on the OTLP
	// HTTP port (authentication); Handler() stays unwrapped, for a caller
	// that mounts it behind its own middleware.
	WrapHTTP func(http.Handler) http.Handler

	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Receiver serves OTLP over gRPC and HTTP.
type Receiver struct {
	opts    Options
	logger  *slog.Logger
	errw    apierr.Writer
	sem     chan struct{}
	handler http.Handler

	requests *prometheus.CounterVec
	items    *prometheus.CounterVec
	rejected *prometheus.CounterVec
}

const (
	sigMetrics = "metrics"
	sigTraces  = "traces"
	sigLogs    = "logs"
)

// New creates a receiver.
func New(opts Options) (*Receiver, error) {
	if opts.MaxRequestBytes <= 0 {
		opts.MaxRequestBytes = 32 << 20
	}
	if opts.MaxConcurrentRequests <= 0 {
		opts.MaxConcurrentRequests = 64
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Receiver{
		opts:   opts,
		logger: opts.Logger.With("component", "otlp"),
		errw:   apierr.Writer{Logger: opts.Logger.With("component", "otlp")},
		sem:    make(chan struct{}, opts.MaxConcurrentRequests),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_otlp_requests_total",
			Help: "OTLP export requests by signal, transport and outcome (ok, partial, invalid, overloaded, error).",
		}, []string{"signal", "transport", "outcome"}),
		items: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_otlp_items_received_total",
			Help: "Data points, spans or log records received over OTLP, by signal.",
		}, []string{"signal"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_otlp_items_rejected_total",
			Help: "Data points, spans or log records rejected (partial success or failed request), by signal.",
		}, []string{"signal"}),
	}
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{r.requests, r.items, r.rejected} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("register otlp metrics: %w", err)
			}
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/metrics", r.serveMetrics)
	mux.HandleFunc("POST /v1/traces", r.serveTraces)
	mux.HandleFunc("POST /v1/logs", r.serveLogs)
	r.handler = mux
	return r, nil
}

// Handler serves OTLP/HTTP: POST /v1/metrics, /v1/traces, /v1/logs.
func (r *Receiver) Handler() http.Handler { return r.handler }

// ServeHTTP serves OTLP/HTTP on ln until ctx is done, then finishes
// in-flight requests.
func (r *Receiver) ServeHTTP(ctx context.Context, ln net.Listener) error {
	h := r.handler
	if r.opts.WrapHTTP != nil {
		h = r.opts.WrapHTTP(h)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second, ErrorLog: slog.NewLogLogger(r.logger.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	<-errc
	return nil
}

// ServeGRPC serves OTLP/gRPC on ln until ctx is done, then stops
// gracefully.
func (r *Receiver) ServeGRPC(ctx context.Context, ln net.Listener) error {
	opts := append([]grpc.ServerOption{grpc.MaxRecvMsgSize(int(r.opts.MaxRequestBytes)),
		grpc.ForceServerCodecV2(rawCodec{next: grpcenc.GetCodecV2("proto")})}, r.opts.GRPCServerOptions...)
	srv := grpc.NewServer(opts...)
	for _, sd := range r.grpcServices() {
		srv.RegisterService(sd, nil)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	done := make(chan struct{})
	go func() { srv.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		srv.Stop()
	}
	<-errc
	return nil
}

// acquire takes a concurrency slot, waiting briefly; it fails with a
// retryable Overloaded error when the receiver is saturated.
func (r *Receiver) acquire(ctx context.Context) (func(), error) {
	select {
	case r.sem <- struct{}{}:
		return func() { <-r.sem }, nil
	default:
	}
	t := time.NewTimer(100 * time.Millisecond)
	defer t.Stop()
	select {
	case r.sem <- struct{}{}:
		return func() { <-r.sem }, nil
	case <-t.C:
		return nil, &apierr.Error{Code: apierr.Overloaded, Message: fmt.Sprintf("too many concurrent OTLP requests (limit otlp.max_concurrent_requests=%d); retry later", r.opts.MaxConcurrentRequests), RetryAfter: r.opts.RetryAfter}
	case <-ctx.Done():
		return nil, &apierr.Error{Code: apierr.Canceled, Message: "client went away", Err: ctx.Err()}
	}
}

func outcome(rejected int64, err error) string {
	switch {
	case err == nil && rejected == 0:
		return "ok"
	case err == nil:
		return "partial"
	}
	switch apierr.CodeOf(err) {
	case apierr.Invalid, apierr.TooLarge, apierr.Limit:
		return "invalid"
	case apierr.Overloaded, apierr.Unavailable:
		return "overloaded"
	}
	return "error"
}

// consume runs one request through its consumer with the concurrency bound.
func (r *Receiver) consume(ctx context.Context, signal, transport string, n int, f func(context.Context) (int64, string, error)) (int64, string, error) {
	r.items.WithLabelValues(signal).Add(float64(n))
	release, err := r.acquire(ctx)
	if err != nil {
		r.requests.WithLabelValues(signal, transport, outcome(0, err)).Inc()
		r.rejected.WithLabelValues(signal).Add(float64(n))
		return 0, "", err
	}
	defer release()
	rejected, msg, err := f(ctx)
	if err != nil {
		// Internal errors are logged, with the ID the client is told, where
		// the answer is written (apierr.Writer).
		rejected = int64(n)
	}
	r.requests.WithLabelValues(signal, transport, outcome(rejected, err)).Inc()
	r.rejected.WithLabelValues(signal).Add(float64(rejected))
	return rejected, msg, err
}

func notSupported(signal string) error {
	return apierr.New(apierr.NotFound, "OTLP %s are not accepted by this server", signal)
}

// ---- HTTP ----

type encoding int

const (
	encProto encoding = iota
	encJSON
)

// readBody checks the content type, decompresses and bounds the body.
// contentEncoding is the request body's encoding by its Content-Type
// (protobuf when it has none); with an error, protobuf, to answer in.
func contentEncoding(req *http.Request) (encoding, error) {
	ct, _, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	switch {
	case err != nil && req.Header.Get("Content-Type") != "":
		return encProto, apierr.New(apierr.Invalid, "invalid Content-Type %q: want application/x-protobuf or application/json", req.Header.Get("Content-Type"))
	case ct == "application/x-protobuf" || ct == "application/protobuf" || ct == "":
		return encProto, nil
	case ct == "application/json":
		return encJSON, nil
	}
	return encProto, &apierr.Error{Code: apierr.Invalid, Message: fmt.Sprintf("unsupported Content-Type %q: want application/x-protobuf or application/json", ct)}
}

func (r *Receiver) readBody(req *http.Request) ([]byte, encoding, error) {
	enc, err := contentEncoding(req)
	if err != nil {
		return nil, enc, err
	}
	body := io.Reader(req.Body)
	switch ce := req.Header.Get("Content-Encoding"); ce {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(io.LimitReader(req.Body, r.opts.MaxRequestBytes+1))
		if err != nil {
			return nil, enc, apierr.Wrap(apierr.Invalid, err, "invalid gzip body")
		}
		defer zr.Close()
		body = zr
	default:
		return nil, enc, apierr.New(apierr.Invalid, "unsupported Content-Encoding %q: want gzip or none", ce)
	}
	b, err := io.ReadAll(io.LimitReader(body, r.opts.MaxRequestBytes+1))
	if err != nil {
		return nil, enc, apierr.Wrap(apierr.Invalid, err, "read request body")
	}
	if int64(len(b)) > r.opts.MaxRequestBytes {
		return nil, enc, apierr.New(apierr.TooLarge, "request body over the limit of %d bytes (otlp.max_request_bytes); send smaller batches", r.opts.MaxRequestBytes)
	}
	return b, enc, nil
}

type message interface {
	MarshalProto() ([]byte, error)
	MarshalJSON() ([]byte, error)
}

func writeResponse(w http.ResponseWriter, enc encoding, resp message) {
	var b []byte
	var err error
	if enc == encJSON {
		w.Header().Set("Content-Type", "application/json")
		b, err = resp.MarshalJSON()
	} else {
		w.Header().Set("Content-Type", "application/x-protobuf")
		b, err = resp.MarshalProto()
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// writeError answers with a google.rpc.Status body, as the OTLP/HTTP spec
// asks, and Retry-After when the error is retryable.
func (r *Receiver) writeError(w http.ResponseWriter, req *http.Request, enc encoding, err error) {
	rep := r.errw.Reply(req, err)
	rep.Header(w.Header())
	code := rep.Status
	st := &spb.Status{Code: int32(apierr.GRPCCode(err)), Message: rep.Message}
	var b []byte
	if enc == encJSON {
		w.Header().Set("Content-Type", "application/json")
		b, _ = protojson.Marshal(st)
	} else {
		w.Header().Set("Content-Type", "application/x-protobuf")
		b, _ = proto.Marshal(st)
	}
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

func decodeErr(signal string, enc encoding, err error) error {
	format := "protobuf"
	if enc == encJSON {
		format = "JSON"
	}
	return apierr.Wrap(apierr.Invalid, err, "malformed OTLP %s request (%s)", signal, format)
}

// storeFunc hands decoded data to its consumer.
type storeFunc func(context.Context) (rejected int64, msg string, err error)

// signal is what differs between the metrics, traces and logs exports;
// serveHTTP and exportGRPC do the rest the same way for all three.
type signal[Req unmarshaler, Resp message] struct {
	name    string
	enabled bool // a consumer is configured
	newReq  func() Req
	// check applies the rules every request must pass (validate.go).
	check func(Req) error
	// items returns the request's data points, spans or log records
	// and the call that stores them.
	items   func(Req) (int, storeFunc)
	respond func(rejected int64, msg string) Resp
}

func (r *Receiver) metricsSignal() signal[pmetricotlp.ExportRequest, pmetricotlp.ExportResponse] {
	return signal[pmetricotlp.ExportRequest, pmetricotlp.ExportResponse]{
		name: sigMetrics, enabled: r.opts.Metrics != nil, newReq: pmetricotlp.NewExportRequest,
		check: func(ex pmetricotlp.ExportRequest) error { return checkMetrics(ex.Metrics()) },
		items: func(ex pmetricotlp.ExportRequest) (int, storeFunc) {
			md := ex.Metrics()
			return md.DataPointCount(), func(ctx context.Context) (int64, string, error) { return r.opts.Metrics.ConsumeMetrics(ctx, md) }
		},
		respond: metricsResponse,
	}
}

func (r *Receiver) tracesSignal() signal[ptraceotlp.ExportRequest, ptraceotlp.ExportResponse] {
	return signal[ptraceotlp.ExportRequest, ptraceotlp.ExportResponse]{
		name: sigTraces, enabled: r.opts.Traces != nil, newReq: ptraceotlp.NewExportRequest,
		check: func(ex ptraceotlp.ExportRequest) error { return checkTraces(ex.Traces()) },
		items: func(ex ptraceotlp.ExportRequest) (int, storeFunc) {
			td := ex.Traces()
			return td.SpanCount(), func(ctx context.Context) (int64, string, error) { return r.opts.Traces.ConsumeTraces(ctx, td) }
		},
		respond: tracesResponse,
	}
}

func (r *Receiver) logsSignal() signal[plogotlp.ExportRequest, plogotlp.ExportResponse] {
	return signal[plogotlp.ExportRequest, plogotlp.ExportResponse]{
		name: sigLogs, enabled: r.opts.Logs != nil, newReq: plogotlp.NewExportRequest,
		check: func(ex plogotlp.ExportRequest) error { return checkLogs(ex.Logs()) },
		items: func(ex plogotlp.ExportRequest) (int, storeFunc) {
			ld := ex.Logs()
			return ld.LogRecordCount(), func(ctx context.Context) (int64, string, error) { return r.opts.Logs.ConsumeLogs(ctx, ld) }
		},
		respond: logsResponse,
	}
}

func metricsResponse(rejected int64, msg string) pmetricotlp.ExportResponse {
	resp := pmetricotlp.NewExportResponse()
	if rejected > 0 {
		resp.PartialSuccess().SetRejectedDataPoints(rejected)
		resp.PartialSuccess().SetErrorMessage(msg)
	}
	return resp
}

func tracesResponse(rejected int64, msg string) ptraceotlp.ExportResponse {
	resp := ptraceotlp.NewExportResponse()
	if rejected > 0 {
		resp.PartialSuccess().SetRejectedSpans(rejected)
		resp.PartialSuccess().SetErrorMessage(msg)
	}
	return resp
}

func logsResponse(rejected int64, msg string) plogotlp.ExportResponse {
	resp := plogotlp.NewExportResponse()
	if rejected > 0 {
		resp.PartialSuccess().SetRejectedLogRecords(rejected)
		resp.PartialSuccess().SetErrorMessage(msg)
	}
	return resp
}

// serveHTTP runs one OTLP/HTTP export: read the body, decode it, store it
// within the concurrency bound and answer in the request's encoding.
func serveHTTP[Req unmarshaler, Resp message](r *Receiver, w http.ResponseWriter, req *http.Request, sig signal[Req, Resp]) {
	if err := r.admit(sig.name, "http"); err != nil {
		enc, _ := contentEncoding(req)
		r.writeError(w, req, enc, err)
		return
	}
	b, enc, err := r.readBody(req)
	if err != nil {
		r.writeError(w, req, enc, err)
		return
	}
	if !sig.enabled {
		r.writeError(w, req, enc, notSupported(sig.name))
		return
	}
	ex, err := decode(sig, enc, b)
	if err != nil {
		r.invalid(sig.name, "http")
		r.writeError(w, req, enc, err)
		return
	}
	n, store := sig.items(ex)
	rejected, msg, err := r.consume(req.Context(), sig.name, "http", n, store)
	if err != nil {
		r.writeError(w, req, enc, err)
		return
	}
	writeResponse(w, enc, sig.respond(rejected, msg))
}

func (r *Receiver) serveMetrics(w http.ResponseWriter, req *http.Request) {
	serveHTTP(r, w, req, r.metricsSignal())
}

func (r *Receiver) serveTraces(w http.ResponseWriter, req *http.Request) {
	serveHTTP(r, w, req, r.tracesSignal())
}

func (r *Receiver) serveLogs(w http.ResponseWriter, req *http.Request) {
	serveHTTP(r, w, req, r.logsSignal())
}

type unmarshaler interface {
	UnmarshalProto([]byte) error
	UnmarshalJSON([]byte) error
}

// decode turns a body into a request that passed the rules of
// validate.go, whichever the transport and encoding.
func decode[Req unmarshaler, Resp message](sig signal[Req, Resp], enc encoding, b []byte) (Req, error) {
	ex := sig.newReq()
	if enc == encJSON {
		// Before the decoder recurses into it.
		if err := checkJSONDepth(sig.name, b); err != nil {
			return ex, err
		}
	}
	if err := unmarshal(ex, enc, b); err != nil {
		if derr := protoDepthErr(sig.name, err); derr != err {
			return ex, derr
		}
		return ex, decodeErr(sig.name, enc, err)
	}
	return ex, sig.check(ex)
}

// admit asks Options.Admit whether a request may be read, counting a
// refusal as an overloaded request.
func (r *Receiver) admit(signal, transport string) error {
	if r.opts.Admit == nil {
		return nil
	}
	err := r.opts.Admit()
	if err != nil {
		r.requests.WithLabelValues(signal, transport, outcome(0, err)).Inc()
	}
	return err
}

// invalid counts a request refused before it reached its consumer.
func (r *Receiver) invalid(signal, transport string) {
	r.requests.WithLabelValues(signal, transport, "invalid").Inc()
}

func unmarshal(m unmarshaler, enc encoding, b []byte) error {
	if enc == encJSON {
		if len(bytes.TrimSpace(b)) == 0 {
			return errors.New("empty body: want a JSON ExportRequest object")
		}
		return m.UnmarshalJSON(b)
	}
	return m.UnmarshalProto(b)
}

// ---- gRPC ----

// The gRPC services are registered with raw messages rather than pdata's
// generated handlers, so that decoding happens here: gRPC answers a
// message its codec cannot decode with INTERNAL, which OTLP exporters take
// for a server bug; here a malformed or refused request gets
// INVALID_ARGUMENT with the same message as over HTTP.

// rawMessage is an undecoded request or an encoded response. It has the
// methods pdata's gRPC codec uses, so the bytes pass through it as they
// are; rawCodec handles it when pdata's codec is not the one registered.
type rawMessage []byte

func (m *rawMessage) SizeProto() int              { return len(*m) }
func (m *rawMessage) MarshalProto(buf []byte) int { return copy(buf, *m) }
func (m *rawMessage) UnmarshalProto(b []byte) error {
	*m = append((*m)[:0], b...) // the codec reuses b
	return nil
}

// rawCodec is gRPC's "proto" codec, passing rawMessages through and every
// other message to the codec registered before it (pdata's or gRPC's).
type rawCodec struct{ next grpcenc.CodecV2 }

func (c rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	if m, ok := v.(*rawMessage); ok {
		return mem.BufferSlice{mem.SliceBuffer(*m)}, nil
	}
	return c.next.Marshal(v)
}

func (c rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if m, ok := v.(*rawMessage); ok {
		*m = data.Materialize()
		return nil
	}
	return c.next.Unmarshal(data, v)
}

func (rawCodec) Name() string { return "proto" }

// grpcService describes one OTLP service (package.Service/Export) whose
// Export handler is export.
func grpcService(service, proto string, export func(ctx context.Context, body []byte) ([]byte, error)) *grpc.ServiceDesc {
	full := "/" + service + "/Export"
	return &grpc.ServiceDesc{
		ServiceName: service,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Export",
			Handler: func(_ any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
				in := new(rawMessage)
				if err := dec(in); err != nil {
					return nil, err
				}
				h := func(ctx context.Context, req any) (any, error) {
					out, err := export(ctx, *req.(*rawMessage))
					if err != nil {
						return nil, err
					}
					resp := rawMessage(out)
					return &resp, nil
				}
				if interceptor == nil {
					return h(ctx, in)
				}
				return interceptor(ctx, in, &grpc.UnaryServerInfo{Server: nil, FullMethod: full}, h)
			},
		}},
		Metadata: proto,
	}
}

// exportGRPC runs one OTLP/gRPC export: decode and check the request,
// store it within the concurrency bound and answer with its partial
// success, or with the error as a gRPC status (UNIMPLEMENTED when the
// signal has no consumer).
func exportGRPC[Req unmarshaler, Resp message](ctx context.Context, r *Receiver, sig signal[Req, Resp], body []byte) ([]byte, error) {
	if !sig.enabled {
		return nil, status.Error(codes.Unimplemented, notSupported(sig.name).Error())
	}
	if err := r.admit(sig.name, "grpc"); err != nil {
		return nil, r.errw.GRPC(err).Err()
	}
	req, err := decode(sig, encProto, body)
	if err != nil {
		r.invalid(sig.name, "grpc")
		return nil, r.errw.GRPC(err).Err()
	}
	n, store := sig.items(req)
	rejected, msg, err := r.consume(ctx, sig.name, "grpc", n, store)
	if err != nil {
		return nil, r.errw.GRPC(err).Err()
	}
	out, err := sig.respond(rejected, msg).MarshalProto()
	if err != nil {
		return nil, r.errw.GRPC(fmt.Errorf("encode OTLP %s response: %w", sig.name, err)).Err()
	}
	return out, nil
}

func (r *Receiver) grpcServices() []*grpc.ServiceDesc {
	return []*grpc.ServiceDesc{
		grpcService("opentelemetry.proto.collector.metrics.v1.MetricsService", "opentelemetry/proto/collector/metrics/v1/metrics_service.proto",
			func(ctx context.Context, b []byte) ([]byte, error) { return exportGRPC(ctx, r, r.metricsSignal(), b) }),
		grpcService("opentelemetry.proto.collector.trace.v1.TraceService", "opentelemetry/proto/collector/trace/v1/trace_service.proto",
			func(ctx context.Context, b []byte) ([]byte, error) { return exportGRPC(ctx, r, r.tracesSignal(), b) }),
		grpcService("opentelemetry.proto.collector.logs.v1.LogsService", "opentelemetry/proto/collector/logs/v1/logs_service.proto",
			func(ctx context.Context, b []byte) ([]byte, error) { return exportGRPC(ctx, r, r.logsSignal(), b) }),
	}
}
