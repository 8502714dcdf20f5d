package config

import "fmt"

// OTLP configures the OTLP receivers (traces, metrics and logs).
type OTLP struct {
	// GRPCAddr is the OTLP/gRPC listen address ("" disables it).
	GRPCAddr string `yaml:"grpc_addr"`
	// HTTPAddr is the OTLP/HTTP listen address ("" disables it).
	HTTPAddr string `yaml:"http_addr"`
	// MaxRequestBytes bounds one request's body, after decompression.
	MaxRequestBytes ByteSize `yaml:"max_request_bytes"`
	// MaxConcurrentRequests bounds requests being decoded and stored at
	// once; past it clients get a retryable 429 / RESOURCE_EXHAUSTED.
	MaxConcurrentRequests int `yaml:"max_concurrent_requests"`
	// Disabled turns off both listeners.
	Disabled bool `yaml:"disabled"`
}

func (o *OTLP) setDefaults() {
	if o.GRPCAddr == "" {
		o.GRPCAddr = DefaultOTLPGRPCAddr
	}
	if o.HTTPAddr == "" {
		o.HTTPAddr = DefaultOTLPHTTPAddr
	}
	if o.MaxRequestBytes == 0 {
		o.MaxRequestBytes = 32 << 20
	}
	if o.MaxConcurrentRequests == 0 {
		o.MaxConcurrentRequests = 64
	}
}

func (o *OTLP) validate() []FieldError {
	var errs []FieldError
	if err := checkAddr(o.GRPCAddr); err != nil {
		errs = append(errs, FieldError{Field: "grpc_addr", Msg: err.Error()})
	}
	if err := checkAddr(o.HTTPAddr); err != nil {
		errs = append(errs, FieldError{Field: "http_addr", Msg: err.Error()})
	}
	if o.MaxRequestBytes < 1024 {
		errs = append(errs, FieldError{Field: "max_request_bytes", Msg: fmt.Sprintf("must be at least 1KiB, got %v", o.MaxRequestBytes)})
	}
	errs = append(errs, positive("max_concurrent_requests", o.MaxConcurrentRequests)...)
	return errs
}
