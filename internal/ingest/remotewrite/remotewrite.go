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
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golang/snappy"
	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"

	"github.com/vigilhq/vigil/internal/apierr"
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
	// Admit, when set, is asked before a request is read; an error (such
	// as the memory governor's retryable refusal) is the answer.
	Admit func() error
	// Rejected counts rejected samples by reason in the shared
	// vigil_samples_rejected_total (limit rejections are counted by the
	// appendable itself).
	Rejected func(reason string, n int)
	// Received counts received samples by protocol (remote_write,
	// remote_write_2) in the shared vigil_samples_received_total.
	Received func(protocol string, n int)
	// Metadata receives the metric metadata of remote write 1.0 requests
	// (their metadata field), keyed by metric family. Remote write 2.0
	// per-series metadata goes to the appender with each sample
	// (storage.AppendV2Options.Metadata), as OTLP's does. Nil: dropped.
	Metadata func(family string, md metadata.Metadata)
	// MinTime returns the oldest sample time (Unix ms) the storage accepts
	// now, for messages that name the accepted window; ok is false when
	// it is not known yet.
	MinTime func() (t int64, ok bool)
}

// Rejection reasons counted here.
const (
	ReasonInvalidLabels = "invalid_labels"
	ReasonOutOfOrder    = "out_of_order"
	ReasonOutOfBounds   = "out_of_bounds"
	ReasonDuplicate     = "duplicate_timestamp"
	ReasonRequestLimit  = "request_limit"
	ReasonMalformed     = "malformed_request"
	// ReasonInvalidSample is any other refusal of one series' sample by
	// the storage: a native histogram whose counts do not add up, a bad
	// start timestamp, ...
	ReasonInvalidSample = "invalid_sample"
	// ReasonExemplar counts exemplars not stored (no sample of their
	// series, out of order, invalid labels).
	ReasonExemplar = "exemplar"
)

// maxAhead is how far in the future a sample may be (as Prometheus).
const maxAhead = 10 * time.Minute

type handler struct {
	opts Options
	errw apierr.Writer
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
	if opts.Metadata == nil {
		opts.Metadata = func(string, metadata.Metadata) {}
	}
	if opts.MinTime == nil {
		opts.MinTime = func() (int64, bool) { return 0, false }
	}
	logger := opts.Logger.With("component", "remote write")
	h := &handler{opts: opts, errw: apierr.Writer{Logger: logger}, sem: make(chan struct{}, opts.MaxConcurrentRequests)}
	h.next = remoteapi.NewWriteHandler(h, remoteapi.MessageTypes{remoteapi.WriteV1MessageType, remoteapi.WriteV2MessageType},
		remoteapi.WithWriteHandlerLogger(logger),
		remoteapi.WithWriteHandlerMiddlewares(h.decompress))
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.opts.Admit != nil {
		if err := h.opts.Admit(); err != nil {
			h.opts.Rejected("overloaded", 0)
			h.errw.Text(w, r, err)
			return
		}
	}
	select {
	case h.sem <- struct{}{}:
	default:
		t := time.NewTimer(200 * time.Millisecond)
		select {
		case h.sem <- struct{}{}:
			t.Stop()
		case <-t.C:
			h.opts.Rejected("overloaded", 0)
			// 503, not 429: every Prometheus retries 5xx, but 429 only
			// with retry_on_http_429.
			h.errw.Text(w, r, &apierr.Error{Code: apierr.Unavailable, Message: fmt.Sprintf("too many concurrent remote write requests (limit %d); retry later", h.opts.MaxConcurrentRequests), RetryAfter: time.Second})
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
		bufs := getBuffers()
		defer putBuffers(bufs)
		body, err := readBody(r.Body, bufs.compressed, r.ContentLength, max)
		bufs.compressed = body
		if err != nil {
			h.errw.Text(w, r, apierr.Wrap(apierr.Invalid, err, "read request body"))
			return
		}
		if int64(len(body)) > max {
			h.opts.Rejected(ReasonRequestLimit, 0)
			h.errw.Text(w, r, apierr.New(apierr.TooLarge, "request body over the limit of %d bytes (metrics.limits.max_request_bytes); send smaller batches", max))
			return
		}
		n, err := snappy.DecodedLen(body)
		if err != nil {
			h.errw.Text(w, r, apierr.New(apierr.Invalid, "malformed snappy body: %v; remote write bodies must be snappy block-compressed protobuf", err))
			return
		}
		if int64(n) > max {
			h.errw.Text(w, r, apierr.New(apierr.TooLarge, "decompressed body of %d bytes is over the limit of %d bytes (metrics.limits.max_request_bytes); send smaller batches", n, max))
			return
		}
		dec, err := snappy.Decode(bufs.body[:cap(bufs.body)], body)
		if err != nil {
			h.errw.Text(w, r, apierr.New(apierr.Invalid, "malformed snappy body: %v", err))
			return
		}
		bufs.body = dec
		r.Body = &pooledBody{Reader: bytes.NewReader(dec), bufs: bufs}
		r.Header.Del("Content-Encoding")
		next.ServeHTTP(w, r)
	})
}

// pooledBody is the decompressed body handed to Store, which decodes it in
// place (its buffers go back to the pool once the request is answered).
type pooledBody struct {
	*bytes.Reader
	bufs *buffers
}

func (*pooledBody) Close() error { return nil }

// rejections collects per-series problems; the first few are reported.
type rejections struct {
	n         map[string]int // samples by reason
	exemplars int            // exemplars not stored
	msgs      []string
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

// addExemplars records n exemplars not stored (counted apart from
// samples, under ReasonExemplar).
func (r *rejections) addExemplars(msg string, n int) {
	r.exemplars += n
	r.add(ReasonExemplar, msg, 0)
	r.n[ReasonExemplar] += n
}

// total is the samples rejected.
func (r *rejections) total() int {
	t := 0
	for reason, n := range r.n {
		if reason != ReasonExemplar {
			t += n
		}
	}
	return t
}

func (r *rejections) summary(accepted, exemplars int) string {
	s := fmt.Sprintf("%d samples rejected, %d accepted", r.total(), accepted)
	if r.exemplars > 0 {
		s += fmt.Sprintf("; %d exemplars rejected, %d accepted", r.exemplars, exemplars)
	}
	return s + ": " + strings.Join(r.msgs, "; ")
}

// classify maps an append error to a reason, or "" for a failure of the
// storage itself. Appending a sample writes nothing yet (the WAL is written
// at commit), so every error of Append is about the series or its sample:
// a limit, its time, or a value the TSDB refuses (a native histogram whose
// counts do not add up, ...). Only errors that say the storage cannot
// take writes now (apierr Unavailable or Overloaded) fail the request.
func classify(err error) string {
	var le interface{ LimitReason() string }
	switch {
	case errors.As(err, &le):
		return "limit" // counted by the appendable
	case errors.Is(err, storage.ErrTooOldSample):
		return ReasonOutOfBounds
	case errors.Is(err, storage.ErrOutOfOrderSample):
		return ReasonOutOfOrder
	case errors.Is(err, storage.ErrDuplicateSampleForTimestamp):
		return ReasonDuplicate
	case errors.Is(err, storage.ErrOutOfBounds):
		return ReasonOutOfBounds
	case apierr.Retryable(err), errors.Is(err, tsdb.ErrNotReady):
		return ""
	}
	return ReasonInvalidSample
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
	var (
		body []byte
		bufs *buffers
	)
	if pb, ok := r.Body.(*pooledBody); ok {
		bufs, body = pb.bufs, pb.bufs.body
	} else {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			return h.fail(r, wr, apierr.Wrap(apierr.Invalid, err, "read request body"))
		}
		bufs = getBuffers()
		defer putBuffers(bufs)
	}
	v2 := msgType == remoteapi.WriteV2MessageType
	req := &bufs.req
	if err := req.decode(body, v2); err != nil {
		h.opts.Rejected(ReasonMalformed, 0)
		if v2 {
			return h.fail(r, wr, apierr.New(apierr.Invalid, "malformed remote write 2.0 request: %v (want a snappy-compressed io.prometheus.write.v2.Request protobuf)", err))
		}
		return h.fail(r, wr, apierr.New(apierr.Invalid, "malformed remote write 1.0 request: %v (want a snappy-compressed prometheus.WriteRequest protobuf)", err))
	}
	for _, m := range req.meta { // remote write 1.0; decoded into strings of their own
		if m.MetricFamilyName != "" && utf8.ValidString(m.MetricFamilyName) && utf8.ValidString(m.Help) && utf8.ValidString(m.Unit) {
			h.opts.Metadata(m.MetricFamilyName, metadata.Metadata{Type: model.MetricType(strings.ToLower(m.Type.String())), Help: m.Help, Unit: m.Unit})
		}
	}
	protocol := "remote_write"
	if v2 {
		protocol = "remote_write_2"
	}
	bt, err := h.begin(r, protocol, len(req.series), req.samplesCount())
	if err != nil {
		return h.fail(r, wr, err)
	}
	// tmp holds the labels of each series in turn, aliasing the body and
	// tb's buffer: it serves to look the series up and to check it. What
	// goes to the storage (ls) is the storage's own labels for a series it
	// holds, else a copy built by ob (see decode.go).
	var tmp labels.Labels
	tb := &bt.tb
	ob := &bt.ob
	for i := range req.series {
		s := &req.series[i]
		n := s.samples.len() + s.histograms.len()
		if err := req.lookupLabels(s, tb, &tmp); err != nil {
			bt.rej.add(ReasonInvalidLabels, "invalid symbol references: "+err.Error(), n)
			continue
		}
		ref, ls := bt.lookup(tmp)
		if ref == 0 {
			if err := checkLabels(tmp); err != nil {
				bt.rej.add(ReasonInvalidLabels, err.Error(), n)
				continue
			}
			ls = req.ownedLabels(s, ob)
		}
		// Remote write 2.0 metadata goes with each sample; the appendable
		// keeps it by family (see Options.Metadata).
		var opts storage.AOptions
		if v2 {
			if m, ok := req.metadataV2(s); ok {
				opts.Metadata = m
			}
		}
		var serr error
		for _, x := range req.samples[s.samples.lo:s.samples.hi] {
			if ref, serr = bt.sample(ref, ls, x.st, x.t, x.v, opts); serr != nil {
				break
			}
		}
		if v2 {
			for j := s.histograms.lo; serr == nil && j < s.histograms.hi; j++ {
				hp := &req.h2[j]
				if hp.IsFloatHistogram() {
					ref, serr = bt.histogram(ref, ls, hp.StartTimestamp, hp.Timestamp, nil, hp.ToFloatHistogram(), opts)
				} else {
					ref, serr = bt.histogram(ref, ls, hp.StartTimestamp, hp.Timestamp, hp.ToIntHistogram(), nil, opts)
				}
			}
		} else {
			for j := s.histograms.lo; serr == nil && j < s.histograms.hi; j++ {
				hp := &req.h1[j]
				if hp.IsFloatHistogram() {
					ref, serr = bt.histogram(ref, ls, 0, hp.Timestamp, nil, hp.ToFloatHistogram(), opts)
				} else {
					ref, serr = bt.histogram(ref, ls, 0, hp.Timestamp, hp.ToIntHistogram(), nil, opts)
				}
			}
		}
		if serr != nil {
			if err := bt.failed(ls, serr, n); err != nil {
				return h.abort(r, wr, bt, err)
			}
			continue
		}
		if s.exemplars.len() == 0 {
			continue
		}
		// Exemplar labels are built by ob: copies of their own.
		bt.exemplars = bt.exemplars[:0]
		if v2 {
			for _, e := range req.e2[s.exemplars.lo:s.exemplars.hi] {
				ex, err := e.ToExemplar(ob, req.symbols)
				if err != nil {
					bt.rej.addExemplars(fmt.Sprintf("series %s has an exemplar with invalid symbol references: %v", seriesName(ls), err), 1)
					continue
				}
				bt.exemplars = append(bt.exemplars, ex)
			}
		} else {
			for _, e := range req.e1[s.exemplars.lo:s.exemplars.hi] {
				bt.exemplars = append(bt.exemplars, e.ToExemplar(ob, nil))
			}
		}
		bt.addExemplars(ref, ls, len(bt.exemplars))
	}
	return h.end(r, wr, bt, v2)
}

// batch appends the series of one request, whichever the message version,
// and keeps count of what it stored and of what it refused and why.
type batch struct {
	app       storage.AppenderV2
	eapp      storage.ExemplarAppenderV2
	getRef    storage.GetRef // nil when the appender cannot look series up
	maxT      int64          // the latest timestamp accepted
	minTime   func() (int64, bool)
	rej       rejections
	stats     remoteapi.WriteResponseStats
	exemplars []exemplar.Exemplar
	tb, ob    labels.ScratchBuilder // lookup labels; owned labels (SetUnsafeAdd)
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
	bt := &batch{app: app, eapp: eapp, getRef: getRef, maxT: time.Now().Add(maxAhead).UnixMilli(), minTime: h.opts.MinTime}
	bt.ob.SetUnsafeAdd(true)
	return bt, nil
}

// lookup returns the reference and the labels of a series the storage
// already holds (its own labels, which may be kept), or 0. Stored series
// were checked when they were created, so only new ones pay for the check;
// the reference also spares Append its own lookup.
func (bt *batch) lookup(ls labels.Labels) (storage.SeriesRef, labels.Labels) {
	if bt.getRef != nil {
		if ref, own := bt.getRef.GetRef(ls, ls.Hash()); ref != 0 && !own.IsEmpty() {
			return ref, own
		}
	}
	return 0, labels.EmptyLabels()
}

// sample appends one float sample; one too far in the future is refused
// and counted, and the series goes on.
func (bt *batch) sample(ref storage.SeriesRef, ls labels.Labels, st, t int64, v float64, opts storage.AOptions) (storage.SeriesRef, error) {
	if t > bt.maxT {
		bt.rej.add(ReasonOutOfBounds, fmt.Sprintf("series %s has a sample at %s, outside the accepted window %s", seriesName(ls), msTime(t), bt.window()), 1)
		return ref, nil
	}
	ref, err := bt.app.Append(ref, ls, st, t, v, nil, nil, opts)
	if err == nil {
		bt.stats.Samples++
	} else if errors.Is(err, storage.ErrOutOfBounds) || errors.Is(err, storage.ErrTooOldSample) {
		err = &sampleTimeError{t: t, err: err}
	}
	return ref, err
}

// histogram appends one integer or float histogram sample.
func (bt *batch) histogram(ref storage.SeriesRef, ls labels.Labels, st, t int64, h *histogram.Histogram, fh *histogram.FloatHistogram, opts storage.AOptions) (storage.SeriesRef, error) {
	ref, err := bt.app.Append(ref, ls, st, t, 0, h, fh, opts)
	if err == nil {
		bt.stats.Histograms++
	} else if errors.Is(err, storage.ErrOutOfBounds) || errors.Is(err, storage.ErrTooOldSample) {
		err = &sampleTimeError{t: t, err: err}
	}
	return ref, err
}

// sampleTimeError remembers the time of a sample the storage refused as
// too old, for the message.
type sampleTimeError struct {
	t   int64
	err error
}

func (e *sampleTimeError) Error() string { return e.err.Error() }
func (e *sampleTimeError) Unwrap() error { return e.err }

// window describes the sample times the storage accepts now.
func (bt *batch) window() string {
	hi := "now+" + model.Duration(maxAhead).String()
	if lo, ok := bt.minTime(); ok {
		return fmt.Sprintf("[%s, %s]", msTime(lo), hi)
	}
	return "[the head block's start, " + hi + "]"
}

// seriesName prints a series as PromQL does: name{label="value", ...}.
func seriesName(ls labels.Labels) string {
	name := ls.Get(labels.MetricName)
	rest := ls.DropMetricName()
	if rest.IsEmpty() {
		if name == "" {
			return "{}"
		}
		return name
	}
	return name + rest.String()
}

func msTime(t int64) string { return time.UnixMilli(t).UTC().Format(time.RFC3339Nano) }

// failed records the rejection of a series whose append failed, by
// reason, naming the series. A failure that is not the client's (no
// reason) is returned: the request fails.
func (bt *batch) failed(ls labels.Labels, err error, n int) error {
	reason := classify(err)
	switch reason {
	case "":
		return err
	case ReasonOutOfBounds:
		msg := fmt.Sprintf("series %s has a sample outside the accepted window %s (%v)", seriesName(ls), bt.window(), err)
		var te *sampleTimeError
		if errors.As(err, &te) {
			msg = fmt.Sprintf("series %s has a sample at %s, outside the accepted window %s: samples older than the TSDB head (or than metrics.out_of_order_time_window behind the newest sample) cannot be stored", seriesName(ls), msTime(te.t), bt.window())
		}
		bt.rej.add(reason, msg, n)
	case "limit":
		bt.rej.add(reason, err.Error(), n) // the limit error names the metric
	default:
		bt.rej.add(reason, fmt.Sprintf("series %s: %v", seriesName(ls), err), n)
	}
	return nil
}

// addExemplars stores the n exemplars gathered in bt.exemplars for a
// series, as Prometheus does after the series' samples; those the storage
// refuses (no sample of the series, out of order, invalid) are counted and
// named in the answer, the rest written.
func (bt *batch) addExemplars(ref storage.SeriesRef, ls labels.Labels, n int) {
	if n == 0 {
		return
	}
	if bt.eapp == nil {
		bt.rej.addExemplars("exemplars are not stored by this server", n)
		return
	}
	if ref == 0 {
		bt.rej.addExemplars(fmt.Sprintf("series %s has %d exemplar(s) but no sample stored: exemplars are kept only with a sample of their series", seriesName(ls), n), n)
		return
	}
	slices.SortFunc(bt.exemplars, exemplar.Compare)
	_, err := bt.eapp.AppendExemplars(ref, ls, bt.exemplars)
	var pe *storage.AppendPartialError
	switch {
	case err == nil:
		bt.stats.Exemplars += len(bt.exemplars)
	case errors.As(err, &pe) && len(pe.ExemplarErrors) > 0:
		bad := len(pe.ExemplarErrors)
		bt.stats.Exemplars += len(bt.exemplars) - bad
		bt.rej.addExemplars(fmt.Sprintf("series %s: %d exemplar(s) not stored: %v", seriesName(ls), bad, pe.ExemplarErrors[0].Err), bad)
	case errors.Is(err, storage.ErrNotFound):
		bt.rej.addExemplars(fmt.Sprintf("series %s has %d exemplar(s) but no sample stored: exemplars are kept only with a sample of their series", seriesName(ls), len(bt.exemplars)), len(bt.exemplars))
	default:
		bt.rej.addExemplars(fmt.Sprintf("series %s: exemplars not stored: %v", seriesName(ls), err), len(bt.exemplars))
	}
}

// fail answers err through apierr (status, Retry-After, a public message;
// internal errors logged with an ID), in the remote API's plain text.
func (h *handler) fail(r *http.Request, wr *remoteapi.WriteResponse, err error) (*remoteapi.WriteResponse, error) {
	rep := h.errw.Reply(r, err)
	wr.SetStatusCode(rep.Status)
	if rep.RetryAfter > 0 {
		wr.SetExtraHeader("Retry-After", strconv.Itoa(apierr.RetryAfterSeconds(rep.RetryAfter)))
	}
	return wr, errors.New(rep.Message)
}

// abort rolls the request back after a failure of the storage itself.
func (h *handler) abort(r *http.Request, wr *remoteapi.WriteResponse, bt *batch, err error) (*remoteapi.WriteResponse, error) {
	_ = bt.app.Rollback()
	return h.fail(r, wr, err)
}

// end commits the request and answers: 204, or 400 naming what was
// refused while the rest is stored. Remote write 2.0 answers also carry
// the written counts.
func (h *handler) end(r *http.Request, wr *remoteapi.WriteResponse, bt *batch, v2 bool) (*remoteapi.WriteResponse, error) {
	if err := bt.app.Commit(); err != nil {
		// Nothing was stored: a full disk or an I/O error (503, retryable),
		// else an internal error.
		return h.fail(r, wr, err)
	}
	if v2 {
		wr.Add(bt.stats)
	}
	for reason, n := range bt.rej.n {
		if reason != "limit" {
			h.opts.Rejected(reason, n)
		}
	}
	if bt.rej.total() > 0 || bt.rej.exemplars > 0 {
		// The accepted samples are committed; the rest would fail again, so
		// 400 (not retryable), naming what was wrong.
		return h.fail(r, wr, apierr.New(apierr.Invalid, "%s", bt.rej.summary(bt.stats.Samples+bt.stats.Histograms, bt.stats.Exemplars)))
	}
	return wr, nil
}

func checkRequestLimits(lim Limits, series, samples int) error {
	if lim.MaxSeriesPerRequest > 0 && series > lim.MaxSeriesPerRequest {
		return apierr.New(apierr.Limit, "request has %d series, over the limit of %d per request (metrics.limits.max_series_per_request); send smaller batches", series, lim.MaxSeriesPerRequest)
	}
	if lim.MaxSamplesPerRequest > 0 && samples > lim.MaxSamplesPerRequest {
		return apierr.New(apierr.Limit, "request has %d samples, over the limit of %d per request (metrics.limits.max_samples_per_request); send smaller batches", samples, lim.MaxSamplesPerRequest)
	}
	return nil
}
