package otlp

import (
	"context"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc"
)

func plogExport(c *grpc.ClientConn, ld plog.Logs) (any, error) {
	return plogotlp.NewGRPCClient(c).Export(context.Background(), plogotlp.NewExportRequestFromLogs(ld))
}
