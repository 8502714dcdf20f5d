package tracing

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/vigilhq/vigil/sdk/export"
	"github.com/vigilhq/vigil/sdk/metric"
	"github.com/vigilhq/vigil/sdk/sampling"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// captureClient keeps a marshalled copy of every upload, as the wire would.
type captureClient struct {
	mu      sync.Mutex
	batches [][]byte
	stopped bool
}

func (c *captureClient) Start(context.Context) error { return nil }
func (c *captureClient) Stop(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	return nil
}

func (c *captureClient) UploadTraces(_ context.Context, rs []*tracepb.ResourceSpans) error {
	b, err := proto.Marshal(&tracepb.TracesData{ResourceSpans: rs})
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batches = append(c.batches, b)
	return nil
}

// spans decodes every upload into its spans, with scope and resource
// attached.
func (c *captureClient) data(t *testing.T) *tracepb.TracesData {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	all := &tracepb.TracesData{}
	for _, b := range c.batches {
		var td tracepb.TracesData
		if err := proto.Unmarshal(b, &td); err != nil {
			t.Fatal(err)
		}
		all.ResourceSpans = append(all.ResourceSpans, td.ResourceSpans...)
	}
	return all
}

func newTestProvider(t *testing.T, opts ...Option) (*Provider, *captureClient) {
	t.Helper()
	c := &captureClient{}
	opts = append([]Option{WithClient(c), WithBatch(export.Options{Registry: metric.New(metric.Options{})})}, opts...)
	p := NewProvider(opts...)
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p, c
}

var (
	t0  = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	res = resource.NewSchemaless(attribute.String("service.name", "shop"), attribute.Int("pid", 42))
)

// workload drives a tracer through the API's features; both SDKs run it.
func workload(tp trace.TracerProvider) {
	ctx := context.Background()
	tr := tp.Tracer("shop/http", trace.WithInstrumentationVersion("1.2.3"), trace.WithSchemaURL("https://opentelemetry.io/schemas/1.26.0"),
		trace.WithInstrumentationAttributes(attribute.String("lib", "x")))
	remote := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID(remoteTraceID), SpanID: trace.SpanID(remoteSpanID),
		TraceFlags: trace.FlagsSampled, Remote: true,
	})
	ctx = trace.ContextWithRemoteSpanContext(ctx, remote)
	ctx, root := tr.Start(ctx, "GET /orders", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(t0),
		trace.WithAttributes(attribute.String("http.request.method", "GET"), attribute.Int("n", 1)),
		trace.WithLinks(trace.Link{SpanContext: remote, Attributes: []attribute.KeyValue{attribute.Bool("follows", true)}}))
	root.SetAttributes(
		attribute.Int("n", 2), // a later value wins
		attribute.Float64("f", 1.5), attribute.Bool("b", true),
		attribute.StringSlice("ss", []string{"a", "b"}), attribute.Int64Slice("is", []int64{1, 2}),
		attribute.Float64Slice("fs", []float64{0.5}), attribute.BoolSlice("bs", []bool{true, false}),
		attribute.KeyValue{Key: "", Value: attribute.StringValue("invalid key")},
	)
	root.AddEvent("cache miss", trace.WithTimestamp(t0.Add(time.Millisecond)), trace.WithAttributes(attribute.String("key", "k1")))
	root.RecordError(errors.New("boom"), trace.WithTimestamp(t0.Add(2*time.Millisecond)))
	root.RecordError(nil)
	root.SetStatus(codes.Error, "failed")
	root.SetStatus(codes.Unset, "ignored") // Unset does not override Error
	root.SetName("GET /orders/{id}")

	_, child := tr.Start(ctx, "SELECT orders", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(t0.Add(3*time.Millisecond)))
	child.SetStatus(codes.Ok, "dropped description")
	child.SetStatus(codes.Error, "Ok is final")
	child.AddLink(trace.Link{SpanContext: root.SpanContext()})
	child.End(trace.WithTimestamp(t0.Add(4 * time.Millisecond)))
	child.SetAttributes(attribute.String("after", "end")) // ignored

	other := tp.Tracer("shop/db")
	_, s := other.Start(context.Background(), "vacuum", trace.WithNewRoot(), trace.WithTimestamp(t0))
	s.End(trace.WithTimestamp(t0.Add(time.Second)))

	// Edge cases: a parent with a trace ID but no span ID carries its trace
	// on; an unknown kind is internal; a link to an invalid context that has
	// attributes is kept; Tracer("") gets the SDK's default scope name;
	// nested values, duplicate map keys, bytes and long strings meet the
	// value limits.
	half := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID(halfTraceID)}))
	_, e := tp.Tracer("").Start(half, "edge", trace.WithSpanKind(trace.SpanKind(9)), trace.WithTimestamp(t0),
		trace.WithLinks(trace.Link{Attributes: []attribute.KeyValue{attribute.String("why", "no context")}}))
	e.SetAttributes(
		attribute.String("long", "0123456789héllo"),
		attribute.ByteSlice("bytes", []byte("0123456789")),
		attribute.StringSlice("strs", []string{"abcdefgh", "ab"}),
		attribute.Map("m", attribute.String("k", "v1"), attribute.String("k", "v2-long-value"),
			attribute.Map("inner", attribute.Slice("deep", attribute.StringValue("deeper-and-long")))),
		attribute.Slice("nested", attribute.IntValue(1), attribute.SliceValue(attribute.StringValue("twice-nested"))),
	)
	e.AddEvent("event", trace.WithTimestamp(t0), trace.WithAttributes(attribute.String("long", "0123456789")))
	e.End(trace.WithTimestamp(t0.Add(time.Millisecond)))

	root.End(trace.WithTimestamp(t0.Add(5 * time.Millisecond)))
	root.End() // a second End does nothing
}

// The workload's remote parent and half parent (a trace ID alone); every
// other ID is random.
var (
	remoteTraceID = []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	remoteSpanID  = []byte{1, 1, 1, 1, 1, 1, 1, 1}
	halfTraceID   = []byte{2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}
)

// normalize clears what differs between two runs (random IDs, SDK-chosen
// tracestate) and sorts spans by name, so the two SDKs' output compares.
func normalize(td *tracepb.TracesData) []*tracepb.Span {
	var spans []*tracepb.Span
	for _, rs := range td.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				s = proto.Clone(s).(*tracepb.Span)
				s.SpanId = nil
				if len(s.ParentSpanId) > 0 && !slices.Equal(s.ParentSpanId, remoteSpanID) {
					s.ParentSpanId = []byte("local")
				}
				if !slices.Equal(s.TraceId, remoteTraceID) && !slices.Equal(s.TraceId, halfTraceID) {
					s.TraceId = []byte("random")
				}
				s.TraceState = ""
				for _, l := range s.Links {
					if !slices.Equal(l.SpanId, remoteSpanID) {
						l.TraceId, l.SpanId = []byte("local"), []byte("local")
					}
				}
				// Scope and resource travel with the span for comparison.
				s.Attributes = append(s.Attributes, kvString("scope", prototext.Format(ss.Scope)+ss.SchemaUrl),
					kvString("resource", prototext.Format(rs.Resource)))
				spans = append(spans, s)
			}
		}
	}
	slices.SortFunc(spans, func(a, b *tracepb.Span) int { return strings.Compare(a.Name, b.Name) })
	return spans
}

// TestMatchesOpenTelemetrySDK runs the same workload through the
// OpenTelemetry SDK (batch processor + its OTLP exporter) and through this
// provider, with the default span limits and with tight ones, and compares
// the OTLP they send field by field.
func TestMatchesOpenTelemetrySDK(t *testing.T) {
	tight := sdktrace.SpanLimits{
		AttributeValueLengthLimit: 4, AttributeValueDepthLimit: 2, AttributeCountLimit: 6,
		EventCountLimit: 1, LinkCountLimit: 1, AttributePerEventCountLimit: 1, AttributePerLinkCountLimit: 1,
	}
	for _, c := range []struct {
		name   string
		limits sdktrace.SpanLimits
	}{{"default limits", sdktrace.NewSpanLimits()}, {"tight limits", tight}} {
		t.Run(c.name, func(t *testing.T) {
			otelClient := &captureClient{}
			exp, err := otlptrace.New(context.Background(), otelClient)
			if err != nil {
				t.Fatal(err)
			}
			otp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res), sdktrace.WithRawSpanLimits(c.limits))
			workload(otp)
			if err := otp.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}

			p, vc := newTestProvider(t, WithResource(res), WithRawSpanLimits(c.limits))
			workload(p)
			if err := p.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}

			want, got := normalize(otelClient.data(t)), normalize(vc.data(t))
			if len(got) != 4 || len(want) != 4 {
				t.Fatalf("spans: got %d, OTel %d", len(got), len(want))
			}
			for i := range want {
				if !proto.Equal(got[i], want[i]) {
					t.Errorf("span %q differs from the OpenTelemetry SDK's\n got: %v\nwant: %v", want[i].Name, prototext.Format(got[i]), prototext.Format(want[i]))
				}
			}
		})
	}
}

func TestSpanTree(t *testing.T) {
	p, c := newTestProvider(t)
	tr := p.Tracer("t")
	ctx, root := tr.Start(context.Background(), "root")
	_, child := tr.Start(ctx, "child")
	if child.SpanContext().TraceID() != root.SpanContext().TraceID() {
		t.Fatal("child is in another trace")
	}
	if !root.IsRecording() || !root.SpanContext().IsSampled() {
		t.Fatal("root not recorded and sampled")
	}
	if got := root.SpanContext().TraceState().Get("ot"); got != "th:0" {
		t.Errorf("tracestate ot = %q, want th:0", got)
	}
	child.End()
	root.End()
	if root.IsRecording() {
		t.Error("ended span still recording")
	}
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := normalizeRaw(c.data(t))
	if len(spans) != 2 {
		t.Fatalf("exported %d spans", len(spans))
	}
	byName := map[string]*tracepb.Span{}
	for _, s := range spans {
		byName[s.Name] = s
	}
	rsid := root.SpanContext().SpanID()
	if !slices.Equal(byName["child"].ParentSpanId, rsid[:]) || byName["root"].ParentSpanId != nil {
		t.Errorf("parents: child %x, root %x", byName["child"].ParentSpanId, byName["root"].ParentSpanId)
	}
	if byName["root"].EndTimeUnixNano < byName["root"].StartTimeUnixNano || byName["root"].StartTimeUnixNano == 0 {
		t.Errorf("times %d..%d", byName["root"].StartTimeUnixNano, byName["root"].EndTimeUnixNano)
	}
	if byName["root"].Kind != tracepb.Span_SPAN_KIND_INTERNAL {
		t.Errorf("default kind %v", byName["root"].Kind)
	}
}

func kvString(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func normalizeRaw(td *tracepb.TracesData) []*tracepb.Span {
	var out []*tracepb.Span
	for _, rs := range td.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			out = append(out, ss.Spans...)
		}
	}
	return out
}

func TestSamplingDecisions(t *testing.T) {
	p, c := newTestProvider(t, WithSampler(sampling.ParentBased(sampling.Probability(0))))
	tr := p.Tracer("t")
	ctx, root := tr.Start(context.Background(), "dropped")
	if root.IsRecording() || root.SpanContext().IsSampled() || !root.SpanContext().IsValid() {
		t.Fatalf("dropped root: recording %v sampled %v valid %v", root.IsRecording(), root.SpanContext().IsSampled(), root.SpanContext().IsValid())
	}
	_, child := tr.Start(ctx, "child")
	if child.SpanContext().TraceID() != root.SpanContext().TraceID() || child.SpanContext().IsSampled() {
		t.Fatal("child of a dropped span must share its trace and its decision")
	}
	child.SetAttributes(attribute.Int("x", 1))
	child.End()
	root.End()
	if root.TracerProvider() != p {
		t.Error("TracerProvider of a dropped span")
	}

	// A sampled remote parent keeps the child (parent-based).
	remote := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{9}, SpanID: trace.SpanID{9}, TraceFlags: trace.FlagsSampled, Remote: true})
	_, s := tr.Start(trace.ContextWithRemoteSpanContext(context.Background(), remote), "server")
	if !s.SpanContext().IsSampled() || !s.IsRecording() {
		t.Fatal("sampled remote parent not followed")
	}
	// WithNewRoot ignores the parent.
	_, nr := tr.Start(trace.ContextWithRemoteSpanContext(context.Background(), remote), "new root", trace.WithNewRoot())
	if nr.SpanContext().TraceID() == remote.TraceID() || nr.SpanContext().IsSampled() {
		t.Fatal("WithNewRoot kept the parent")
	}
	s.End()
	nr.End()
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := normalizeRaw(c.data(t))
	if len(spans) != 1 || spans[0].Name != "server" {
		t.Fatalf("exported %v", spans)
	}
	if spans[0].Flags&uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK) == 0 {
		t.Error("remote parent flag missing")
	}
}

func TestRecordOnlyIsNotExported(t *testing.T) {
	p, c := newTestProvider(t, WithSampler(recordOnly{}))
	_, s := p.Tracer("t").Start(context.Background(), "x")
	if !s.IsRecording() || s.SpanContext().IsSampled() {
		t.Fatal("RecordOnly: want recording, not sampled")
	}
	s.End()
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(normalizeRaw(c.data(t))); n != 0 {
		t.Fatalf("exported %d record-only spans", n)
	}
}

type recordOnly struct{}

func (recordOnly) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	return sdktrace.SamplingResult{Decision: sdktrace.RecordOnly}
}
func (recordOnly) Description() string { return "recordOnly" }

func TestLimits(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	p := NewProvider(WithExporter(exp), WithBatch(export.Options{Registry: metric.New(metric.Options{})}), WithSpanLimits(sdktrace.SpanLimits{
		AttributeCountLimit: 3, AttributeValueLengthLimit: 4, EventCountLimit: 2, LinkCountLimit: 1,
		AttributePerEventCountLimit: 1, AttributePerLinkCountLimit: 1,
	}))
	defer p.Shutdown(context.Background())
	_, s := p.Tracer("t").Start(context.Background(), "x")
	s.SetAttributes(attribute.String("a", "héllo wörld"), attribute.Int("b", 1), attribute.Int("c", 1))
	s.SetAttributes(attribute.Int("d", 1), attribute.Int("b", 2))
	s.SetAttributes(attribute.StringSlice("c", []string{"abcdef", "ab"}))
	for i := range 3 {
		s.AddEvent("e", trace.WithAttributes(attribute.Int("i", i), attribute.Int("j", i)))
	}
	for i := range 2 {
		s.AddLink(trace.Link{SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{byte(i + 1)}, SpanID: trace.SpanID{1}}),
			Attributes: []attribute.KeyValue{attribute.Int("x", 1), attribute.Int("y", 2)}})
	}
	s.AddLink(trace.Link{})
	s.End()
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("exported %d", len(spans))
	}
	got := spans[0]
	want := []attribute.KeyValue{attribute.String("a", "héll"), attribute.Int("b", 2), attribute.StringSlice("c", []string{"abcd", "ab"})}
	if !slices.Equal(got.Attributes, want) {
		t.Errorf("attributes %v, want %v", got.Attributes, want)
	}
	if got.DroppedAttributes != 1 {
		t.Errorf("dropped attributes %d, want 1", got.DroppedAttributes)
	}
	if len(got.Events) != 2 || got.DroppedEvents != 1 || got.Events[0].Attributes[0].Value.AsInt64() != 1 {
		t.Errorf("events %v dropped %d: want the last two, oldest evicted", got.Events, got.DroppedEvents)
	}
	if got.Events[0].DroppedAttributeCount != 1 || len(got.Events[0].Attributes) != 1 {
		t.Errorf("event attributes %v dropped %d", got.Events[0].Attributes, got.Events[0].DroppedAttributeCount)
	}
	if len(got.Links) != 1 || got.DroppedLinks != 1 || got.Links[0].SpanContext.TraceID()[0] != 2 || got.Links[0].DroppedAttributeCount != 1 {
		t.Errorf("links %v dropped %d", got.Links, got.DroppedLinks)
	}
}

func TestPanicInDeferredEndIsRecorded(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	p := NewProvider(WithExporter(exp), WithBatch(export.Options{Registry: metric.New(metric.Options{})}))
	defer p.Shutdown(context.Background())
	func() {
		defer func() {
			if r := recover(); r != "kaput" {
				t.Errorf("recovered %v: the panic must go on", r)
			}
		}()
		_, s := p.Tracer("t").Start(context.Background(), "x")
		defer s.End()
		panic("kaput")
	}()
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := exp.GetSpans()
	if len(spans) != 1 || len(spans[0].Events) != 1 || spans[0].Events[0].Name != "exception" {
		t.Fatalf("spans %v", spans)
	}
	ev := spans[0].Events[0]
	if !slices.Contains(ev.Attributes, attribute.String("exception.message", "kaput")) || !slices.Contains(ev.Attributes, attribute.String("exception.type", ".string")) {
		t.Errorf("exception event %v", ev.Attributes)
	}
}

func TestRecordErrorStackTrace(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	p := NewProvider(WithExporter(exp), WithBatch(export.Options{Registry: metric.New(metric.Options{})}))
	defer p.Shutdown(context.Background())
	_, s := p.Tracer("t").Start(context.Background(), "x")
	s.RecordError(errors.New("e"), trace.WithStackTrace(true), trace.WithAttributes(attribute.Int("retry", 2)))
	s.End()
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	attrs := exp.GetSpans()[0].Events[0].Attributes
	var stack string
	for _, a := range attrs {
		if a.Key == "exception.stacktrace" {
			stack = a.Value.AsString()
		}
	}
	if !strings.Contains(stack, "TestRecordErrorStackTrace") || !slices.Contains(attrs, attribute.Int("retry", 2)) ||
		!slices.Contains(attrs, attribute.String("exception.type", "*errors.errorString")) {
		t.Errorf("attributes %v", attrs)
	}
}

func TestShutdown(t *testing.T) {
	p, c := newTestProvider(t)
	tr := p.Tracer("t")
	_, s := tr.Start(context.Background(), "before")
	s.End()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(normalizeRaw(c.data(t))) != 1 || !c.stopped {
		t.Fatal("Shutdown must flush and stop the client")
	}
	_, s = tr.Start(context.Background(), "after")
	if s.IsRecording() {
		t.Error("span after Shutdown is recording")
	}
	s.End()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
}

func TestTracerIsCachedPerScope(t *testing.T) {
	p, _ := newTestProvider(t)
	if p.Tracer("a") != p.Tracer("a") || p.Tracer("a") == p.Tracer("a", trace.WithInstrumentationVersion("2")) {
		t.Fatal("tracers per scope")
	}
}

// TestConcurrentSpans ends spans from many goroutines while attributes are
// set on a shared one; run with -race.
func TestConcurrentSpans(t *testing.T) {
	p, c := newTestProvider(t, WithBatch(export.Options{Registry: metric.New(metric.Options{}), BatchSize: 7, QueueSize: 10000}))
	tr := p.Tracer("t")
	ctx, shared := tr.Start(context.Background(), "shared")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				_, s := tr.Start(ctx, "work", trace.WithAttributes(attribute.Int("g", g)))
				s.SetAttributes(attribute.Int("i", i))
				shared.SetAttributes(attribute.Int("g", g))
				shared.AddEvent("tick")
				s.End()
			}
		}()
	}
	wg.Wait()
	shared.End()
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := normalizeRaw(c.data(t))
	if len(spans) != 8*200+1 {
		t.Fatalf("exported %d spans, want %d", len(spans), 8*200+1)
	}
	for _, s := range spans {
		if s.Name == "shared" && (len(s.Attributes) != 1 || len(s.Events) != 128 || s.DroppedEventsCount != 8*200-128) {
			t.Errorf("shared span: %d attributes, %d events, %d dropped", len(s.Attributes), len(s.Events), s.DroppedEventsCount)
		}
	}
}

// TestTraceStateCache: spans sharing a TraceState value reuse its string;
// every distinct tracestate is still written as itself.
func TestTraceStateCache(t *testing.T) {
	var c converter
	a, _ := trace.TraceState{}.Insert("ot", "th:8")
	b, _ := a.Insert("vendor", "x")
	d, _ := trace.ParseTraceState("ot=th:8")
	for i, tc := range []struct {
		ts   trace.TraceState
		want string
	}{{a, "ot=th:8"}, {a, "ot=th:8"}, {b, "vendor=x,ot=th:8"}, {d, "ot=th:8"}, {trace.TraceState{}, ""}, {a, "ot=th:8"}} {
		if got := c.traceState(tc.ts); got != tc.want {
			t.Errorf("%d: %q, want %q", i, got, tc.want)
		}
	}
}

// TestInvalidUTF8DoesNotLoseTheBatch: protobuf refuses strings that are not
// UTF-8. Cut values drop such bytes (as the OpenTelemetry SDK's truncation
// does); uncut ones are repaired with U+FFFD, so the other spans of the
// batch still go out.
func TestInvalidUTF8DoesNotLoseTheBatch(t *testing.T) {
	for _, c := range []struct {
		limit int
		want  string
	}{{4, "abcd"}, {-1, "ab\uFFFDcdef"}} {
		p, vc := newTestProvider(t, WithRawSpanLimits(sdktrace.SpanLimits{AttributeValueLengthLimit: c.limit, AttributeValueDepthLimit: -1,
			AttributeCountLimit: -1, EventCountLimit: -1, LinkCountLimit: -1, AttributePerEventCountLimit: -1, AttributePerLinkCountLimit: -1}))
		tr := p.Tracer("t")
		_, bad := tr.Start(context.Background(), "bad\xff name")
		bad.SetAttributes(attribute.String("utf8", "ab\xffcdef"))
		_, good := tr.Start(context.Background(), "good")
		bad.End()
		good.End()
		if err := p.ForceFlush(context.Background()); err != nil {
			t.Fatalf("limit %d: %v", c.limit, err)
		}
		spans := normalizeRaw(vc.data(t))
		if len(spans) != 2 {
			t.Fatalf("limit %d: exported %d spans, want both", c.limit, len(spans))
		}
		for _, s := range spans {
			if s.Name == "bad\uFFFD name" {
				if got := s.Attributes[0].Value.GetStringValue(); got != c.want {
					t.Errorf("limit %d: value %q, want %q", c.limit, got, c.want)
				}
			} else if s.Name != "good" {
				t.Errorf("limit %d: span name %q", c.limit, s.Name)
			}
		}
	}
}

func TestCut(t *testing.T) {
	for _, c := range []struct {
		in    string
		limit int
		want  string
	}{
		{"héllo", 2, "hé"}, {"héllo", 5, "héllo"}, {"héllo", 0, ""}, {"ab\xffcd", 3, "abc"},
		{"\uFFFDabc", 2, "\uFFFDa"}, {"ab\xff", 3, "ab\xff"}, {"ab\xff", 2, "ab"}, // not longer than the limit in bytes: untouched, as the SDK does
	} {
		if got := cut(c.in, c.limit); got != c.want {
			t.Errorf("cut(%q, %d) = %q, want %q", c.in, c.limit, got, c.want)
		}
	}
}

// TestWithSpanLimitsKeepsDefaults: like sdktrace.WithSpanLimits, a zero
// field means the default, not zero.
func TestWithSpanLimitsKeepsDefaults(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	p := NewProvider(WithExporter(exp), WithBatch(export.Options{Registry: metric.New(metric.Options{})}),
		WithSpanLimits(sdktrace.SpanLimits{AttributeCountLimit: 64}))
	defer p.Shutdown(context.Background())
	if p.limits.AttributeCountLimit != 64 || p.limits.EventCountLimit != sdktrace.DefaultEventCountLimit {
		t.Fatalf("limits %+v", p.limits)
	}
	_, s := p.Tracer("t").Start(context.Background(), "x")
	s.SetAttributes(attribute.String("http.route", "/orders"))
	s.AddEvent("e")
	s.End()
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := exp.GetSpans()[0]
	if got.Attributes[0].Value.AsString() != "/orders" || len(got.Events) != 1 {
		t.Fatalf("attributes %v events %v: zero limits were applied", got.Attributes, got.Events)
	}
}

// TestSamplerSeesTheGivenKind: samplers get the kind as the caller gave it
// (unspecified when none), as in the OpenTelemetry SDK.
func TestSamplerSeesTheGivenKind(t *testing.T) {
	var kinds []trace.SpanKind
	p, _ := newTestProvider(t, WithSampler(samplerFunc(func(sp sdktrace.SamplingParameters) sdktrace.SamplingResult {
		kinds = append(kinds, sp.Kind)
		return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample}
	})))
	tr := p.Tracer("t")
	_, a := tr.Start(context.Background(), "a")
	_, b := tr.Start(context.Background(), "b", trace.WithSpanKind(trace.SpanKindServer))
	a.End()
	b.End()
	if !slices.Equal(kinds, []trace.SpanKind{trace.SpanKindUnspecified, trace.SpanKindServer}) {
		t.Fatalf("kinds %v", kinds)
	}
}

type samplerFunc func(sdktrace.SamplingParameters) sdktrace.SamplingResult

func (f samplerFunc) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult { return f(p) }
func (samplerFunc) Description() string                                                  { return "func" }
