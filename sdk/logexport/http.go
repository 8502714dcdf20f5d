package logexport

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"go.opentelemetry.io/otel"
	collectorlogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"
)

// HTTPClient sends OTLP/HTTP protobuf. Create it with NewHTTP.
type HTTPClient struct {
	o      Options
	url    string
	client *http.Client

	mu  sync.Mutex // guards buf, gz
	buf []byte     // marshalled request, reused
	zb  bytes.Buffer
	gz  *gzip.Writer
}

var _ Client = (*HTTPClient)(nil)

// NewHTTP returns a client for o (pass it through Options.FromEnv first
// to honour the environment).
func NewHTTP(o Options) *HTTPClient {
	scheme := "https"
	if o.Insecure {
		scheme = "http"
	}
	path := o.URLPath
	if path == "" {
		path = "/v1/logs"
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = o.TLS
	return &HTTPClient{o: o, url: scheme + "://" + o.Endpoint + path, client: &http.Client{Transport: tr}}
}

// Start does nothing: connections are made as needed.
func (c *HTTPClient) Start(context.Context) error { return nil }

// Stop closes idle connections.
func (c *HTTPClient) Stop(context.Context) error {
	c.client.CloseIdleConnections()
	return nil
}

// UploadLogs posts one ExportLogsServiceRequest, retrying retryable
// failures within Options.Timeout and ctx.
func (c *HTTPClient) UploadLogs(ctx context.Context, logs []*logspb.ResourceLogs) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var err error
	c.buf, err = proto.MarshalOptions{}.MarshalAppend(c.buf[:0], &collectorlogs.ExportLogsServiceRequest{ResourceLogs: logs})
	if err != nil {
		return fmt.Errorf("marshal OTLP logs: %w", err)
	}
	body := c.buf
	if c.o.Compression == "gzip" {
		c.zb.Reset()
		if c.gz == nil {
			c.gz = gzip.NewWriter(&c.zb)
		} else {
			c.gz.Reset(&c.zb)
		}
		if _, err := c.gz.Write(body); err != nil {
			return err
		}
		if err := c.gz.Close(); err != nil {
			return err
		}
		body = c.zb.Bytes()
	}
	ctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	return retry(ctx, c.o.Retry, func() error { return c.post(ctx, body) })
}

func (c *HTTPClient) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return backoff.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("User-Agent", userAgent)
	if c.o.Compression == "gzip" {
		req.Header.Set("Content-Encoding", "gzip")
	}
	for k, v := range c.o.Headers {
		req.Header.Set(k, v)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return err // network errors are retried
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch sc := resp.StatusCode; {
	case sc >= 200 && sc < 300:
		var r collectorlogs.ExportLogsServiceResponse
		if len(data) > 0 && proto.Unmarshal(data, &r) == nil {
			reportPartial(r.GetPartialSuccess())
		}
		return nil
	case sc == http.StatusTooManyRequests || sc == http.StatusBadGateway ||
		sc == http.StatusServiceUnavailable || sc == http.StatusGatewayTimeout:
		err := fmt.Errorf("OTLP logs to %s: %s%s", c.url, resp.Status, message(data))
		if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s >= 0 {
			return errors.Join(err, backoff.RetryAfter(s))
		}
		return err
	default:
		return backoff.Permanent(fmt.Errorf("OTLP logs to %s: %s%s", c.url, resp.Status, message(data)))
	}
}

// message is the server's explanation in a failed response: a
// google.rpc.Status message, as OTLP specifies, or the start of the body.
func message(data []byte) string {
	var st status.Status
	if len(data) > 0 && proto.Unmarshal(data, &st) == nil && st.GetMessage() != "" {
		return ": " + st.GetMessage()
	}
	if len(data) > 200 {
		data = data[:200]
	}
	if s := string(bytes.TrimSpace(data)); s != "" && !bytes.ContainsRune(data, 0) {
		return ": " + s
	}
	return ""
}

func reportPartial(p *collectorlogs.ExportLogsPartialSuccess) {
	if p == nil || p.GetRejectedLogRecords() == 0 && p.GetErrorMessage() == "" {
		return
	}
	otel.Handle(fmt.Errorf("OTLP partial success: %d log records rejected: %s", p.GetRejectedLogRecords(), p.GetErrorMessage()))
}

const userAgent = "vigil-sdk-go/logexport"

// retry runs op until it succeeds, fails permanently, or the backoff or
// ctx ends.
func retry(ctx context.Context, r Retry, op func() error) error {
	if r.Disabled {
		err := op()
		var perm *backoff.PermanentError
		if errors.As(err, &perm) {
			return perm.Unwrap()
		}
		return err
	}
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval = 5*time.Second, 30*time.Second
	maxElapsed := time.Minute
	if r.InitialInterval > 0 {
		b.InitialInterval = r.InitialInterval
	}
	if r.MaxInterval > 0 {
		b.MaxInterval = r.MaxInterval
	}
	if r.MaxElapsedTime > 0 {
		maxElapsed = r.MaxElapsedTime
	}
	_, err := backoff.Retry(ctx, func() (struct{}, error) { return struct{}{}, op() },
		backoff.WithBackOff(b), backoff.WithMaxElapsedTime(maxElapsed))
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = errors.Join(err, ctx.Err())
	}
	return err
}
