// Package e2e tests drive the real bin/vigil binary as clients would: they
// start it on free loopback ports, talk to it with real clients and tools,
// kill it, restart it and check what survived.
//
// The harness (this file) builds bin/vigil once per run (or uses $VIGIL_BIN)
// and installs the tools tests need (go install, apt-get) on first use.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

var (
	repoRoot  string
	vigilBin  string
	toolsDir  string // installed tools (not committed)
	installMu sync.Mutex
)

func TestMain(m *testing.M) {
	_, file, _, _ := runtime.Caller(0)
	repoRoot = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	toolsDir = filepath.Join(repoRoot, ".cache", "tools")
	vigilBin = os.Getenv("VIGIL_BIN")
	if vigilBin == "" {
		vigilBin = filepath.Join(repoRoot, "bin", "vigil")
		cmd := exec.Command("go", "build", "-o", vigilBin, "./cmd/vigil")
		cmd.Dir = repoRoot
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: build bin/vigil:", err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// freePort returns a loopback address with a port free at the time of the
// call.
func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Vigil is a running bin/vigil.
type Vigil struct {
	t        testing.TB
	Dir      string // data directory
	Config   string // config file path ("" for none)
	HTTP     string // host:port
	GRPC     string // OTLP gRPC host:port
	OTLPHTTP string // OTLP HTTP host:port
	cmd      *exec.Cmd
	env      []string
	logs     *syncBuffer
	done     chan struct{}
	exitErr  error
}

// StartOptions configure StartVigil.
type StartOptions struct {
	// Config is the YAML config; "" runs with no config file. The text may
	// use {{HTTP}} for the HTTP address Vigil will get (for self-scraping).
	Config string
	// Dir is the data directory; "" makes a new temporary one.
	Dir string
	// Env adds environment variables.
	Env []string
}

// StartVigil starts bin/vigil on free ports and waits until /readyz says
// ready. It is killed at the end of the test.
func StartVigil(t testing.TB, o StartOptions) *Vigil {
	t.Helper()
	v := &Vigil{t: t, Dir: o.Dir, env: o.Env}
	if v.Dir == "" {
		v.Dir = t.TempDir()
	}
	if o.Config != "" {
		v.Config = filepath.Join(t.TempDir(), "vigil.yaml")
	}
	t.Cleanup(func() { v.Kill() })
	// A port found free can be taken by another process before vigil
	// binds it: on "address already in use", pick new ports and start
	// again.
	for attempt := 1; ; attempt++ {
		v.HTTP, v.GRPC, v.OTLPHTTP = freePort(t), freePort(t), freePort(t)
		if o.Config != "" {
			v.WriteConfig(o.Config)
		}
		err := v.startOnce()
		if err == nil {
			return v
		}
		if !errors.Is(err, errAddrInUse) || attempt == 5 {
			t.Fatal(err)
		}
	}
}

var errAddrInUse = errors.New("address already in use")

// WriteConfig replaces the config file's text.
func (v *Vigil) WriteConfig(text string) {
	v.t.Helper()
	text = strings.ReplaceAll(text, "{{HTTP}}", v.HTTP)
	if err := os.WriteFile(v.Config, []byte(text), 0o644); err != nil {
		v.t.Fatal(err)
	}
}

// startOnce starts the process and waits for it to be ready; it returns
// errAddrInUse (wrapped) when a port was taken.
func (v *Vigil) startOnce() error {
	v.t.Helper()
	args := []string{"serve", "--data-dir", v.Dir, "--http-addr", v.HTTP, "--otlp-grpc-addr", v.GRPC, "--otlp-http-addr", v.OTLPHTTP}
	if v.Config != "" {
		args = append(args, "--config", v.Config)
	}
	v.logs = &syncBuffer{}
	v.cmd = exec.Command(vigilBin, args...)
	v.cmd.Stdout = v.logs
	v.cmd.Stderr = v.logs
	v.cmd.Env = append(os.Environ(), v.env...)
	if err := v.cmd.Start(); err != nil {
		return fmt.Errorf("start vigil: %w", err)
	}
	v.done = make(chan struct{})
	go func() { v.exitErr = v.cmd.Wait(); close(v.done) }()
	return v.waitReady(90 * time.Second)
}

// WaitReady waits for /readyz to answer 200.
func (v *Vigil) WaitReady(d time.Duration) {
	v.t.Helper()
	if err := v.waitReady(d); err != nil {
		v.t.Fatal(err)
	}
}

func (v *Vigil) waitReady(d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		select {
		case <-v.done:
			if strings.Contains(v.Logs(), "address already in use") {
				return fmt.Errorf("vigil could not listen: %w\n%s", errAddrInUse, v.Logs())
			}
			return fmt.Errorf("vigil exited before ready: %v\n%s", v.exitErr, v.Logs())
		default:
		}
		resp, err := http.Get(v.URL("/readyz"))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("vigil not ready after %v\n%s", d, v.Logs())
}

// URL returns the HTTP URL of path.
func (v *Vigil) URL(path string) string { return "http://" + v.HTTP + path }

// Logs returns what vigil printed so far.
func (v *Vigil) Logs() string { return v.logs.String() }

// Kill sends SIGKILL and waits for the process to go.
func (v *Vigil) Kill() {
	if v.cmd == nil || v.cmd.Process == nil {
		return
	}
	select {
	case <-v.done:
		return
	default:
	}
	_ = v.cmd.Process.Kill()
	<-v.done
}

// Stop sends SIGTERM and waits up to d for a clean exit.
func (v *Vigil) Stop(d time.Duration) error {
	v.t.Helper()
	_ = v.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-v.done:
		return v.exitErr
	case <-time.After(d):
		v.Kill()
		return fmt.Errorf("vigil did not exit within %v of SIGTERM", d)
	}
}

// Signal sends sig to the process.
func (v *Vigil) Signal(sig os.Signal) { _ = v.cmd.Process.Signal(sig) }

// Restart starts vigil again on the same ports and data (after Kill or
// Stop). Clients keep the addresses, so the ports cannot change: if one
// was taken meanwhile, it waits for it to be free again.
func (v *Vigil) Restart() {
	v.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := v.startOnce()
		if err == nil {
			return
		}
		if !errors.Is(err, errAddrInUse) || time.Now().After(deadline) {
			v.t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Get fetches path and returns status and body.
func (v *Vigil) Get(path string) (int, []byte) {
	v.t.Helper()
	resp, err := http.Get(v.URL(path))
	if err != nil {
		v.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// GetJSON fetches path, requires 200 and decodes into out.
func (v *Vigil) GetJSON(path string, out any) {
	v.t.Helper()
	code, b := v.Get(path)
	if code != 200 {
		v.t.Fatalf("GET %s: status %d: %s", path, code, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		v.t.Fatalf("GET %s: decode %s: %v", path, b, err)
	}
}

// Post sends body with contentType and returns status, headers and body.
func (v *Vigil) Post(path, contentType string, body []byte, headers ...string) (int, http.Header, []byte) {
	v.t.Helper()
	return post(v.t, v.URL(path), contentType, body, headers...)
}

func post(t testing.TB, url, contentType string, body []byte, headers ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// RemoteWrite sends a remote write 1.0 request and returns status and body.
func (v *Vigil) RemoteWrite(ts []prompb.TimeSeries) (int, string) {
	v.t.Helper()
	req := &prompb.WriteRequest{Timeseries: ts}
	raw, err := req.Marshal()
	if err != nil {
		v.t.Fatal(err)
	}
	code, _, body := v.Post("/api/v1/write", "application/x-protobuf", snappy.Encode(nil, raw),
		"Content-Encoding", "snappy", "X-Prometheus-Remote-Write-Version", "0.1.0")
	return code, string(body)
}

// Series builds a remote-write series from alternating label names and
// values and (timestamp ms, value) samples.
func Series(lbls []string, samples ...prompb.Sample) prompb.TimeSeries {
	ts := prompb.TimeSeries{Samples: samples}
	for i := 0; i+1 < len(lbls); i += 2 {
		ts.Labels = append(ts.Labels, prompb.Label{Name: lbls[i], Value: lbls[i+1]})
	}
	return ts
}

// PromResult is the decoded data of a Prometheus query response.
type PromResult struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  []any             `json:"value"`
			Values [][]any           `json:"values"`
		} `json:"result"`
	} `json:"data"`
}

// Query runs an instant query.
func (v *Vigil) Query(q string, at time.Time) PromResult {
	v.t.Helper()
	var r PromResult
	v.GetJSON(fmt.Sprintf("/api/v1/query?query=%s&time=%d.%03d", urlEscape(q), at.Unix(), at.Nanosecond()/1e6), &r)
	return r
}

func urlEscape(s string) string {
	r := strings.NewReplacer("%", "%25", " ", "%20", "+", "%2B", "&", "%26", "#", "%23", "=", "%3D", "{", "%7B", "}", "%7D", "\"", "%22", "[", "%5B", "]", "%5D")
	return r.Replace(s)
}

// Eventually retries f until it returns nil or d passes.
func Eventually(t testing.TB, d time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("condition not met within %v: %v", d, err)
}

// GoTool installs a Go tool (module@version) into .cache/tools once and
// returns its path.
func GoTool(t testing.TB, name, pkgAtVersion string) string {
	t.Helper()
	installMu.Lock()
	defer installMu.Unlock()
	bin := filepath.Join(toolsDir, name)
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if p, err := exec.LookPath(name); err == nil && os.Getenv("VIGIL_E2E_FRESH_TOOLS") == "" {
		return p
	}
	t.Logf("installing %s (go install %s)", name, pkgAtVersion)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", pkgAtVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+toolsDir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go install %s: %v\n%s", pkgAtVersion, err, out)
	}
	return bin
}

// Telemetrygen returns the path of telemetrygen v0.161.0.
func Telemetrygen(t testing.TB) string {
	return GoTool(t, "telemetrygen", "github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen@v0.161.0")
}

// DebianTool returns the path of binary, installing the Debian package pkg
// with apt-get when missing.
func DebianTool(t testing.TB, binary, pkg string) string {
	t.Helper()
	installMu.Lock()
	defer installMu.Unlock()
	if p, err := exec.LookPath(binary); err == nil {
		return p
	}
	t.Logf("installing Debian package %s", pkg)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	update := exec.CommandContext(ctx, "apt-get", "update", "-qq")
	if out, err := update.CombinedOutput(); err != nil {
		t.Fatalf("apt-get update: %v\n%s", err, out)
	}
	cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "-qq", "--no-install-recommends", pkg)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("apt-get install %s: %v\n%s", pkg, err, out)
	}
	p, err := exec.LookPath(binary)
	if err != nil {
		t.Fatalf("%s not found after installing %s", binary, pkg)
	}
	return p
}

// RunCmd runs a command with a timeout and returns its combined output.
func RunCmd(t testing.TB, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
