// Package remotewrite receives Prometheus remote write 1.0 and 2.0 (snappy
// protobuf) at /api/v1/write.
//
// Content negotiation, the response headers of 2.0 and the message types are
// client_golang's remote API and Prometheus's prompb; the storing is ours, so
// that series over a limit or with invalid labels are skipped with a 400
// naming them while the rest of the request is committed.
package remotewrite

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang/snappy"
	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/prometheus/prometheus/storage"
)

// Limits bound one request.
type Limits struct {
	MaxRequestBytes      int64 // compressed and decompressed body
	MaxSamplesPerRequest int
	MaxSeriesPerRequest  int
}

// Options configure the handler.
type Options struct {
	Appendable storage.AppendableV2
	Logger     *slog.Logger
	// Limits returns the limits in force (they change on reload).
	Limits func() Limits
	// MaxConcurrentRequests bounds requests being stored at once (default
	// 64). Past it a request waits up to 200ms, then gets 503 with
	// Retry-After, which every Prometheus version retries (429 is retried
	// only with retry_on_http_429).
	MaxConcurrentRequests int
	// Rejected counts rejected samples by reason in the shared
	// vigil_samples_rejected_total (limit rejections are counted by the
	// appendable itself).
	Rejected func(reason string, n int)
	// Received counts received samples by protocol (remote_write,
	// remote_write_2) in the shared vigil_samples_received_total.
	Received func(protocol string, n int)
}

// Rejection reasons counted here.
const (
	ReasonInvalidLabels = "invalid_labels"
	ReasonOutOfOrder    = "out_of_order"
	ReasonOutOfBounds   = "out_of_bounds"
	ReasonDuplicate     = "duplicate_timestamp"
	ReasonRequestLimit  = "request_limit"
	ReasonMalformed     = "malformed_request"
)

// maxAhead is how far in the future a sample may be (as Prometheus).
const maxAhead = 10 * time.Minute

type handler struct {
	opts Options
	sem  chan struct{}
	next http.Handler
}

// New returns the remote write handler.
func New(opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Limits == nil {
		opts.Limits = func() Limits { return Limits{MaxRequestBytes: 32 << 20} }
	}
	if opts.Rejected == nil {
		opts.Rejected = func(string, int) {}
	}
	if opts.Received == nil {
		opts.Received = func(string, int) {}
	}
	if opts.MaxConcurrentRequests <= 0 {
		opts.MaxConcurrentRequests = 64
	}
	h := &handler{opts: opts, sem: make(chan struct{}, opts.MaxConcurrentRequests)}
	logger := opts.Logger.With("component", "remote write")
	h.next = remoteapi.NewWriteHandler(h, remoteapi.MessageTypes{remoteapi.WriteV1MessageType, remoteapi.WriteV2MessageType},
		remoteapi.WithWriteHandlerLogger(logger),
		remoteapi.WithWriteHandlerMiddlewares(h.decompress))
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case h.sem <- struct{}{}:
	default:
		t := time.NewTimer(200 * time.Millisecond)
		select {
		case h.sem <- struct{}{}:
			t.Stop()
		case <-t.C:
			h.opts.Rejected("overloaded", 0)
			w.Header().Set("Retry-After", "1")
			http.Error(w, fmt.Sprintf("too many concurrent remote write requests (limit %d); retry later", h.opts.MaxConcurrentRequests), http.StatusServiceUnavailable)
			return
		case <-r.Context().Done():
			return
		}
	}
	defer func() { <-h.sem }()
	h.next.ServeHTTP(w, r)
}

// decompress reads the snappy body within the request byte limit.
func (h *handler) decompress(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		max := h.opts.Limits().MaxRequestBytes
		if max <= 0 {
			max = 32 << 20
		}
		if ct := r.Header.Get("Content-Type"); ct != "" {
			if _, err := remoteapi.ParseProtoMsg(ct); err != nil {
				http.Error(w, fmt.Sprintf("unsupported Content-Type %q: want application/x-protobuf (remote write 1.0) or application/x-protobuf;proto=io.prometheus.write.v2.Request (2.0)", ct), http.StatusUnsupportedMediaType)
				return
			}
		}
		if enc := r.Header.Get("Content-Encoding"); enc != "" && enc != "snappy" {
			http.Error(w, fmt.Sprintf("Content-Encoding %q is not accepted: remote write bodies must be snappy-compressed (Content-Encoding: snappy)", enc), http.StatusUnsupportedMediaType)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
		if err != nil {
			http.Error(w, "read request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		if int64(len(body)) > max {
			h.opts.Rejected(ReasonRequestLimit, 0)
			http.Error(w, fmt.Sprintf("request body over the limit of %d bytes (metrics.limits.max_request_bytes); send smaller batches", max), http.StatusRequestEntityTooLarge)
			return
		}
		n, err := snappy.DecodedLen(body)
		if err != nil {
			http.Error(w, "malformed snappy body: "+err.Error()+"; remote write bodies must be snappy block-compressed protobuf", http.StatusBadRequest)
			return
		}
		if int64(n) > max {
			http.Error(w, fmt.Sprintf("decompressed body of %d bytes is over the limit of %d bytes (metrics.limits.max_request_bytes); send smaller batches", n, max), http.StatusRequestEntityTooLarge)
			return
		}
		dec, err := snappy.Decode(nil, body)
		if err != nil {
			http.Error(w, "malformed snappy body: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(dec))
		r.Header.Del("Content-Encoding")
		next.ServeHTTP(w, r)
	})
}

// rejections collects per-series problems; the first few are reported.
type rejections struct {
	n    map[string]int
	msgs []string
}

func (r *rejections) add(reason, msg string, samples int) {
	if r.n == nil {
		r.n = map[string]int{}
	}
	r.n[reason] += samples
	if len(r.msgs) < 5 && !slices.Contains(r.msgs, msg) {
		r.msgs = append(r.msgs, msg)
	}
}

func (r *rejections) total() int {
	t := 0
	for _, n := range r.n {
		t += n
	}
	return t
}

func (r *rejections) err(accepted int) error {
	return fmt.Errorf("%d samples rejected, %d accepted: %s", r.total(), accepted, strings.Join(r.msgs, "; "))
}

// classify maps an append error to a reason, or "" for a server error.
func classify(err error) string {
	var le interface{ LimitReason() string }
	switch {
	case errors.As(err, &le):
		return "limit" // counted by the appendable
	case errors.Is(err, storage.ErrOutOfOrderSample), errors.Is(err, storage.ErrTooOldSample):
		return ReasonOutOfOrder
	case errors.Is(err, storage.ErrDuplicateSampleForTimestamp):
		return ReasonDuplicate
	case errors.Is(err, storage.ErrOutOfBounds):
		return ReasonOutOfBounds
	}
	return ""
}

func checkLabels(ls labels.Labels) error {
	name := ls.Get(labels.MetricName)
	if name == "" {
		return fmt.Errorf("series %s has no metric name (__name__ label)", ls.String())
	}
	var bad error
	ls.Range(func(l labels.Label) {
		if bad != nil {
			return
		}
		if !model.UTF8Validation.IsValidLabelName(l.Name) {
			bad = fmt.Errorf("series %s has an invalid label name %q: want a non-empty UTF-8 string", name, l.Name)
		} else if !model.LabelValue(l.Value).IsValid() {
			bad = fmt.Errorf("series %s has an invalid value for label %q: want valid UTF-8", name, l.Name)
		} else if l.Value == "" {
			bad = fmt.Errorf("series %s has an empty value for label %q: omit the label instead", name, l.Name)
		}
	})
	if bad != nil {
		return bad
	}
	if dup, ok := ls.HasDuplicateLabelNames(); ok {
		return fmt.Errorf("series %s has the label %q twice", ls.String(), dup)
	}
	return nil
}

// Store implements the remote API's storage for both message versions.
func (h *handler) Store(r *http.Request, msgType remoteapi.WriteMessageType) (*remoteapi.WriteResponse, error) {
	wr := remoteapi.NewWriteResponse()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		wr.SetStatusCode(http.StatusBadRequest)
		return wr, fmt.Errorf("read request body: %w", err)
	}
	if msgType == remoteapi.WriteV2MessageType {
		return h.storeV2(r, body, wr)
	}
	var req prompb.WriteRequest
	if err := req.Unmarshal(body); err != nil {
		h.opts.Rejected(ReasonMalformed, 0)
		wr.SetStatusCode(http.StatusBadRequest)
		return wr, fmt.Errorf("malformed remote write 1.0 request: %w (want a snappy-compressed prometheus.WriteRequest protobuf)", err)
	}
	nSamples := 0
	for _, ts := range req.Timeseries {
		nSamples += len(ts.Samples) + len(ts.Histograms)
	}
	bt, err := h.begin(r, "remote_write", len(req.Timeseries), nSamples)
	if err != nil {
		wr.SetStatusCode(http.StatusBadRequest)
		return wr, err
	}
	b := labels.NewScratchBuilder(0)
	for _, ts := range req.Timeseries {
		ls := ts.ToLabels(&b, nil)
		n := len(ts.Samples) + len(ts.Histograms)
		ref, err := bt.series(ls)
		if err != nil {
			bt.rej.add(ReasonInvalidLabels, err.Error(), n)
			continue
		}
		var serr error
		for _, s := range ts.Samples {
			if ref, serr = bt.sample(ref, ls, 0, s.Timestamp, s.Value, storage.AOptions{}); serr != nil {
				break
			}
		}
		for i := 0; serr == nil && i < len(ts.Histograms); i++ {
			hp := &ts.Histograms[i]
			if hp.IsFloatHistogram() {
				ref, serr = bt.histogram(ref, ls, 0, hp.Timestamp, nil, hp.ToFloatHistogram(), storage.AOptions{})
			} else {
				ref, serr = bt.histogram(ref, ls, 0, hp.Timestamp, hp.ToIntHistogram(), nil, storage.AOptions{})
			}
		}
		if serr != nil {
			if err := bt.failed(ls, serr, n); err != nil {
				return bt.abort(wr, err)
			}
			continue
		}
		if len(ts.Exemplars) > 0 && bt.eapp != nil && ref != 0 {
			bt.exemplars = bt.exemplars[:0]
			for _, e := range ts.Exemplars {
				bt.exemplars = append(bt.exemplars, e.ToExemplar(&b, nil))
			}
			bt.addExemplars(ref, ls)
		}
	}
	return h.end(wr, bt, false)
}

func (h *handler) storeV2(r *http.Request, body []byte, wr *remoteapi.WriteResponse) (*remoteapi.WriteResponse, error) {
	var req writev2.Request
	if err := req.Unmarshal(body); err != nil {
		h.opts.Rejected(ReasonMalformed, 0)
		wr.SetStatusCode(http.StatusBadRequest)
		return wr, fmt.Errorf("malformed remote write 2.0 request: %w (want a snappy-compressed io.prometheus.write.v2.Request protobuf)", err)
	}
	nSamples := 0
	for _, ts := range req.Timeseries {
		nSamples += len(ts.Samples) + len(ts.Histograms)
	}
	bt, err := h.begin(r, "remote_write_2", len(req.Timeseries), nSamples)
	if err != nil {
		wr.SetStatusCode(http.StatusBadRequest)
		return wr, err
	}
	b := labels.NewScratchBuilder(0)
	for _, ts := range req.Timeseries {
		n := len(ts.Samples) + len(ts.Histograms)
		ls, err := ts.ToLabels(&b, req.Symbols)
		if err != nil {
			bt.rej.add(ReasonInvalidLabels, "invalid symbol references: "+err.Error(), n)
			continue
		}
		ref, err := bt.series(ls)
		if err != nil {
			bt.rej.add(ReasonInvalidLabels, err.Error(), n)
			continue
		}
		var md metadata.Metadata
		if m, err := ts.ToMetadata(req.Symbols); err == nil {
			md = m
		}
		opts := storage.AOptions{Metadata: md}
		var serr error
		for _, s := range ts.Samples {
			if ref, serr = bt.sample(ref, ls, s.StartTimestamp, s.Timestamp, s.Value, opts); serr != nil {
				break
			}
		}
		for i := 0; serr == nil && i < len(ts.Histograms); i++ {
			hp := &ts.Histograms[i]
			if hp.IsFloatHistogram() {
				ref, serr = bt.histogram(ref, ls, hp.StartTimestamp, hp.Timestamp, nil, hp.ToFloatHistogram(), opts)
			} else {
				ref, serr = bt.histogram(ref, ls, hp.StartTimestamp, hp.Timestamp, hp.ToIntHistogram(), nil, opts)
			}
		}
		if serr != nil {
			if err := bt.failed(ls, serr, n); err != nil {
				return bt.abort(wr, err)
			}
			continue
		}
		if len(ts.Exemplars) > 0 && bt.eapp != nil && ref != 0 {
			bt.exemplars = bt.exemplars[:0]
			for _, e := range ts.Exemplars {
				if ex, err := e.ToExemplar(&b, req.Symbols); err == nil {
					bt.exemplars = append(bt.exemplars, ex)
				}
			}
			bt.addExemplars(ref, ls)
		}
	}
	return h.end(wr, bt, true)
}

// batch appends the series of one request, whichever the message version,
// and keeps count of what it stored and of what it refused and why.
type batch struct {
	app       storage.AppenderV2
	eapp      storage.ExemplarAppenderV2
	getRef    storage.GetRef // nil when the appender cannot look series up
	maxT      int64          // the latest timestamp accepted
	rej       rejections
	stats     remoteapi.WriteResponseStats
	exemplars []exemplar.Exemplar
}

// begin checks the request limits, counts the request's samples as
// received and opens an appender.
func (h *handler) begin(r *http.Request, protocol string, series, samples int) (*batch, error) {
	if err := checkRequestLimits(h.opts.Limits(), series, samples); err != nil {
		h.opts.Rejected(ReasonRequestLimit, samples)
		return nil, err
	}
	h.opts.Received(protocol, samples)
	app := h.opts.Appendable.AppenderV2(r.Context())
	eapp, _ := app.(storage.ExemplarAppenderV2)
	getRef, _ := app.(storage.GetRef)
	return &batch{app: app, eapp: eapp, getRef: getRef, maxT: time.Now().Add(maxAhead).UnixMilli()}, nil
}

// series returns the reference of a series the storage already holds, or
// 0 for a new series after checking its labels. Stored series were checked
// when they were created, so only new ones pay for the check; the
// reference also spares Append its own lookup.
func (bt *batch) series(ls labels.Labels) (storage.SeriesRef, error) {
	if bt.getRef != nil {
		if ref, _ := bt.getRef.GetRef(ls, ls.Hash()); ref != 0 {
			return ref, nil
		}
	}
	return 0, checkLabels(ls)
}

// sample appends one float sample; one too far in the future is refused
// and counted, and the series goes on.
func (bt *batch) sample(ref storage.SeriesRef, ls labels.Labels, st, t int64, v float64, opts storage.AOptions) (storage.SeriesRef, error) {
	if t > bt.maxT {
		bt.rej.add(ReasonOutOfBounds, fmt.Sprintf("series %s has a sample more than %v in the future", ls.String(), maxAhead), 1)
		return ref, nil
	}
	ref, err := bt.app.Append(ref, ls, st, t, v, nil, nil, opts)
	if err == nil {
		bt.stats.Samples++
	}
	return ref, err
}

// histogram appends one integer or float histogram sample.
func (bt *batch) histogram(ref storage.SeriesRef, ls labels.Labels, st, t int64, h *histogram.Histogram, fh *histogram.FloatHistogram, opts storage.AOptions) (storage.SeriesRef, error) {
	ref, err := bt.app.Append(ref, ls, st, t, 0, h, fh, opts)
	if err == nil {
		bt.stats.Histograms++
	}
	return ref, err
}

// failed records the rejection of a series whose append failed, by
// reason. A failure that is not the client's (no reason) is returned: the
// request fails.
func (bt *batch) failed(ls labels.Labels, err error, n int) error {
	reason := classify(err)
	if reason == "" {
		return fmt.Errorf("store series %s: %w", ls.String(), err)
	}
	bt.rej.add(reason, err.Error(), n)
	return nil
}

// addExemplars stores the exemplars gathered in bt.exemplars for a series;
// they are best effort, as in Prometheus.
func (bt *batch) addExemplars(ref storage.SeriesRef, ls labels.Labels) {
	slices.SortFunc(bt.exemplars, exemplar.Compare)
	if _, err := bt.eapp.AppendExemplars(ref, ls, bt.exemplars); err == nil {
		bt.stats.Exemplars += len(bt.exemplars)
	}
}

// abort rolls the request back after a server-side failure.
func (bt *batch) abort(wr *remoteapi.WriteResponse, err error) (*remoteapi.WriteResponse, error) {
	_ = bt.app.Rollback()
	wr.SetStatusCode(http.StatusInternalServerError)
	return wr, err
}

// end commits the request and answers: 204, or 400 naming what was
// refused while the rest is stored. Remote write 2.0 answers also carry
// the written counts.
func (h *handler) end(wr *remoteapi.WriteResponse, bt *batch, v2 bool) (*remoteapi.WriteResponse, error) {
	if err := bt.app.Commit(); err != nil {
		wr.SetStatusCode(http.StatusInternalServerError)
		return wr, fmt.Errorf("commit: %w", err)
	}
	if v2 {
		wr.Add(bt.stats)
	}
	return h.finish(wr, &bt.rej, bt.stats.Samples+bt.stats.Histograms)
}

func (h *handler) finish(wr *remoteapi.WriteResponse, rej *rejections, accepted int) (*remoteapi.WriteResponse, error) {
	for reason, n := range rej.n {
		if reason != "limit" {
			h.opts.Rejected(reason, n)
		}
	}
	if rej.total() > 0 {
		// The accepted samples are committed; the rest would fail again, so
		// 400 (not retryable), naming what was wrong.
		wr.SetStatusCode(http.StatusBadRequest)
		return wr, rej.err(accepted)
	}
	return wr, nil
}

func checkRequestLimits(lim Limits, series, samples int) error {
	if lim.MaxSeriesPerRequest > 0 && series > lim.MaxSeriesPerRequest {
		return fmt.Errorf("request has %d series, over the limit of %d per request (metrics.limits.max_series_per_request); send smaller batches", series, lim.MaxSeriesPerRequest)
	}
	if lim.MaxSamplesPerRequest > 0 && samples > lim.MaxSamplesPerRequest {
		return fmt.Errorf("request has %d samples, over the limit of %d per request (metrics.limits.max_samples_per_request); send smaller batches", samples, lim.MaxSamplesPerRequest)
	}
	return nil
}
