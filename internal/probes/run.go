package probes

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptrace"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	bbconfig "github.com/prometheus/blackbox_exporter/config"
	"github.com/prometheus/blackbox_exporter/prober"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/vigilhq/vigil/internal/probes/condition"
)

// Result is one run's outcome.
type Result struct {
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"-"`
	Success  bool          `json:"success"`
	// Reason classifies a failure: timeout, dns_resolve, connect, tls,
	// http_status, regexp, cel, dns_answer, query_response, permission,
	// condition, other; "" on success.
	Reason string `json:"reason,omitempty"`
	// Error is the first error the prober logged.
	Error      string             `json:"error,omitempty"`
	Conditions []condition.Result `json:"conditions,omitempty"`
	// Samples are the metrics the run produced, without job/instance.
	Samples []Sample `json:"-"`
	// Debug is the blackbox exporter's debug=true output of a failing run
	// (its log, the metrics, the module); "" for a successful run.
	Debug string `json:"log,omitempty"`
}

// Sample is one metric of a run.
type Sample struct {
	Labels labels.Labels // with __name__
	Value  float64
	Help   string
	Type   string
}

// observed is what the HTTP client trace saw.
type observed struct {
	mu        sync.Mutex
	connected bool
	ip        string
	body      any
	bodyRead  bool
}

func (o *observed) trace(log *slog.Logger) *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			o.mu.Lock()
			defer o.mu.Unlock()
			o.connected = true
			if a, ok := info.Conn.RemoteAddr().(*net.TCPAddr); ok {
				o.ip = a.IP.String()
			}
		},
		TLSHandshakeDone: func(st tls.ConnectionState, err error) {
			if err != nil {
				log.Error("TLS handshake failed", "err", err)
				return
			}
			log.Debug("TLS handshake done", "version", tls.VersionName(st.Version), "cipher", tls.CipherSuiteName(st.CipherSuite), "server_name", st.ServerName)
			for i, c := range st.PeerCertificates {
				log.Debug("Peer certificate", "index", i, "subject", c.Subject.String(), "issuer", c.Issuer.String(),
					"not_before", c.NotBefore.UTC().Format(time.RFC3339), "not_after", c.NotAfter.UTC().Format(time.RFC3339), "dns_names", strings.Join(c.DNSNames, ","))
			}
		},
	}
}

// bodyCapture is a cel.Program that the HTTP prober runs on the decoded
// JSON body (fail_if_body_json_not_matches_cel): it keeps the body for
// [BODY] conditions and then defers to the module's own program, if any.
// This is how a run reads the body without a second request: the blackbox
// prober exposes the body only to its CEL hook.
type bodyCapture struct {
	o    *observed
	next *bbconfig.CELProgram
}

func (b bodyCapture) Eval(in any) (ref.Val, *cel.EvalDetails, error) {
	return b.ContextEval(context.Background(), in)
}

func (b bodyCapture) ContextEval(ctx context.Context, in any) (ref.Val, *cel.EvalDetails, error) {
	if m, ok := in.(map[string]any); ok {
		b.o.mu.Lock()
		b.o.body, b.o.bodyRead = m["body"], true
		b.o.mu.Unlock()
	}
	if b.next != nil && b.next.Program != nil {
		return b.next.ContextEval(ctx, in)
	}
	return types.True, nil, nil
}

var _ cel.Program = bodyCapture{}

// run probes t once.
func (m *Manager) run(ctx context.Context, t *Target, start time.Time) *Result {
	ctx, cancel := context.WithTimeout(ctx, t.Timeout)
	defer cancel()
	capt := newCapture(slog.String("module", t.ModuleName), slog.String("target", t.Target))
	defer capt.release()
	log := slog.New(capt)
	obs := &observed{}
	module := t.Module
	if condition.NeedsBody(t.Conditions) && module.Prober == "http" {
		next := module.HTTP.FailIfBodyJsonNotMatchesCEL
		module.HTTP.FailIfBodyJsonNotMatchesCEL = &bbconfig.CELProgram{
			Program:    bodyCapture{o: obs, next: next},
			Expression: "vigil: read the body for [BODY] conditions",
		}
		if next != nil {
			module.HTTP.FailIfBodyJsonNotMatchesCEL.Expression = next.Expression
		}
	}
	ctx = httptrace.WithClientTrace(ctx, obs.trace(log))

	// The exporter's handler logs this through its logger; a record made
	// here is the same line without slog's caller lookup (~1.5 µs).
	begin := slog.NewRecord(time.Now(), slog.LevelDebug, "Beginning probe", beginPC)
	begin.AddAttrs(slog.String("probe", module.Prober), slog.Float64("timeout_seconds", t.Timeout.Seconds()))
	_ = capt.Handle(ctx, begin)
	reg := prometheus.NewRegistry()
	ok := prober.Probers[module.Prober](ctx, t.Target, module, reg, log)
	dur := m.opts.Clock.Now().Sub(start)

	r := &Result{Start: start, Duration: dur}
	samples, err := collect(reg)
	if err != nil {
		log.Error("Error gathering metrics", "err", err)
		ok = false
	}
	if len(t.Conditions) > 0 {
		in := conditionInput(samples, capt, obs, dur, m.opts.Clock.Now())
		var condOK bool
		r.Conditions, condOK = condition.EvalAll(t.Conditions, in)
		for _, c := range r.Conditions {
			if !c.Success {
				log.Error("Condition failed", "condition", c.Condition, "observed", c.Observed)
			}
		}
		ok = ok && condOK
	}
	// probe_success and probe_duration_seconds, which the exporter's
	// handler registers before the prober runs, are added here: the
	// prober never reads them, and two gauges and their registrations
	// per run cost more than the samples. A failing run's debug output
	// gets them in its registry below, as the exporter's has them.
	success := 0.0
	if ok {
		success = 1
	}
	samples = append(samples,
		Sample{Labels: successLabels, Value: success, Help: successHelp, Type: "gauge"},
		Sample{Labels: durationLabels, Value: dur.Seconds(), Help: durationHelp, Type: "gauge"})
	if !ok {
		// A successful run's log is dropped, so its "Probe succeeded"
		// line is never made.
		log.Error("Probe failed", "duration_seconds", dur.Seconds())
		rec, _ := capt.firstError()
		r.Reason, r.Error = classify(rec, ctx.Err())
		successGauge := prometheus.NewGauge(prometheus.GaugeOpts{Name: "probe_success", Help: successHelp})
		durationGauge := prometheus.NewGauge(prometheus.GaugeOpts{Name: "probe_duration_seconds", Help: durationHelp})
		durationGauge.Set(dur.Seconds())
		if err := reg.Register(successGauge); err == nil {
			_ = reg.Register(durationGauge)
		}
		r.Debug = prober.DebugOutput(&t.Module, capt.text(), reg)
	}
	r.Success = ok
	r.Samples = samples
	return r
}

const (
	successHelp  = "Displays whether or not the probe was a success"
	durationHelp = "Returns how long the probe took to complete in seconds"
)

var (
	successLabels  = labels.FromStrings(labels.MetricName, "probe_success")
	durationLabels = labels.FromStrings(labels.MetricName, "probe_duration_seconds")
	// beginPC is the source line the "Beginning probe" record names.
	beginPC = func() uintptr {
		var pcs [1]uintptr
		runtime.Callers(1, pcs[:])
		return pcs[0]
	}()
)

func gauge(samples []Sample, name string) (float64, bool) {
	for _, s := range samples {
		if s.Labels.Get(labels.MetricName) == name {
			return s.Value, true
		}
	}
	return 0, false
}

// conditionInput gathers what conditions test from the run's metrics, the
// prober's log fields and the HTTP trace.
func conditionInput(samples []Sample, capt *capture, obs *observed, dur time.Duration, now time.Time) condition.Input {
	in := condition.Input{ResponseTime: dur}
	if v, ok := gauge(samples, "probe_http_status_code"); ok && v > 0 {
		in.Status, in.HasStatus = int(v), true
	}
	if v, ok := gauge(samples, "probe_ssl_earliest_cert_expiry"); ok {
		in.CertificateExpiration = time.Unix(int64(v), 0).Sub(now)
		in.HasCertificate = true
	}
	if v, ok := capt.find("string_rcode", "Rcode is valid", "Rcode is not one of the valid rcodes"); ok {
		in.DNSRcode = v.String()
	}
	obs.mu.Lock()
	in.Connected, in.IP = obs.connected, obs.ip
	in.Body, in.HasBody = obs.body, obs.bodyRead
	obs.mu.Unlock()
	if in.HasBody {
		// The CEL hook hands over decoded JSON; keep numbers as float64
		// as encoding/json does (CEL's decoder gives the same types).
		if raw, err := json.Marshal(in.Body); err == nil {
			var v any
			if json.Unmarshal(raw, &v) == nil {
				in.Body = v
			}
		}
	}
	if !in.Connected {
		if _, ok := capt.find("", "Successfully dialed", "connect the grpc server successfully", "Found matching reply packet"); ok {
			in.Connected = true
		}
		if in.DNSRcode != "" {
			in.Connected = true
		}
	}
	if in.IP == "" {
		if v, ok := capt.find("ip", "Resolved target address"); ok {
			in.IP = v.String()
		}
	}
	return in
}

// classify names why a run failed from the first error the prober logged.
func classify(r slog.Record, ctxErr error) (reason, msg string) {
	var errText string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" || a.Key == "error" {
			errText = a.Value.String()
		}
		return true
	})
	msg = r.Message
	if errText != "" {
		msg += ": " + errText
	}
	if r.Message == "Condition failed" {
		var c, o string
		r.Attrs(func(a slog.Attr) bool {
			switch a.Key {
			case "condition":
				c = a.Value.String()
			case "observed":
				o = a.Value.String()
			}
			return true
		})
		return "condition", fmt.Sprintf("condition %s failed (observed %s)", c, o)
	}
	all := r.Message + " " + errText
	switch {
	case errors.Is(ctxErr, context.DeadlineExceeded), strings.Contains(all, "deadline exceeded"), strings.Contains(all, "i/o timeout"), strings.Contains(all, "Timeout"):
		return "timeout", msg
	case strings.Contains(all, "permitted"), strings.Contains(all, "permission denied"):
		return "permission", msg + " (ICMP needs net.ipv4.ping_group_range to include Vigil's group, or CAP_NET_RAW)"
	case strings.Contains(all, "x509"), strings.Contains(all, "tls:"), strings.Contains(all, "TLS"), strings.Contains(all, "certificate"):
		return "tls", msg
	case strings.Contains(all, "resolv"), strings.Contains(all, "Resolution"), strings.Contains(all, "no such host"):
		return "dns_resolve", msg
	case strings.Contains(all, "refused"), strings.Contains(all, "dialing"), strings.Contains(all, "connect"), strings.Contains(all, "reset by peer"), strings.Contains(all, "EOF"):
		return "connect", msg
	case strings.Contains(r.Message, "HTTP response status code"), strings.Contains(r.Message, "HTTP version"), strings.Contains(r.Message, "over SSL"):
		return "http_status", msg
	case strings.Contains(r.Message, "CEL"):
		return "cel", msg
	case strings.Contains(r.Message, "regular expression"), strings.Contains(r.Message, "header"):
		return "regexp", msg
	case strings.Contains(r.Message, "Rcode"), strings.Contains(r.Message, "RRs"), strings.Contains(r.Message, "RR "):
		return "dns_answer", msg
	case strings.Contains(r.Message, "Regexp"), strings.Contains(r.Message, "expect"), strings.Contains(r.Message, "Error reading from connection"), strings.Contains(r.Message, "STARTTLS"):
		return "query_response", msg
	case r.Message == "":
		return "other", "probe failed"
	}
	return "other", msg
}
