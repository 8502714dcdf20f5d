// Command authload measures what authentication and TLS cost ingestion:
// it starts bin/vigil in three modes, one after the other and in turn for
// every round - open (no auth section), auth with a bearer token, auth
// with a bearer token over TLS - and in each sends the same pre-encoded
// load over remote write, OTLP/HTTP and OTLP/gRPC as fast as the server
// takes it, with a fixed number of concurrent clients. It prints samples
// per second per mode and protocol for every round, then medians, ranges
// and each mode's ratio to the open server.
//
//	go run ./bench/auth/authload -vigil bin/vigil -rounds 5 -out bench/.out/auth
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

var (
	vigilBin = flag.String("vigil", "bin/vigil", "the vigil binary")
	rounds   = flag.Int("rounds", 5, "rounds; each runs every mode once, in turn")
	requests = flag.Int("requests", 1000, "timed requests per protocol per mode and round")
	series   = flag.Int("series", 500, "samples (series) per request")
	clients  = flag.Int("clients", 4, "concurrent clients")
	outDir   = flag.String("out", "bench/.out/auth", "results folder")
)

const password = "bench-admin-password"

type mode struct {
	name       string
	auth, tls  bool
	configText string
}

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "authload:", err)
		os.Exit(1)
	}
}

func run() error {
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		return err
	}
	certDir, pool, err := makeCert(*outDir)
	if err != nil {
		return err
	}
	tlsCfg := fmt.Sprintf("tls:\n  http: {cert_file: %[1]s/cert.pem, key_file: %[1]s/key.pem}\n  otlp: {cert_file: %[1]s/cert.pem, key_file: %[1]s/key.pem}\n", certDir)
	modes := []mode{
		{name: "open", configText: "{}\n"},
		{name: "token", auth: true, configText: "auth: {mode: local}\n"},
		{name: "token+tls", auth: true, tls: true, configText: "auth: {mode: local}\n" + tlsCfg},
	}
	protos := []string{"remote_write", "otlp_http", "otlp_grpc"}
	results := map[string][]float64{} // mode/proto -> samples/s per round
	for r := 0; r < *rounds; r++ {
		for _, m := range modes {
			got, err := runMode(m, pool)
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", r+1, m.name, err)
			}
			for _, p := range protos {
				results[m.name+"/"+p] = append(results[m.name+"/"+p], got[p])
				results[m.name+"/"+p+"/cpu"] = append(results[m.name+"/"+p+"/cpu"], got[p+"/cpu"])
				fmt.Printf("round %d %-10s %-13s %10.0f samples/s %8.1f CPU µs per 1000 samples\n", r+1, m.name, p, got[p], got[p+"/cpu"])
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| mode | protocol | median samples/s | range | ratio to open (median) |\n|---|---|---|---|---|\n")
	for _, m := range modes {
		for _, p := range protos {
			v := results[m.name+"/"+p]
			med, lo, hi := stats(v)
			base, _, _ := stats(results["open/"+p])
			fmt.Fprintf(&b, "| %s | %s | %.0f | %.0f-%.0f | %.3f |\n", m.name, p, med, lo, hi, med/base)
		}
	}
	fmt.Fprintf(&b, "\nCPU time of vigil per 1000 samples (µs; lower is better):\n\n| mode | protocol | median | range | ratio to open (median) |\n|---|---|---|---|---|\n")
	for _, m := range modes {
		for _, p := range protos {
			med, lo, hi := stats(results[m.name+"/"+p+"/cpu"])
			base, _, _ := stats(results["open/"+p+"/cpu"])
			fmt.Fprintf(&b, "| %s | %s | %.1f | %.1f-%.1f | %.3f |\n", m.name, p, med, lo, hi, med/base)
		}
	}
	// Paired per round: each round's token run against that round's open run.
	fmt.Fprintf(&b, "\nPer-round ratios (same round, token / open):\n\n| protocol | ratios | median |\n|---|---|---|\n")
	for _, p := range protos {
		var rs []string
		var vals []float64
		for i := range results["open/"+p] {
			x := results["token/"+p][i] / results["open/"+p][i]
			vals = append(vals, x)
			rs = append(rs, fmt.Sprintf("%.3f", x))
		}
		med, _, _ := stats(vals)
		fmt.Fprintf(&b, "| %s | %s | %.3f |\n", p, strings.Join(rs, " "), med)
	}
	fmt.Print("\n" + b.String())
	return os.WriteFile(filepath.Join(*outDir, "summary.md"), []byte(b.String()), 0o644)
}

func stats(v []float64) (med, lo, hi float64) {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0, 0, 0
	}
	med = s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return med, s[0], s[len(s)-1]
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// runMode starts a fresh vigil in mode m and measures each protocol.
func runMode(m mode, pool *x509.CertPool) (map[string]float64, error) {
	dir, err := os.MkdirTemp("", "authload-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cfg := filepath.Join(dir, "vigil.yaml")
	if err := os.WriteFile(cfg, []byte(m.configText), 0o644); err != nil {
		return nil, err
	}
	httpAddr, grpcAddr, otlpAddr := freeAddr(), freeAddr(), freeAddr()
	cmd := exec.Command(*vigilBin, "serve", "--config", cfg, "--data-dir", filepath.Join(dir, "data"), "--http-addr", httpAddr,
		"--otlp-grpc-addr", grpcAddr, "--otlp-http-addr", otlpAddr, "--log-level", "warn")
	cmd.Env = append(os.Environ(), "VIGIL_ADMIN_PASSWORD="+password)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	scheme := "http"
	tr := &http.Transport{MaxIdleConnsPerHost: *clients * 2}
	if m.tls {
		scheme = "https"
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
		tr.ForceAttemptHTTP2 = false
	}
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	base := scheme + "://" + httpAddr
	if err := waitReady(client, base); err != nil {
		return nil, fmt.Errorf("%w\n%s", err, logs.String())
	}
	token := ""
	if m.auth {
		if token, err = ingestToken(client, base); err != nil {
			return nil, err
		}
	}
	out := map[string]float64{}
	pid := cmd.Process.Pid
	// timed runs drive and records, besides samples/s, the CPU time vigil
	// used per sample: on a shared machine the scheduler moves throughput
	// far more than what each request costs the server.
	timed := func(proto string, bodies [][][]byte, send func([]byte) error) error {
		before := cpuSeconds(pid)
		rate, err := drive(bodies, send)
		if err != nil {
			return err
		}
		n := 0
		for _, b := range bodies {
			n += len(b) - 1
		}
		out[proto] = rate
		out[proto+"/cpu"] = (cpuSeconds(pid) - before) * 1e6 / float64(n**series) * 1000 // CPU µs per 1000 samples
		return nil
	}
	rw := perClient(func(c, n int) [][]byte { return remoteWriteBodies(c, n, *series) })
	if err = timed("remote_write", rw, func(body []byte) error {
		return post(client, base+"/api/v1/write", body, token, "application/x-protobuf", "snappy")
	}); err != nil {
		return nil, err
	}
	ot := perClient(func(c, n int) [][]byte { return otlpBodies(c, n, *series, "http") })
	if err = timed("otlp_http", ot, func(body []byte) error {
		return post(client, scheme+"://"+otlpAddr+"/v1/metrics", body, token, "application/x-protobuf", "")
	}); err != nil {
		return nil, err
	}
	creds := insecure.NewCredentials()
	if m.tls {
		creds = credentials.NewTLS(&tls.Config{RootCAs: pool})
	}
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	gc := pmetricotlp.NewGRPCClient(conn)
	og := perClient(func(c, n int) [][]byte { return otlpBodies(c, n, *series, "grpc") })
	if err = timed("otlp_grpc", og, func(body []byte) error {
		req := pmetricotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			return err
		}
		ctx := context.Background()
		if token != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
		}
		_, err := gc.Export(ctx, req)
		return err
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// drive gives each client its own series (so that its requests arrive in
// timestamp order): it sends every client's first request untimed (it
// creates the series), then the rest from one goroutine per client, and
// returns samples per second.
func drive(bodies [][][]byte, send func([]byte) error) (float64, error) {
	for _, b := range bodies {
		if err := send(b[0]); err != nil {
			return 0, err
		}
	}
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	n := 0
	for _, b := range bodies {
		n += len(b) - 1
		wg.Add(1)
		go func(b [][]byte) {
			defer wg.Done()
			for _, body := range b[1:] {
				if err := send(body); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}(b)
	}
	wg.Wait()
	el := time.Since(start)
	if e := firstErr.Load(); e != nil {
		return 0, e.(error)
	}
	return float64(n**series) / el.Seconds(), nil
}

// perClient builds each client's requests with build(client, n).
func perClient(build func(c, n int) [][]byte) [][][]byte {
	out := make([][][]byte, *clients)
	per := *requests / *clients
	for c := range out {
		out[c] = build(c, per+1)
	}
	return out
}

func post(c *http.Client, url string, body []byte, token, ctype, enc string) error {
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	if enc != "" {
		req.Header.Set("Content-Encoding", enc)
		req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %d %s", url, resp.StatusCode, b)
	}
	return nil
}

func waitReady(c *http.Client, base string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := c.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("vigil not ready at %s", base)
}

func ingestToken(c *http.Client, base string) (string, error) {
	jar, _ := cookiejar.New(nil)
	sc := &http.Client{Transport: c.Transport, Jar: jar}
	resp, err := sc.Post(base+"/vigil/api/v1/login", "application/json", strings.NewReader(`{"username":"admin","password":"`+password+`"}`))
	if err != nil {
		return "", err
	}
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&me)
	resp.Body.Close()
	req, _ := http.NewRequest("POST", base+"/vigil/api/v1/tokens", strings.NewReader(`{"name":"bench","scopes":["ingest"]}`))
	req.Header.Set("X-CSRF-Token", me.CSRF)
	resp, err = sc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok struct{ Data struct{ Token string } }
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.Data.Token == "" {
		return "", fmt.Errorf("create token: status %d", resp.StatusCode)
	}
	return tok.Data.Token, nil
}

// remoteWriteBodies builds a client's n snappy remote-write requests of one sample
// for each of k series, timestamps one second apart.
func remoteWriteBodies(client, n, k int) [][]byte {
	start := time.Now().Add(-time.Hour).UnixMilli()
	out := make([][]byte, n)
	for i := range out {
		wr := prompb.WriteRequest{Timeseries: make([]prompb.TimeSeries, k)}
		for s := range wr.Timeseries {
			wr.Timeseries[s] = prompb.TimeSeries{
				Labels:  []prompb.Label{{Name: "__name__", Value: "bench_rw"}, {Name: "instance", Value: fmt.Sprintf("host-%d", s%50)}, {Name: "job", Value: fmt.Sprintf("authload-%d", client)}, {Name: "series", Value: fmt.Sprint(s)}},
				Samples: []prompb.Sample{{Timestamp: start + int64(i)*1000, Value: float64(i + s)}},
			}
		}
		raw, _ := wr.Marshal()
		out[i] = snappy.Encode(nil, raw)
	}
	return out
}

// otlpBodies builds n OTLP metrics requests, each a gauge with k points
// of distinct attributes.
func otlpBodies(client, n, k int, tag string) [][]byte {
	start := time.Now().Add(-time.Hour)
	out := make([][]byte, n)
	for i := range out {
		md := pmetric.NewMetrics()
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", fmt.Sprintf("authload-%s-%d", tag, client))
		m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName("bench_otlp_" + tag)
		g := m.SetEmptyGauge()
		ts := pcommon.NewTimestampFromTime(start.Add(time.Duration(i) * time.Second))
		for s := 0; s < k; s++ {
			dp := g.DataPoints().AppendEmpty()
			dp.SetTimestamp(ts)
			dp.SetDoubleValue(float64(i + s))
			dp.Attributes().PutStr("series", fmt.Sprint(s))
			dp.Attributes().PutStr("instance", fmt.Sprintf("host-%d", s%50))
		}
		out[i], _ = pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	}
	return out
}

// makeCert writes a self-signed certificate for 127.0.0.1.
func makeCert(dir string) (string, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "authload"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", nil, err
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	abs, _ := filepath.Abs(dir)
	if err := os.WriteFile(filepath.Join(abs, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return "", nil, err
	}
	if err := os.WriteFile(filepath.Join(abs, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return "", nil, err
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return abs, pool, nil
}

// cpuSeconds is the user+system CPU time of process pid (all threads).
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start at ')'.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	var ut, st float64
	fmt.Sscan(f[11], &ut)
	fmt.Sscan(f[12], &st)
	return (ut + st) / 100 // USER_HZ is 100 on Linux
}
