package logexport

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v5"
	collectorlogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// GRPCClient sends OTLP over gRPC. Create it with NewGRPC.
type GRPCClient struct {
	o      Options
	conn   *grpc.ClientConn
	client collectorlogs.LogsServiceClient
	md     metadata.MD
	opts   []grpc.CallOption
}

var _ Client = (*GRPCClient)(nil)

// NewGRPC returns a client for o (pass it through Options.FromEnv first to
// honour the environment). The connection is made lazily.
func NewGRPC(o Options) (*GRPCClient, error) {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	creds := insecure.NewCredentials()
	if !o.Insecure {
		creds = credentials.NewTLS(o.TLS)
	}
	conn, err := grpc.NewClient(o.Endpoint, grpc.WithTransportCredentials(creds), grpc.WithUserAgent(userAgent))
	if err != nil {
		return nil, fmt.Errorf("OTLP logs gRPC endpoint %q: %w", o.Endpoint, err)
	}
	c := &GRPCClient{o: o, conn: conn, client: collectorlogs.NewLogsServiceClient(conn)}
	if len(o.Headers) > 0 {
		c.md = metadata.New(o.Headers)
	}
	if o.Compression == "gzip" {
		c.opts = append(c.opts, grpc.UseCompressor(gzip.Name))
	}
	return c, nil
}

// Start does nothing: the connection is made at the first export.
func (c *GRPCClient) Start(context.Context) error { return nil }

// Stop closes the connection.
func (c *GRPCClient) Stop(context.Context) error { return c.conn.Close() }

// UploadLogs calls LogsService/Export, retrying retryable codes within
// Options.Timeout and ctx.
func (c *GRPCClient) UploadLogs(ctx context.Context, logs []*logspb.ResourceLogs) error {
	ctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	if c.md != nil {
		ctx = metadata.NewOutgoingContext(ctx, c.md)
	}
	req := &collectorlogs.ExportLogsServiceRequest{ResourceLogs: logs}
	return retry(ctx, c.o.Retry, func() error {
		resp, err := c.client.Export(ctx, req, c.opts...)
		if err == nil {
			reportPartial(resp.GetPartialSuccess())
			return nil
		}
		return grpcRetryable(err)
	})
}

// grpcRetryable classifies err as OpenTelemetry's exporters do: these
// codes are retried, RESOURCE_EXHAUSTED only when the server sent a
// RetryInfo (whose delay is honoured), others are permanent.
func grpcRetryable(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	err = fmt.Errorf("OTLP logs over gRPC: %s: %s", st.Code(), st.Message())
	var delay time.Duration
	hasInfo := false
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			delay, hasInfo = ri.GetRetryDelay().AsDuration(), true
		}
	}
	switch st.Code() {
	case codes.Canceled, codes.DeadlineExceeded, codes.Aborted, codes.OutOfRange, codes.Unavailable, codes.DataLoss:
	case codes.ResourceExhausted:
		if !hasInfo {
			return backoff.Permanent(err)
		}
	default:
		return backoff.Permanent(err)
	}
	if hasInfo {
		return errors.Join(err, backoff.RetryAfter(int((delay+time.Second-1)/time.Second)))
	}
	return err
}
