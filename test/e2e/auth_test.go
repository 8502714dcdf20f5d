package e2e

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/auth/oidctest"
)

const adminPassword = "e2e-admin-password"

// authed is an HTTP client of a Vigil with authentication on.
type authed struct {
	t      *testing.T
	base   string // http(s)://host:port
	client *http.Client
}

func (a *authed) do(method, path, body string, header ...string) (int, http.Header, string) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.base+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := a.client.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// adminSession signs in as admin through the JSON login API and returns
// a client holding the session cookie, and the CSRF token.
func adminSession(t *testing.T, base string, tr http.RoundTripper) (*authed, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	a := &authed{t: t, base: base, client: &http.Client{Jar: jar, Transport: tr, Timeout: 30 * time.Second}}
	code, _, body := a.do("POST", "/vigil/api/v1/login", `{"username":"admin","password":"`+adminPassword+`"}`, "Content-Type", "application/json")
	if code != 200 {
		t.Fatalf("login: %d %s", code, body)
	}
	var me struct {
		CSRF string `json:"csrf_token"`
		Role string `json:"role"`
	}
	if err := json.Unmarshal([]byte(body), &me); err != nil || me.CSRF == "" || me.Role != "admin" {
		t.Fatalf("login answer %s", body)
	}
	return a, me.CSRF
}

// newToken creates an API token with scopes through the session.
func (a *authed) newToken(csrf, name string, scopes ...string) string {
	a.t.Helper()
	sc, _ := json.Marshal(scopes)
	code, _, body := a.do("POST", "/vigil/api/v1/tokens", fmt.Sprintf(`{"name":%q,"scopes":%s}`, name, sc), "X-CSRF-Token", csrf, "Content-Type", "application/json")
	if code != 201 {
		a.t.Fatalf("create token %s: %d %s", name, code, body)
	}
	var r struct{ Data struct{ Token string } }
	_ = json.Unmarshal([]byte(body), &r)
	return r.Data.Token
}

type tableRoute struct{ method, pattern, scope string }

// routeTable reads docs/api.md, which internal/server's TestRouteTable
// keeps identical to the server's route table.
func routeTable(t *testing.T) []tableRoute {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "docs", "api.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []tableRoute
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cells := strings.Split(sc.Text(), "|")
		if len(cells) < 5 || !strings.HasPrefix(strings.TrimSpace(cells[2]), "`") {
			continue
		}
		out = append(out, tableRoute{strings.TrimSpace(cells[1]), strings.Trim(strings.TrimSpace(cells[2]), "`"), strings.TrimSpace(cells[3])})
	}
	if len(out) < 40 {
		t.Fatalf("docs/api.md lists only %d routes", len(out))
	}
	return out
}

// concrete turns a mux pattern into a path that it matches.
func concrete(method, pattern string) (string, string) {
	p := strings.TrimSuffix(pattern, "{$}")
	for strings.Contains(p, "{") {
		i := strings.Index(p, "{")
		j := strings.Index(p[i:], "}")
		p = p[:i] + "x" + p[i+j+1:]
	}
	switch p {
	case "/debug/pprof/profile", "/debug/pprof/trace":
		p += "?seconds=1"
	}
	if method == "any" {
		method = "GET"
	}
	return method, p
}

// TestAuthRouteTable calls every route of the table with no credential
// and with read, ingest, write and admin tokens: a route is refused with
// 401 without a credential, with 403 naming its scope when the token lacks
// it, and reaches its handler otherwise; public routes are never refused.
func TestAuthRouteTable(t *testing.T) {
	v := StartVigil(t, StartOptions{Config: "auth:\n  mode: local\n", Env: []string{"VIGIL_ADMIN_PASSWORD=" + adminPassword}})
	admin, csrf := adminSession(t, "http://"+v.HTTP, nil)
	tokens := map[string]string{}
	for _, s := range []string{"read", "ingest", "write", "admin"} {
		tokens[s] = admin.newToken(csrf, "e2e-"+s, s)
	}
	anon := &authed{t: t, base: "http://" + v.HTTP, client: &http.Client{Timeout: 30 * time.Second}}
	routes := routeTable(t)
	var mu sync.Mutex
	var failures []string
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, r := range routes {
		for _, cred := range []string{"", "read", "ingest", "write", "admin"} {
			wg.Add(1)
			go func(r tableRoute, cred string) {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				method, path := concrete(r.method, r.pattern)
				var h []string
				if cred != "" {
					h = []string{"Authorization", "Bearer " + tokens[cred]}
				}
				code, hdr, body := anon.do(method, path, "", h...)
				var bad string
				switch {
				case r.scope == "public":
					// A public route's own handler may refuse (a forged
					// acknowledge link: 403; Slack without its secret:
					// 401); the guard's refusals carry WWW-Authenticate or
					// name a scope.
					if code == 401 && hdr.Get("WWW-Authenticate") != "" || code == 403 && strings.Contains(body, "scope") {
						bad = "public route refused"
					}
				case cred == "":
					if code != 401 {
						bad = "want 401"
					}
				case cred == r.scope:
					if code == 401 || code == 403 {
						bad = "token with the route's scope refused"
					}
				default:
					if code != 403 || !strings.Contains(body, `\"`+r.scope+`\"`) && !strings.Contains(body, `"`+r.scope+`"`) {
						bad = "want 403 naming scope " + r.scope
					}
				}
				if bad != "" {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%s %s (table: %s %s, scope %s) with %q token: %d %.200s: %s", method, path, r.method, r.pattern, r.scope, cred, code, body, bad))
					mu.Unlock()
				}
			}(r, cred)
		}
	}
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	t.Logf("%d routes x 5 credentials checked", len(routes))

	// A change made with the session needs the CSRF token.
	if code, _, body := admin.do("POST", "/-/reload", ""); code != 403 || !strings.Contains(body, "X-CSRF-Token") {
		t.Errorf("reload with a session and no CSRF token: %d %s", code, body)
	}
	if code, _, body := admin.do("POST", "/-/reload", "", "X-CSRF-Token", csrf); code != 200 {
		t.Errorf("reload with a session and the CSRF token: %d %s", code, body)
	}
	// The change is in the audit log, with who and from where.
	code, _, body := admin.do("GET", "/vigil/api/v1/audit?action=POST%20/-/reload", "")
	if code != 200 || !strings.Contains(body, `"actor":"user:admin"`) || !strings.Contains(body, `"client":"127.0.0.1"`) {
		t.Errorf("audit of the reload: %d %s", code, body)
	}
	// Secrets never reach the log.
	for name, tok := range tokens {
		if strings.Contains(v.Logs(), tok) {
			t.Errorf("the %s token is in vigil's log", name)
		}
	}
	if strings.Contains(v.Logs(), adminPassword) {
		t.Error("the admin password is in vigil's log")
	}

	// Recovery with vigil stopped: vigil users on the data folder.
	if err := v.Stop(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(vigilBin, "users", "add", "bob", "--role", "viewer", "--password-stdin", "--data-dir", v.Dir)
	cmd.Stdin = strings.NewReader("bob-password\n")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "added") {
		t.Fatalf("vigil users add: %v %s", err, out)
	}
	v.Restart()
	code, _, body = anon.do("POST", "/vigil/api/v1/login", `{"username":"bob","password":"bob-password"}`)
	if code != 200 || !strings.Contains(body, `"role":"viewer"`) {
		t.Fatalf("login as the user added offline: %d %s", code, body)
	}
	// Tokens survive the restart.
	if code, _, _ := anon.do("GET", "/api/v1/query?query=1", "", "Authorization", "Bearer "+tokens["read"]); code != 200 {
		t.Fatalf("read token after restart: %d", code)
	}
}

// TestAuthSafeDefault: beyond loopback without an auth section Vigil
// refuses to start and says what to add; with auth on and no users it
// prints a setup link.
func TestAuthSafeDefault(t *testing.T) {
	port := strings.Split(freePort(t), ":")[1]
	out, err := RunCmd(t, 60*time.Second, vigilBin, "serve", "--data-dir", t.TempDir(), "--http-addr", "0.0.0.0:"+port)
	if err == nil || !strings.Contains(out, "mode: local") || !strings.Contains(out, "mode: none") {
		t.Fatalf("open start on 0.0.0.0: err %v\n%s", err, out)
	}
	v := StartVigil(t, StartOptions{Config: "auth: {mode: local}\n"})
	Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(v.Logs(), "/setup?token=") {
			return fmt.Errorf("no setup link in the log")
		}
		return nil
	})
	i := strings.Index(v.Logs(), "/setup?token=")
	link := v.Logs()[i:]
	link = link[:strings.IndexAny(link, " \n\"")]
	anon := &authed{t: t, base: "http://" + v.HTTP, client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if code, _, body := anon.do("GET", link, ""); code != 200 || !strings.Contains(body, "first admin") {
		t.Fatalf("setup page: %d %s", code, body)
	}
	tok := strings.TrimPrefix(link, "/setup?token=")
	code, hdr, body := anon.do("POST", "/setup", "token="+tok+"&username=root&password=root-password", "Content-Type", "application/x-www-form-urlencoded")
	if code != 303 || hdr.Get("Location") != "/" {
		t.Fatalf("setup: %d %s", code, body)
	}
	if code, _, _ := anon.do("POST", "/setup", "token="+tok+"&username=root2&password=root-password", "Content-Type", "application/x-www-form-urlencoded"); code != 400 {
		t.Fatalf("setup link used twice: %d", code)
	}
	if code, _, body := anon.do("POST", "/vigil/api/v1/login", `{"username":"root","password":"root-password"}`); code != 200 || !strings.Contains(body, `"role":"admin"`) {
		t.Fatalf("login as the set-up admin: %d %s", code, body)
	}
}

// TestAuthPrometheusRemoteWrite: a real Prometheus remote-writes with a
// bearer token (accepted) and to a second queue with a wrong one
// (refused with 401 batch after batch, counted as failed by Prometheus).
func TestAuthPrometheusRemoteWrite(t *testing.T) {
	promBin := DebianTool(t, "prometheus", "prometheus")
	v := StartVigil(t, StartOptions{Config: "auth: {mode: local}\n", Env: []string{"VIGIL_ADMIN_PASSWORD=" + adminPassword}})
	admin, csrf := adminSession(t, "http://"+v.HTTP, nil)
	ingest := admin.newToken(csrf, "prometheus", "ingest")
	read := admin.newToken(csrf, "e2e-read", "read")
	dir := t.TempDir()
	promAddr := freePort(t)
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
scrape_configs:
  - job_name: prom
    static_configs: [{targets: [%q]}]
remote_write:
  - url: %s
    name: good
    authorization: {credentials: %q}
    queue_config: {batch_send_deadline: 1s, max_samples_per_send: 500}
  - url: %s
    name: bad
    authorization: {credentials: "vigil_wrongwrongwrongwrongwrongwrongwrongwrongwro"}
    queue_config: {batch_send_deadline: 1s, max_samples_per_send: 500, min_backoff: 100ms, max_backoff: 1s}
`, promAddr, v.URL("/api/v1/write"), ingest, v.URL("/api/v1/write"))
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(promBin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+promAddr)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	rd := &authed{t: t, base: "http://" + v.HTTP, client: http.DefaultClient}
	value := func(q string) string {
		code, _, body := rd.do("GET", "/api/v1/query?query="+urlEscape(q), "", "Authorization", "Bearer "+read)
		if code != 200 {
			return fmt.Sprintf("status %d", code)
		}
		var r PromResult
		_ = json.Unmarshal([]byte(body), &r)
		if len(r.Data.Result) == 0 {
			return ""
		}
		return fmt.Sprint(r.Data.Result[0].Value[1])
	}
	Eventually(t, 90*time.Second, func() error {
		if got := value(`up{job="prom"}`); got != "1" {
			return fmt.Errorf("up{job=prom} = %q\n%s", got, logs.String())
		}
		return nil
	})
	// The wrong token's queue keeps sending and is refused every time.
	promGet := func(q string) float64 {
		resp, err := http.Get("http://" + promAddr + "/api/v1/query?query=" + urlEscape(q))
		if err != nil {
			return 0
		}
		defer resp.Body.Close()
		var r PromResult
		_ = json.NewDecoder(resp.Body).Decode(&r)
		if len(r.Data.Result) == 0 {
			return 0
		}
		var f float64
		fmt.Sscan(fmt.Sprint(r.Data.Result[0].Value[1]), &f)
		return f
	}
	var first float64
	Eventually(t, 60*time.Second, func() error {
		first = promGet(`prometheus_remote_storage_samples_failed_total{remote_name="bad"}`)
		if first == 0 {
			return fmt.Errorf("no failed samples on the bad queue yet\n%s", logs.String())
		}
		return nil
	})
	Eventually(t, 60*time.Second, func() error {
		if n := promGet(`prometheus_remote_storage_samples_failed_total{remote_name="bad"}`); n <= first {
			return fmt.Errorf("bad queue stopped sending: %v", n)
		}
		if n := promGet(`prometheus_remote_storage_samples_failed_total{remote_name="good"}`); n != 0 {
			return fmt.Errorf("good queue failed %v samples", n)
		}
		return nil
	})
	if !strings.Contains(logs.String(), "401") {
		t.Errorf("Prometheus did not log the 401:\n%s", logs.String())
	}
	_, _, metrics := rd.do("GET", "/metrics", "", "Authorization", "Bearer "+read)
	var denied float64
	for _, line := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(line, `vigil_auth_denied_total{reason="unauthenticated"} `) {
			fmt.Sscan(strings.Fields(line)[1], &denied)
		}
	}
	if denied < 2 {
		t.Errorf("vigil counted %v refused writes, want several", denied)
	}
}

// TestAuthAmtool: amtool with an --http.config.file holding a token as
// the basic-auth password (write scope) manages silences; with a read
// token it can query but not add.
func TestAuthAmtool(t *testing.T) {
	amtool := DebianTool(t, "amtool", "prometheus-alertmanager")
	v := StartVigil(t, StartOptions{Config: "auth: {mode: local}\n", Env: []string{"VIGIL_ADMIN_PASSWORD=" + adminPassword}})
	admin, csrf := adminSession(t, "http://"+v.HTTP, nil)
	dir := t.TempDir()
	write := filepath.Join(dir, "write.yml")
	read := filepath.Join(dir, "read.yml")
	_ = os.WriteFile(write, []byte(fmt.Sprintf("basic_auth:\n  username: amtool\n  password: %s\n", admin.newToken(csrf, "amtool", "read", "write"))), 0o600)
	_ = os.WriteFile(read, []byte(fmt.Sprintf("authorization:\n  credentials: %s\n", admin.newToken(csrf, "amtool-read", "read"))), 0o600)
	amURL := "--alertmanager.url=" + v.URL("/alertmanager")
	out, err := RunCmd(t, 30*time.Second, amtool, amURL, "--http.config.file="+write, "silence", "add", "alertname=Auth", "--comment=e2e", "--author=e2e", "--duration=1h")
	if err != nil {
		t.Fatalf("amtool silence add with a write token: %v\n%s", err, out)
	}
	lines := strings.Fields(strings.TrimSpace(out))
	id := lines[len(lines)-1]
	if out, err := RunCmd(t, 30*time.Second, amtool, amURL, "--http.config.file="+read, "silence", "query", "-q"); err != nil || !strings.Contains(out, id) {
		t.Fatalf("amtool silence query with a read token: %v %s", err, out)
	}
	if out, err := RunCmd(t, 30*time.Second, amtool, amURL, "--http.config.file="+read, "silence", "add", "alertname=Nope", "--comment=e2e", "--author=e2e"); err == nil {
		t.Fatalf("amtool silence add with a read token succeeded: %s", out)
	}
	if out, err := RunCmd(t, 30*time.Second, amtool, amURL, "silence", "query"); err == nil {
		t.Fatalf("amtool without credentials succeeded: %s", out)
	}
	// Who made the change is in the audit log.
	if code, _, body := admin.do("GET", "/vigil/api/v1/audit?action=POST%20/alertmanager", ""); code != 200 || !strings.Contains(body, "amtool") {
		t.Fatalf("audit of amtool's silence: %d %s", code, body)
	}
}

// pki is a throw-away CA with certificates written as PEM files.
type pki struct {
	dir  string
	ca   *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
	n    int64
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "e2e CA"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	p := &pki{dir: t.TempDir(), ca: ca, key: key, pool: x509.NewCertPool(), n: 1}
	p.pool.AddCert(ca)
	writePEM(t, filepath.Join(p.dir, "ca.pem"), "CERTIFICATE", der)
	return p
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// issue writes name.pem and name-key.pem (a server certificate for
// 127.0.0.1, or a client certificate with a DNS SAN of cn) and returns
// the serial.
func (p *pki) issue(t *testing.T, name, cn string, client bool) int64 {
	t.Helper()
	p.n++
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(p.n), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"}}
	if client {
		tmpl.ExtKeyUsage, tmpl.IPAddresses, tmpl.DNSNames = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, nil, []string{cn}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	// Key first, then certificate: a reader in between sees a mismatched
	// pair, which the server must survive (it keeps the previous one).
	writePEM(t, filepath.Join(p.dir, name+"-key.pem"), "EC PRIVATE KEY", kb)
	writePEM(t, filepath.Join(p.dir, name+".pem"), "CERTIFICATE", der)
	return p.n
}

func (p *pki) path(name string) string { return filepath.Join(p.dir, name) }

// startTLSVigil starts bin/vigil with TLS on the HTTP port and waits for
// /readyz over https.
func startTLSVigil(t *testing.T, p *pki, config string, env ...string) (*Vigil, *http.Transport) {
	t.Helper()
	v := &Vigil{t: t, Dir: t.TempDir(), HTTP: freePort(t), GRPC: freePort(t), OTLPHTTP: freePort(t)}
	v.Config = filepath.Join(t.TempDir(), "vigil.yaml")
	v.WriteConfig(config)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.pool}}
	args := []string{"serve", "--data-dir", v.Dir, "--http-addr", v.HTTP, "--otlp-grpc-addr", v.GRPC, "--otlp-http-addr", v.OTLPHTTP, "--config", v.Config}
	v.logs = &syncBuffer{}
	v.cmd = exec.Command(vigilBin, args...)
	v.cmd.Stdout, v.cmd.Stderr = v.logs, v.logs
	v.cmd.Env = append(os.Environ(), env...)
	if err := v.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	v.done = make(chan struct{})
	go func() { v.exitErr = v.cmd.Wait(); close(v.done) }()
	t.Cleanup(v.Kill)
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	Eventually(t, 90*time.Second, func() error {
		select {
		case <-v.done:
			t.Fatalf("vigil exited: %v\n%s", v.exitErr, v.Logs())
		default:
		}
		resp, err := c.Get("https://" + v.HTTP + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("readyz %d", resp.StatusCode)
		}
		return nil
	})
	return v, tr
}

// serialOf returns the serial of the certificate served at addr.
func serialOf(addr string, pool *x509.CertPool) (int64, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{RootCAs: pool})
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64(), nil
}

// TestAuthTLS: TLS on the HTTP port and both OTLP ports, client
// certificates required for ingest; telemetrygen sends traces over gRPC
// and HTTP with a client certificate and a token header; a client
// without a certificate is refused; a certificate replaced on disk is
// served without a restart.
func TestAuthTLS(t *testing.T) {
	tg := Telemetrygen(t)
	p := newPKI(t)
	p.issue(t, "server", "vigil", false)
	p.issue(t, "agent", "agent-1", true)
	p.issue(t, "stranger", "agent-2", true)
	config := fmt.Sprintf(`auth: {mode: local}
tls:
  http: {cert_file: %[1]s/server.pem, key_file: %[1]s/server-key.pem}
  otlp:
    cert_file: %[1]s/server.pem
    key_file: %[1]s/server-key.pem
    client_auth_type: RequireAndVerifyClientCert
    client_ca_file: %[1]s/ca.pem
    client_allowed_sans: [agent-1]
`, p.dir)
	v, tr := startTLSVigil(t, p, config, "VIGIL_ADMIN_PASSWORD="+adminPassword)
	base := "https://" + v.HTTP
	admin, csrf := adminSession(t, base, tr)
	ingest := admin.newToken(csrf, "telemetrygen", "ingest")
	read := admin.newToken(csrf, "e2e-read", "read")

	// Plain HTTP on the TLS port is refused.
	if resp, err := http.Get("http://" + v.HTTP + "/readyz"); err == nil && resp.StatusCode == 200 {
		t.Fatal("plain HTTP served on the TLS port")
	}
	// The session cookie is Secure on a TLS port.
	code, hdr, _ := (&authed{t: t, base: base, client: &http.Client{Transport: tr}}).do("POST", "/vigil/api/v1/login", `{"username":"admin","password":"`+adminPassword+`"}`)
	if code != 200 || !strings.Contains(hdr.Get("Set-Cookie"), "Secure") {
		t.Fatalf("login over TLS: %d, Set-Cookie %q", code, hdr.Get("Set-Cookie"))
	}

	common := []string{"--ca-cert", p.path("ca.pem"), "--mtls", "--client-cert", p.path("agent.pem"), "--client-key", p.path("agent-key.pem"),
		"--otlp-header", `Authorization="Bearer ` + ingest + `"`, "--traces", "3", "--rate", "0"}
	if out, err := RunCmd(t, 2*time.Minute, tg, append([]string{"traces", "--otlp-endpoint", v.GRPC, "--service", "tls-grpc"}, common...)...); err != nil {
		t.Fatalf("telemetrygen gRPC over mTLS: %v\n%s", err, out)
	}
	if out, err := RunCmd(t, 2*time.Minute, tg, append([]string{"traces", "--otlp-http", "--otlp-endpoint", v.OTLPHTTP, "--service", "tls-http"}, common...)...); err != nil {
		t.Fatalf("telemetrygen HTTP over mTLS: %v\n%s", err, out)
	}
	rd := &authed{t: t, base: base, client: &http.Client{Transport: tr}}
	Eventually(t, 30*time.Second, func() error {
		code, _, body := rd.do("GET", "/jaeger/api/services", "", "Authorization", "Bearer "+read)
		if code != 200 || !strings.Contains(body, "tls-grpc") || !strings.Contains(body, "tls-http") {
			return fmt.Errorf("services: %d %s", code, body)
		}
		return nil
	})
	// Without the token the certificate alone is not enough.
	out, err := RunCmd(t, time.Minute, tg, "traces", "--otlp-endpoint", v.GRPC, "--service", "no-token", "--ca-cert", p.path("ca.pem"), "--mtls",
		"--client-cert", p.path("agent.pem"), "--client-key", p.path("agent-key.pem"), "--traces", "1", "--rate", "0")
	if !strings.Contains(out, "Unauthenticated") {
		t.Errorf("telemetrygen without a token was not told Unauthenticated (err %v):\n%s", err, out)
	}
	if _, _, body := rd.do("GET", "/jaeger/api/services", "", "Authorization", "Bearer "+read); strings.Contains(body, "no-token") {
		t.Errorf("traces sent without a token were stored: %s", body)
	}
	// mTLS: no certificate, or one whose SAN is not allowed, is refused.
	for _, c := range []struct {
		name  string
		certs []tls.Certificate
	}{{"no certificate", nil}, {"certificate for agent-2", []tls.Certificate{loadPair(t, p, "stranger")}}} {
		for _, addr := range []string{v.GRPC, v.OTLPHTTP} {
			conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: p.pool, Certificates: c.certs, NextProtos: []string{"h2"}})
			if err == nil {
				// TLS 1.3 reports the server's refusal on the first read.
				_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, err = conn.Read(make([]byte, 1))
				conn.Close()
			}
			if err == nil || strings.Contains(err.Error(), "timeout") {
				t.Errorf("%s on %s: accepted (%v)", c.name, addr, err)
			}
		}
	}
	// Vigil's self-scrape of /metrics works with auth and TLS on (its
	// in-memory read token, https to itself).
	Eventually(t, 60*time.Second, func() error {
		code, _, body := rd.do("GET", "/api/v1/query?query=up%7Bjob%3D%22vigil%22%7D", "", "Authorization", "Bearer "+read)
		if code != 200 || !strings.Contains(body, `"1"]`) {
			return fmt.Errorf("up{job=vigil}: %d %s", code, body)
		}
		return nil
	})
	// A renewed certificate is served without a restart.
	before, err := serialOf(v.HTTP, p.pool)
	if err != nil {
		t.Fatal(err)
	}
	after := p.issue(t, "server", "vigil", false)
	Eventually(t, 30*time.Second, func() error {
		got, err := serialOf(v.HTTP, p.pool)
		if err != nil {
			return err
		}
		if got != after {
			return fmt.Errorf("serving serial %d (before %d), want %d", got, before, after)
		}
		return nil
	})
	Eventually(t, 30*time.Second, func() error {
		conn, err := tls.Dial("tcp", v.OTLPHTTP, &tls.Config{RootCAs: p.pool, Certificates: []tls.Certificate{loadPair(t, p, "agent")}})
		if err != nil {
			return err
		}
		defer conn.Close()
		if got := conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64(); got != after {
			return fmt.Errorf("OTLP HTTP port serves serial %d, want %d", got, after)
		}
		return nil
	})
}

func loadPair(t *testing.T, p *pki, name string) tls.Certificate {
	t.Helper()
	c, err := tls.LoadX509KeyPair(p.path(name+".pem"), p.path(name+"-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAuthOIDC signs in to bin/vigil through a local OpenID provider
// (internal/auth/oidctest): the provider's group maps to a role, a user in
// no mapped group is refused.
func TestAuthOIDC(t *testing.T) {
	op := oidctest.New(t, "vigil", "oidc-secret")
	v := StartVigil(t, StartOptions{Env: []string{"VIGIL_ADMIN_PASSWORD=" + adminPassword}, Config: fmt.Sprintf(`auth:
  mode: local
  oidc:
    issuer: %s
    client_id: vigil
    client_secret: oidc-secret
    redirect_url: http://{{HTTP}}/login/oidc/callback
    role_groups: {admin: [ops], editor: [devs]}
    name: Test ID
`, op.URL)})
	login := func(user string, groups ...string) (*authed, int, string) {
		t.Helper()
		op.SignIn(user, groups...)
		jar, _ := cookiejar.New(nil)
		c := &authed{t: t, base: "http://" + v.HTTP, client: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
		code, _, body := c.do("GET", "/login/oidc?next=/-/index", "")
		return c, code, body
	}
	c, code, body := login("olga", "staff", "ops")
	if code != 200 || !strings.Contains(body, "<h1>Vigil</h1>") {
		t.Fatalf("single sign-on: %d %.300s", code, body)
	}
	if code, _, body := c.do("GET", "/vigil/api/v1/me", ""); code != 200 || !strings.Contains(body, `"user":"olga"`) || !strings.Contains(body, `"role":"admin"`) {
		t.Fatalf("me after single sign-on: %d %s", code, body)
	}
	c, _, _ = login("dev", "devs")
	if _, _, body := c.do("GET", "/vigil/api/v1/me", ""); !strings.Contains(body, `"role":"editor"`) {
		t.Fatalf("devs group: %s", body)
	}
	c, code, body = login("guest", "visitors")
	if code != 401 || !strings.Contains(body, "none of the groups") {
		t.Fatalf("user in no mapped group: %d %.300s", code, body)
	}
	if code, _, _ := c.do("GET", "/vigil/api/v1/me", ""); code != 401 {
		t.Fatalf("refused user has a session: %d", code)
	}
	admin, _ := adminSession(t, "http://"+v.HTTP, nil)
	if code, _, body := admin.do("GET", "/vigil/api/v1/users", ""); code != 200 || !strings.Contains(body, `"name":"olga","role":"admin","source":"oidc"`) {
		t.Fatalf("users after single sign-on: %d %s", code, body)
	}
}
