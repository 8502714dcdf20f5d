package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/grafana/regexp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/route"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/scrape"
	"github.com/prometheus/prometheus/tsdb"
	apiv1 "github.com/prometheus/prometheus/web/api/v1"
)

// APIOptions configure the Prometheus HTTP API.
type APIOptions struct {
	Logger *slog.Logger
	// Config returns the Prometheus-format part of the configuration (for
	// /status/config and the scrape pools).
	Config func() promconfig.Config
	// Targets gives /api/v1/targets and /api/v1/scrape_pools; nil: none.
	Targets func(context.Context) apiv1.TargetRetriever
	// ScrapePools gives /api/v1/scrape_pools; nil: none.
	ScrapePools func(context.Context) apiv1.ScrapePoolsRetriever
	// Rules gives /api/v1/rules and /api/v1/alerts; nil: none.
	Rules func(context.Context) apiv1.RulesRetriever
	// Alertmanagers gives /api/v1/alertmanagers; nil: none.
	Alertmanagers func(context.Context) apiv1.AlertmanagerRetriever

	ListenAddress string
	Gatherer      prometheus.Gatherer
	Registerer    prometheus.Registerer
	Version       apiv1.PrometheusVersion
	StartTime     time.Time
	// LastReload reports whether the last config reload succeeded and when.
	LastReload func() (ok bool, at time.Time)
	// Wrap instruments each API route (handler name is the route path).
	Wrap func(handlerName string, h http.HandlerFunc) http.HandlerFunc
	// Flags returns what /api/v1/status/flags lists: Vigil's effective
	// settings (asked on every request, so a reload shows). Nil: none.
	Flags func() map[string]string
}

// API returns Prometheus's own HTTP API (the web/api/v1 package) over this
// store, to be mounted at /api/v1/ with the prefix stripped. Remote write and
// OTLP are served by Vigil's receivers, not here.
func (s *Store) API(o APIOptions) http.Handler {
	if o.Logger == nil {
		o.Logger = s.logger
	}
	empty := emptyRetriever{}
	if o.Targets == nil {
		o.Targets = func(context.Context) apiv1.TargetRetriever { return empty }
	}
	if o.ScrapePools == nil {
		o.ScrapePools = func(context.Context) apiv1.ScrapePoolsRetriever { return empty }
	}
	if o.Rules == nil {
		o.Rules = func(context.Context) apiv1.RulesRetriever { return empty }
	}
	if o.Alertmanagers == nil {
		o.Alertmanagers = func(context.Context) apiv1.AlertmanagerRetriever { return empty }
	}
	if o.Config == nil {
		o.Config = func() promconfig.Config { return promconfig.DefaultConfig }
	}
	if o.LastReload == nil {
		o.LastReload = func() (bool, time.Time) { return true, o.StartTime }
	}
	version := o.Version
	runtimeInfo := func() (apiv1.RuntimeInfo, error) {
		ok, at := o.LastReload()
		cwd, _ := os.Getwd()
		host, _ := os.Hostname()
		return apiv1.RuntimeInfo{
			StartTime:           o.StartTime,
			CWD:                 cwd,
			Hostname:            host,
			ServerTime:          time.Now().UTC(),
			ReloadConfigSuccess: ok,
			LastConfigTime:      at,
			GoroutineCount:      runtime.NumGoroutine(),
			GOMAXPROCS:          runtime.GOMAXPROCS(0),
			GOGC:                os.Getenv("GOGC"),
			GODEBUG:             os.Getenv("GODEBUG"),
			StorageRetention:    retentionString(s.opts.Retention, s.opts.MaxBytes),
		}, nil
	}
	ready := func(f http.HandlerFunc) http.HandlerFunc { return f }
	var overrideErrorCode apiv1.OverrideErrorCode = unavailableIs503
	s.apiEngine = &boundedEngine{Engine: s.engine, timeout: s.opts.QueryTimeout, maxSamples: s.opts.QueryMaxSamples}
	api := apiv1.NewAPI(
		s.apiEngine, s.db, nil, s.db,
		o.ScrapePools, o.Targets, o.Alertmanagers,
		o.Config,
		map[string]string{},
		apiv1.GlobalURLOptions{ListenAddress: o.ListenAddress, Host: o.ListenAddress, Scheme: "http"},
		ready,
		adminStats{s.db, s.stats},
		s.opts.Dir,
		s.opts.AdminAPI,
		true, 1000,
		o.Logger.With("component", "api"),
		o.Rules,
		50_000_000, 10, 1048576,
		false,
		regexp.MustCompile(".*"),
		runtimeInfo,
		&version,
		nil, nil,
		o.Gatherer, o.Registerer,
		nil,
		false, nil,
		false, false, false,
		s.opts.LookbackDelta,
		false, false,
		overrideErrorCode,
		nil,
		apiv1.OpenAPIOptions{Version: version.Version},
		s.parser,
		false,
		s.opts.QueryTimeout,
	)
	r := route.New()
	if o.Wrap != nil {
		r = r.WithInstrumentation(func(name string, h http.HandlerFunc) http.HandlerFunc {
			return o.Wrap("/api/v1"+name, h)
		})
	}
	api.Register(r)
	// Prometheus serves /metadata from the scrape targets only; Vigil adds
	// the metadata of pushed data (remote write, OTLP).
	metadataHandler := http.Handler(s.serveMetadata(o.Targets))
	if o.Wrap != nil {
		metadataHandler = o.Wrap("/api/v1/metadata", metadataHandler.ServeHTTP)
	}
	// Its /status/flags lists a map fixed at start; Vigil's follow reloads.
	flagsHandler := http.Handler(serveFlags(o.Flags))
	if o.Wrap != nil {
		flagsHandler = o.Wrap("/api/v1/status/flags", flagsHandler.ServeHTTP)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		get := req.Method == http.MethodGet || req.Method == http.MethodHead
		switch {
		case get && req.URL.Path == "/metadata":
			metadataHandler.ServeHTTP(w, req)
			return
		case get && req.URL.Path == "/status/flags":
			flagsHandler.ServeHTTP(w, req)
			return
		}
		r.ServeHTTP(w, req)
	})
}

func serveFlags(flags func() map[string]string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		data := map[string]string{}
		if flags != nil {
			data = flags()
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": data})
	}
}

func retentionString(age time.Duration, size int64) string {
	s := ""
	if age > 0 {
		s = (time.Duration(age)).String()
	}
	if size > 0 {
		if s != "" {
			s += " or "
		}
		s += byteString(size)
	}
	return s
}

func byteString(b int64) string {
	const unit = 1024
	if b < unit {
		return formatInt(b) + "B"
	}
	div, exp := int64(unit), 0
	for n := b / unit; n >= unit; n /= unit {
		div *= unit
		exp++
	}
	return formatInt(b/div) + string("KMGTPE"[exp]) + "iB"
}

func formatInt(i int64) string { return strconv.FormatInt(i, 10) }

// adminStats adapts the TSDB to the API's status endpoints.
type adminStats struct {
	db    *tsdb.DB
	stats *tsdb.DBStats
}

func (a adminStats) CleanTombstones() error { return a.db.CleanTombstones() }
func (a adminStats) Delete(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) error {
	return a.db.Delete(ctx, mint, maxt, ms...)
}
func (a adminStats) Snapshot(dir string, withHead bool) error { return a.db.Snapshot(dir, withHead) }
func (a adminStats) Stats(statsByLabelName string, limit int) (*tsdb.Stats, error) {
	return a.db.Head().Stats(statsByLabelName, limit), nil
}
func (a adminStats) WALReplayStatus() (tsdb.WALReplayStatus, error) {
	return a.stats.Head.WALReplayStatus.GetWALReplayStatus(), nil
}
func (a adminStats) BlockMetas() ([]tsdb.BlockMeta, error) { return a.db.BlockMetas(), nil }

// emptyRetriever answers "nothing configured" for the optional retrievers.
type emptyRetriever struct{}

func (emptyRetriever) TargetsActive() map[string][]*scrape.Target  { return nil }
func (emptyRetriever) TargetsDropped() map[string][]*scrape.Target { return nil }
func (emptyRetriever) TargetsDroppedCounts() map[string]int        { return nil }
func (emptyRetriever) ScrapePoolConfig(string) (*promconfig.ScrapeConfig, error) {
	return nil, errors.New("no scrape pools configured")
}
func (emptyRetriever) ScrapePools() []string                { return nil }
func (emptyRetriever) Alertmanagers() []*url.URL            { return nil }
func (emptyRetriever) DroppedAlertmanagers() []*url.URL     { return nil }
func (emptyRetriever) RuleGroups() []*rules.Group           { return nil }
func (emptyRetriever) AlertingRules() []*rules.AlertingRule { return nil }
