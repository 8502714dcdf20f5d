package tracing

import "go.opentelemetry.io/otel/attribute"

var kvs = []attribute.KeyValue{
	attribute.String("http.request.method", "GET"),
	attribute.String("url.path", "/api/orders"),
	attribute.Int("http.response.status_code", 200),
	attribute.String("server.address", "shop.example.com"),
	attribute.Bool("retry", false),
}
