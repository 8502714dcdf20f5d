// Package sdkbench compares the Vigil SDK's hot paths with OpenTelemetry Go's
// sdk/metric and sdk/trace and with prometheus/client_golang, in one run.
// It is its own module so that client_golang stays out of the SDK's
// dependencies. Run it with bash bench/sdk/run.sh.
package sdkbench
