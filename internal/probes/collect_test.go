package probes

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	bbconfig "github.com/prometheus/blackbox_exporter/config"
	"github.com/prometheus/blackbox_exporter/prober"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/model/labels"
)

// gathered is what Registry.Gather gives, as samples: the reference
// collect must match.
func gathered(t *testing.T, reg *prometheus.Registry) []Sample {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []Sample
	var b labels.ScratchBuilder
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			b.Reset()
			b.Add(labels.MetricName, mf.GetName())
			for _, lp := range mt.GetLabel() {
				b.Add(lp.GetName(), lp.GetValue())
			}
			b.Sort()
			var v float64
			switch mf.GetType() {
			case dto.MetricType_GAUGE:
				v = mt.GetGauge().GetValue()
			case dto.MetricType_COUNTER:
				v = mt.GetCounter().GetValue()
			case dto.MetricType_UNTYPED:
				v = mt.GetUntyped().GetValue()
			default:
				continue
			}
			out = append(out, Sample{Labels: b.Labels(), Value: v, Help: mf.GetHelp(), Type: strings.ToLower(mf.GetType().String())})
		}
	}
	return out
}

func sortSamples(s []Sample) []Sample {
	s = slices.Clone(s)
	slices.SortFunc(s, func(a, b Sample) int { return labels.Compare(a.Labels, b.Labels) })
	return s
}

func checkCollect(t *testing.T, reg *prometheus.Registry) {
	t.Helper()
	got, err := collect(reg)
	if err != nil {
		t.Fatal(err)
	}
	want := gathered(t, reg)
	if len(want) == 0 {
		t.Fatal("nothing gathered")
	}
	got, want = sortSamples(got), sortSamples(want)
	if len(got) != len(want) {
		t.Fatalf("collect gave %d samples, Gather %d:\n%v\n%v", len(got), len(want), got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if !labels.Equal(g.Labels, w.Labels) || g.Value != w.Value || g.Help != w.Help || g.Type != w.Type {
			t.Errorf("sample %d: collect %+v, Gather %+v", i, g, w)
		}
	}
}

// TestCollectMatchesGather: collect reads every metric, label, value and
// help Gather would, for odd help strings and for what the probers
// register.
func TestCollectMatchesGather(t *testing.T) {
	t.Run("odd names and help", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "a_gauge", Help: `quotes " and \ backslash, newline
and unicode é`, ConstLabels: prometheus.Labels{"c": "const"}})
		g.Set(3)
		v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "a_vec", Help: "vec"}, []string{"phase"})
		v.WithLabelValues("x").Set(1)
		v.WithLabelValues(`y "quoted"`).Set(2)
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: "a_total", Help: ""})
		c.Add(4)
		u := prometheus.NewUntypedFunc(prometheus.UntypedOpts{Name: "an_untyped", Help: "u"}, func() float64 { return 5 })
		reg.MustRegister(g, v, c, u)
		checkCollect(t, reg)
	})
	t.Run("http over TLS", func(t *testing.T) {
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT")
			io.WriteString(w, "ok")
		}))
		defer srv.Close()
		mod := httpModule(func(m *bbconfig.Module) { m.HTTP.HTTPClientConfig.TLSConfig.InsecureSkipVerify = true })
		reg := prometheus.NewRegistry()
		if !prober.ProbeHTTP(context.Background(), srv.URL, mod, reg, slog.New(slog.DiscardHandler)) {
			t.Fatal("probe failed")
		}
		checkCollect(t, reg)
	})
	t.Run("tcp", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		mod := bbconfig.DefaultModule
		mod.Prober = "tcp"
		mod.TCP.IPProtocol = "ip4"
		reg := prometheus.NewRegistry()
		if !prober.ProbeTCP(context.Background(), ln.Addr().String(), mod, reg, slog.New(slog.DiscardHandler)) {
			t.Fatal("probe failed")
		}
		checkCollect(t, reg)
	})
}

func TestDescNameHelpRefusesBadDesc(t *testing.T) {
	d := prometheus.NewDesc("", "h", nil, nil)
	if _, _, err := descNameHelp(d); err == nil {
		t.Fatal("an invalid Desc was read")
	}
}

// TestDescNameHelpPaths: the field read and the String parse agree (the
// parse is the fallback if client_golang renames the fields).
func TestDescNameHelpPaths(t *testing.T) {
	if !descField.ok {
		t.Fatal("prometheus.Desc no longer has string fields fqName and help: descNameHelp parses Desc.String() for every run; update descField")
	}
	for _, d := range []*prometheus.Desc{
		prometheus.NewDesc("probe_http_duration_seconds", "Duration of http request by phase, summed over all redirects", []string{"phase"}, nil),
		prometheus.NewDesc("odd", "quotes \" \\ and\nnewline é", nil, prometheus.Labels{"c": "v"}),
		prometheus.NewDesc("no_help", "", nil, nil),
	} {
		n1, h1, err1 := descNameHelp(d)
		n2, h2, err2 := descStringNameHelp(d)
		if err1 != nil || err2 != nil || n1 != n2 || h1 != h2 {
			t.Errorf("fields %q %q %v, String %q %q %v", n1, h1, err1, n2, h2, err2)
		}
	}
}

func BenchmarkDescNameHelp(b *testing.B) {
	d := prometheus.NewDesc("probe_http_duration_seconds", "Duration of http request by phase, summed over all redirects", []string{"phase"}, nil)
	b.Run("fields", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _, _ = descNameHelp(d)
		}
	})
	b.Run("string", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _, _ = descStringNameHelp(d)
		}
	})
}
