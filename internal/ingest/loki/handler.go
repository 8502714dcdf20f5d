package loki

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilhq/vigil/internal/apierr"
	"github.com/vigilhq/vigil/internal/route"
)

// DefaultMaxBodyBytes bounds a push body, compressed and decompressed.
const DefaultMaxBodyBytes = 64 << 20

// Options configure a Handler. A zero value needs only Consumer.
type Options struct {
	Consumer     Consumer
	MaxBodyBytes int64 // default DefaultMaxBodyBytes
	// Admit, when set, is asked before a push is read; an error (such as
	// the memory governor's retryable refusal) is the answer.
	Admit      func() error
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Handler serves POST /loki/api/v1/push.
type Handler struct {
	consumer Consumer
	maxBody  int64
	admit    func() error
	errw     apierr.Writer

	requests *prometheus.CounterVec // by format and outcome
	entries  *prometheus.CounterVec // by outcome
}

// New returns a Handler.
func New(opts Options) (*Handler, error) {
	if opts.Consumer == nil {
		return nil, errors.New("loki push: a Consumer is required")
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{
		consumer: opts.Consumer,
		maxBody:  opts.MaxBodyBytes,
		admit:    opts.Admit,
		errw:     apierr.Writer{Logger: opts.Logger.With("component", "loki-push")},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_loki_push_requests_total",
			Help: "Loki push requests by body format and outcome (ok, invalid, too_large, overloaded, error).",
		}, []string{"format", "outcome"}),
		entries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_loki_push_entries_total",
			Help: "Log entries received over the Loki push API by outcome (accepted, rejected).",
		}, []string{"outcome"}),
	}
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{h.requests, h.entries} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("register loki push metrics: %w", err)
			}
		}
	}
	return h, nil
}

// Routes is the push endpoint.
func (h *Handler) Routes() []route.Route {
	return []route.Route{{Method: "POST", Pattern: "/loki/api/v1/push", Scope: route.Ingest, Handler: h,
		Doc: "Loki push (snappy protobuf or JSON): Promtail, Alloy, Fluent Bit"}}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.admit != nil {
		if err := h.admit(); err != nil {
			h.fail(w, r, "unknown", err)
			return
		}
	}
	format, err := bodyFormat(r.Header.Get("Content-Type"))
	if err != nil {
		h.fail(w, r, "unknown", err)
		return
	}
	req, err := h.decode(r, format)
	if err != nil {
		h.fail(w, r, format, err)
		return
	}
	rejected, msg, err := h.consumer.ConsumePush(r.Context(), req)
	if err != nil {
		h.fail(w, r, format, err)
		return
	}
	total := int64(req.Entries())
	h.entries.WithLabelValues("accepted").Add(float64(total - rejected))
	if rejected > 0 {
		// Loki answers 400 when some entries were refused, even though the
		// others were stored; clients then do not retry the batch.
		h.entries.WithLabelValues("rejected").Add(float64(rejected))
		h.requests.WithLabelValues(format, "partial").Inc()
		h.errw.Text(w, r, apierr.New(apierr.Limit, "%d of %d entries rejected: %s", rejected, total, msg))
		return
	}
	h.requests.WithLabelValues(format, "ok").Inc()
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, format string, err error) {
	h.requests.WithLabelValues(format, string(apierr.CodeOf(err))).Inc()
	h.errw.Text(w, r, err)
}

func (h *Handler) decode(r *http.Request, format string) (*PushRequest, error) {
	if r.ContentLength > h.maxBody {
		return nil, apierr.New(apierr.TooLarge, "push body of %d bytes is over the limit of %d bytes", r.ContentLength, h.maxBody)
	}
	var body io.Reader = r.Body
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	switch enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(io.LimitReader(r.Body, h.maxBody+1))
		if err != nil {
			return nil, apierr.Wrap(apierr.Invalid, err, "read gzip push body")
		}
		defer zr.Close()
		body = zr
	case "snappy":
		// Handled below together with the protobuf framing.
	default:
		return nil, apierr.New(apierr.Invalid, "unsupported Content-Encoding %q: want gzip, snappy or none", enc)
	}
	b, err := io.ReadAll(io.LimitReader(body, h.maxBody+1))
	if err != nil {
		return nil, apierr.Wrap(apierr.Invalid, err, "read push body")
	}
	if int64(len(b)) > h.maxBody {
		return nil, apierr.New(apierr.TooLarge, "push body is over the limit of %d bytes", h.maxBody)
	}
	if format == "json" {
		if enc == "snappy" {
			if b, err = h.unsnappy(b); err != nil {
				return nil, err
			}
		}
		req, err := DecodeJSON(b)
		if err != nil {
			return nil, apierr.Wrap(apierr.Invalid, err, "decode JSON push")
		}
		return req, nil
	}
	// Protobuf bodies are snappy block-compressed (Promtail, Alloy, Fluent
	// Bit); a gzip-encoded body may carry plain protobuf instead.
	if enc != "gzip" {
		if b, err = h.unsnappy(b); err != nil {
			return nil, err
		}
	}
	req, err := DecodeProto(b)
	if err != nil {
		return nil, apierr.Wrap(apierr.Invalid, err, "decode protobuf push (want snappy-compressed logproto.PushRequest, or Content-Type: application/json)")
	}
	return req, nil
}

func (h *Handler) unsnappy(b []byte) ([]byte, error) {
	n, err := snappy.DecodedLen(b)
	if err != nil {
		return nil, apierr.Wrap(apierr.Invalid, err, "decode snappy push body")
	}
	if int64(n) > h.maxBody {
		return nil, apierr.New(apierr.TooLarge, "decompressed push body of %d bytes is over the limit of %d bytes", n, h.maxBody)
	}
	out, err := snappy.Decode(nil, b)
	if err != nil {
		return nil, apierr.Wrap(apierr.Invalid, err, "decode snappy push body")
	}
	return out, nil
}

// bodyFormat tells the push body's format from its Content-Type, as Loki
// does: JSON, or snappy protobuf (also when there is no Content-Type).
func bodyFormat(contentType string) (string, error) {
	if contentType == "" {
		return "protobuf", nil
	}
	ct, _, err := mime.ParseMediaType(contentType)
	switch {
	case err != nil:
	case ct == "application/json":
		return "json", nil
	case ct == "application/x-protobuf", ct == "application/protobuf", ct == "application/octet-stream":
		return "protobuf", nil
	}
	return "", apierr.New(apierr.UnsupportedMediaType, "unsupported Content-Type %q: want application/x-protobuf (a snappy-compressed logproto.PushRequest) or application/json", contentType)
}
