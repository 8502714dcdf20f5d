// Package w3c is a test service for the W3C Trace Context validation
// harness (github.com/w3c/trace-context, test/): it answers the harness's
// POSTs by calling back the URLs in the body, propagating the trace
// through the SDK's tracer and W3C propagator. The w3cservice command
// serves it for the real harness; w3c_test.go drives it through every case
// the harness checks.
package w3c

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// action is one element of the harness's request body: POST arguments to
// url.
type action struct {
	URL       string          `json:"url"`
	Arguments json.RawMessage `json:"arguments"`
}

// Service answers the harness. Create it with New.
type Service struct {
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
	client *http.Client
}

// New returns a service starting spans with tp and reading and writing
// headers with prop; callbacks go through client.
func New(tp trace.TracerProvider, prop propagation.TextMapPropagator, client *http.Client) *Service {
	return &Service{tracer: tp.Tracer("github.com/vigilhq/vigil/sdk/internal/w3c"), prop: prop, client: client}
}

// ServeHTTP extracts the incoming trace context, starts a server span and,
// for each action in the body, a client span whose context goes out with
// the callback.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var actions []action
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&actions); err != nil {
		http.Error(w, "body: want a JSON array of {url, arguments}: "+err.Error(), http.StatusBadRequest)
		return
	}
	ctx := s.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ctx, span := s.tracer.Start(ctx, "harness", trace.WithSpanKind(trace.SpanKindServer))
	defer span.End()
	for _, a := range actions {
		if err := s.call(ctx, a); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte("{}"))
}

func (s *Service) call(ctx context.Context, a action) error {
	ctx, span := s.tracer.Start(ctx, "callback", trace.WithSpanKind(trace.SpanKindClient))
	defer span.End()
	args := a.Arguments
	if len(args) == 0 || string(args) == "null" {
		args = json.RawMessage("[]")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.URL, bytes.NewReader(args))
	if err != nil {
		return fmt.Errorf("callback %q: %w", a.URL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	s.prop.Inject(ctx, propagation.HeaderCarrier(req.Header))
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("callback %q: %w", a.URL, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}
