package alerting

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/alertmanager/alert"
	v2 "github.com/prometheus/alertmanager/api/v2"
	amconfig "github.com/prometheus/alertmanager/config"
	"github.com/prometheus/alertmanager/config/receiver"
	"github.com/prometheus/alertmanager/dispatch"
	"github.com/prometheus/alertmanager/eventrecorder"
	"github.com/prometheus/alertmanager/featurecontrol"
	"github.com/prometheus/alertmanager/inhibit"
	"github.com/prometheus/alertmanager/labelset"
	"github.com/prometheus/alertmanager/marker"
	"github.com/prometheus/alertmanager/nflog"
	"github.com/prometheus/alertmanager/nflog/nflogpb"
	"github.com/prometheus/alertmanager/notify"
	"github.com/prometheus/alertmanager/provider/mem"
	"github.com/prometheus/alertmanager/silence"
	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/alertmanager/timeinterval"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
)

// router is Vigil's Alertmanager: Alertmanager's own packages for the
// alert store, route tree, grouping, inhibition, silences, time intervals,
// notification log, integrations and API v2, with the retry stage replaced
// by the outbox and the mute stages observed by the ledger. Everything that
// depends on Alertmanager's package layout lives in this file, so an
// upgrade touches one file.
type router struct {
	logger *slog.Logger
	// incidentChannel is Options.IncidentChannel (intake.go).
	incidentChannel string
	dataDir         string
	ledger          *ledger
	delivery        *delivery
	ff              featurecontrol.Flagger
	rec             eventrecorder.Recorder
	extURL          *url.URL
	nmetrics        *notify.Metrics
	dmetrics        *dispatch.DispatcherMetrics

	silences *silence.Silences
	nflog    *nflog.Log
	alerts   *mem.Alerts
	silencer *silence.Silencer
	api      *v2.API
	apiH     http.Handler

	reloadMu   sync.Mutex
	dispatcher atomic.Pointer[dispatch.Dispatcher]
	inhibitor  atomic.Pointer[inhibit.Inhibitor]
	receivers  atomic.Pointer[map[string][]notify.Integration]
	cfg        atomic.Pointer[amconfig.Config]
	dump       atomic.Pointer[string] // the configuration as the status API shows it

	decisionsMu sync.Mutex
	decisions   map[string]string // fingerprint/receiver -> last recorded routing decision

	snapMu sync.Mutex
	stopc  chan struct{}
	wg     sync.WaitGroup
	start  time.Time
}

const maintenanceInterval = 15 * time.Minute

func newRouter(dataDir string, logger *slog.Logger, reg prometheus.Registerer, l *ledger, extURL *url.URL, retention time.Duration) (*router, error) {
	r := &router{
		logger: logger, dataDir: dataDir, ledger: l, ff: featurecontrol.NoopFlags{}, rec: eventrecorder.NopRecorder(),
		extURL: extURL, decisions: map[string]string{}, stopc: make(chan struct{}), start: time.Now(),
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create alerting data dir: %w", err)
	}
	var err error
	r.nflog, err = nflog.New(nflog.Options{
		SnapshotFile: filepath.Join(dataDir, "nflog"),
		Retention:    retention,
		Logger:       logger.With("component", "nflog"),
		Metrics:      reg,
	})
	if err != nil {
		return nil, fmt.Errorf("open notification log: %w", err)
	}
	r.silences, err = silence.New(silence.Options{
		SnapshotFile:  filepath.Join(dataDir, "silences"),
		Retention:     retention,
		Logger:        logger.With("component", "silences"),
		Metrics:       reg,
		EventRecorder: r.rec,
	})
	if err != nil {
		return nil, fmt.Errorf("open silences: %w", err)
	}
	r.silencer = silence.NewSilencer(r.silences, logger, r.rec)
	r.alerts, err = mem.NewAlerts(context.Background(), 30*time.Minute, 0, r.silencer, logger, r.rec, reg, r.ff)
	if err != nil {
		return nil, fmt.Errorf("create alert store: %w", err)
	}
	r.nmetrics = notify.NewMetrics(reg, r.ff)
	r.dmetrics = dispatch.NewDispatcherMetrics(false, reg, r.ff)
	r.api, err = v2.NewAPI(&apiAlerts{Alerts: r.alerts, ledger: l, logger: logger}, r.groups, r.silences, nil, logger.With("component", "api"), reg)
	if err != nil {
		r.alerts.Close()
		return nil, fmt.Errorf("create Alertmanager API: %w", err)
	}
	empty := ""
	r.dump.Store(&empty)
	r.apiH = amtoolStatus(r.persistSilences(r.api.Handler), func() string { return *r.dump.Load() })
	r.wg.Go(func() {
		r.nflog.Maintenance(time.Minute, filepath.Join(dataDir, "nflog"), r.stopc, nil)
	})
	r.wg.Go(func() {
		r.silences.Maintenance(maintenanceInterval, filepath.Join(dataDir, "silences"), r.stopc, nil)
	})
	return r, nil
}

// persistSilences writes the silences snapshot as soon as an API request
// changed them, so a silence survives a crash and not only a clean stop.
func (r *router) persistSilences(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h.ServeHTTP(w, req)
		if req.Method != http.MethodGet && strings.Contains(req.URL.Path, "/silence") {
			if err := r.snapshotSilences(); err != nil {
				r.logger.Error("write silences snapshot", "err", err)
			}
		}
	})
}

func (r *router) snapshotSilences() error {
	r.snapMu.Lock()
	defer r.snapMu.Unlock()
	return writeAtomic(filepath.Join(r.dataDir, "silences"), func(w io.Writer) error {
		_, err := r.silences.Snapshot(w)
		return err
	})
}

func writeAtomic(path string, write func(io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func (r *router) groups(ctx context.Context, rf func(*dispatch.Route) bool, af dispatch.AlertFilter) (dispatch.AlertGroups, map[model.Fingerprint][]string, error) {
	d := r.dispatcher.Load()
	if d == nil {
		return nil, map[model.Fingerprint][]string{}, nil
	}
	return d.Groups(ctx, rf, af)
}

// integration finds a configured integration for the outbox.
func (r *router) integration(recv, name string, idx int) (*notify.Integration, bool) {
	m := r.receivers.Load()
	if m == nil {
		return nil, false
	}
	for i, in := range (*m)[recv] {
		if in.Name() == name && in.Index() == idx {
			return &(*m)[recv][i], true
		}
	}
	return nil, false
}

// apply builds the route tree, receivers, inhibitor and pipeline for conf
// and swaps them in. On error nothing changes.
func (r *router) apply(conf *amconfig.Config, text string) error {
	commit, err := r.prepare(conf, text, nil)
	if err != nil {
		return err
	}
	commit()
	return nil
}

// prepare builds everything conf needs that can fail (templates,
// integrations); the commit it returns swaps the routing over and cannot
// fail. text is the configuration as written (for the API's config dump);
// incident lists the receivers that also hand their groups to on-call.
func (r *router) prepare(conf *amconfig.Config, text string, incident []string) (commit func(), err error) {
	tmpl, err := template.FromGlobs(conf.Templates)
	if err != nil {
		return nil, fmt.Errorf("parse notification templates: %w", err)
	}
	tmpl.ExternalURL = r.extURL
	routes := dispatch.NewRoute(conf.Route, nil)
	active := map[string]bool{}
	routes.Walk(func(rt *dispatch.Route) { active[rt.RouteOpts.Receiver] = true })
	receivers := map[string][]notify.Integration{}
	for _, rcv := range conf.Receivers {
		if !active[rcv.Name] {
			continue
		}
		integrations, err := receiver.BuildReceiverIntegrations(rcv, tmpl, r.logger)
		if err != nil {
			return nil, fmt.Errorf("receiver %q: %w", rcv.Name, err)
		}
		receivers[rcv.Name] = integrations
	}
	return func() { r.commit(conf, text, tmpl, routes, receivers, incident) }, nil
}

func (r *router) commit(conf *amconfig.Config, text string, tmpl *template.Template, routes *dispatch.Route, receivers map[string][]notify.Integration, incident []string) {
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	active := map[string]bool{}
	routes.Walk(func(rt *dispatch.Route) { active[rt.RouteOpts.Receiver] = true })
	intervals := map[string][]timeinterval.TimeInterval{}
	for _, ti := range conf.MuteTimeIntervals {
		intervals[ti.Name] = ti.TimeIntervals
	}
	for _, ti := range conf.TimeIntervals {
		intervals[ti.Name] = ti.TimeIntervals
	}
	intervener := timeinterval.NewIntervener(intervals)

	if old := r.inhibitor.Load(); old != nil {
		old.Stop()
	}
	if old := r.dispatcher.Load(); old != nil {
		old.Stop()
	}
	inhibitor := inhibit.NewInhibitor(r.alerts, conf.InhibitRules, r.logger, r.rec)

	stages := notify.RoutingStage{}
	for name, integrations := range receivers {
		var fan notify.FanoutStage
		for i := range integrations {
			in := integrations[i]
			recv := &nflogpb.Receiver{GroupName: name, Integration: in.Name(), Idx: uint32(in.Index())}
			fan = append(fan, notify.MultiStage{
				notify.NewDedupStage(&in, r.nflog, recv),
				&outboxStage{d: r.delivery, receiver: name, integration: in},
				notify.NewSetNotifiesStage(r.nflog, recv, r.ff),
			})
		}
		stages[name] = &routeStage{
			r:        r,
			receiver: name,
			mutes: notify.MultiStage{
				notify.NewMuteStage(inhibitor, r.nmetrics),
				notify.NewTimeActiveStage(intervener, r.nmetrics),
				notify.NewTimeMuteStage(intervener, r.nmetrics),
				notify.NewMuteStage(r.silencer, r.nmetrics),
			},
			next: fan,
		}
	}
	// Receivers without integrations still get the mute stages, so the
	// ledger shows routing and muting for them too.
	for name := range active {
		if _, ok := stages[name]; !ok {
			stages[name] = &routeStage{r: r, receiver: name, mutes: notify.MultiStage{
				notify.NewMuteStage(inhibitor, r.nmetrics),
				notify.NewTimeActiveStage(intervener, r.nmetrics),
				notify.NewTimeMuteStage(intervener, r.nmetrics),
				notify.NewMuteStage(r.silencer, r.nmetrics),
			}}
		}
	}
	// Incident receivers also hand their groups to on-call (intake.go).
	for _, name := range incident {
		rs, ok := stages[name].(*routeStage)
		if !ok || r.incidentChannel == "" {
			continue
		}
		in := &intakeStage{r: r, channel: r.incidentChannel, receiver: name, tmpl: tmpl}
		if fan, ok := rs.next.(notify.FanoutStage); ok {
			rs.next = append(fan, in)
		} else {
			rs.next = notify.FanoutStage{in}
		}
	}
	r.nmetrics.InitializeFor(receivers)
	r.receivers.Store(&receivers)
	r.cfg.Store(conf)
	if text == "" {
		text = conf.String()
	}
	dump := dumpConfig(text)
	r.dump.Store(&dump)
	r.api.Update(conf, func(ctx context.Context, ls labelset.LabelSet) {
		if in := r.inhibitor.Load(); in != nil {
			in.Mutes(ctx, ls)
		}
		r.silencer.Mutes(ctx, ls)
	})
	timeout := func(d time.Duration) time.Duration { return max(d, notify.MinTimeout) }
	d := dispatch.NewDispatcher(r.alerts, routes, stages, intervener, timeout, 30*time.Second, nil, r.logger, r.rec, r.dmetrics, tmpl)
	go inhibitor.Run()
	inhibitor.WaitForLoading()
	r.inhibitor.Store(inhibitor)
	go d.Run(time.Time{})
	d.WaitForLoading()
	r.dispatcher.Store(d)
}

// put hands alerts to the alert store (from the rules manager).
func (r *router) put(ctx context.Context, alerts ...*alert.Alert) error {
	return r.alerts.Put(ctx, alerts...)
}

func (r *router) stop() {
	if in := r.inhibitor.Load(); in != nil {
		in.Stop()
	}
	if d := r.dispatcher.Load(); d != nil {
		d.Stop()
	}
	close(r.stopc) // the maintenance loops write their final snapshots
	r.wg.Wait()
	r.alerts.Close()
}

// routeStage runs the mute stages of one receiver and records in the ledger
// what happened to each alert: routed on, or stopped by which silence,
// inhibition or time interval. A decision is recorded when it changes, not
// at every group_interval.
type routeStage struct {
	r        *router
	receiver string
	mutes    notify.Stage
	next     notify.Stage
}

func (s *routeStage) Exec(ctx context.Context, l *slog.Logger, alerts ...*alert.Alert) (context.Context, []*alert.Alert, error) {
	ctx, out, err := s.mutes.Exec(ctx, l, alerts...)
	if err != nil {
		return ctx, out, err
	}
	s.record(ctx, alerts, out)
	if len(out) == 0 || s.next == nil {
		return ctx, out, nil
	}
	return s.next.Exec(ctx, l, out...)
}

func (s *routeStage) record(ctx context.Context, in, out []*alert.Alert) {
	passed := make(map[model.Fingerprint]bool, len(out))
	for _, a := range out {
		passed[a.Fingerprint()] = true
	}
	mk, _ := marker.FromContext(ctx)
	gk, _ := notify.GroupKey(ctx)
	var evs []Event
	s.r.decisionsMu.Lock()
	for _, a := range in {
		fp := a.Fingerprint()
		status := "firing"
		if a.Resolved() {
			status = "resolved"
		}
		kind, detail := KindRouted, fmt.Sprintf("%s alert routed to receiver %q", status, s.receiver)
		if !passed[fp] && a.Resolved() {
			// A resolved alert pages no one: that a silence or an
			// inhibition (which may have fired again since) stops its
			// resolution is noise in its history.
			continue
		}
		if !passed[fp] {
			var st alert.AlertStatus
			if mk != nil {
				st = mk.Status(fp)
			}
			switch {
			case len(st.InhibitedBy) > 0:
				kind, detail = KindInhibited, fmt.Sprintf("inhibited by alert(s) %s; receiver %q not notified", strings.Join(st.InhibitedBy, ", "), s.receiver)
			case len(st.SilencedBy) > 0:
				kind, detail = KindSilenced, fmt.Sprintf("silenced by %s; receiver %q not notified", strings.Join(st.SilencedBy, ", "), s.receiver)
			default:
				kind, detail = KindTimeMuted, fmt.Sprintf("outside the route's active time intervals or inside a mute time interval; receiver %q not notified", s.receiver)
			}
		}
		key := fp.String() + "/" + s.receiver
		decision := kind + "|" + detail
		if s.r.decisions[key] == decision {
			continue
		}
		if len(s.r.decisions) > 200000 {
			// Bound memory; the cost is re-recording some decisions.
			clear(s.r.decisions)
		}
		s.r.decisions[key] = decision
		e := eventFor(a.Labels, kind, detail)
		e.Receiver, e.GroupKey = s.receiver, gk
		evs = append(evs, e)
	}
	s.r.decisionsMu.Unlock()
	if err := s.r.ledger.record(context.WithoutCancel(ctx), s.receiver, evs...); err != nil {
		s.r.logger.Error("record routing decisions", "err", err)
	}
}

// apiAlerts records alerts posted through the Alertmanager API in the
// ledger when they are new or change between firing and resolved.
type apiAlerts struct {
	*mem.Alerts
	ledger *ledger
	logger *slog.Logger
}

func (a *apiAlerts) Put(ctx context.Context, alerts ...*alert.Alert) error {
	var evs []Event
	for _, al := range alerts {
		old, err := a.Alerts.Get(al.Fingerprint())
		if err == nil && old.Resolved() == al.Resolved() {
			continue
		}
		status := "firing"
		if al.Resolved() {
			status = "resolved"
		}
		evs = append(evs, eventFor(al.Labels, KindReceived, fmt.Sprintf("%s alert received through the Alertmanager API", status)))
	}
	if err := a.Alerts.Put(ctx, alerts...); err != nil {
		return err
	}
	if err := a.ledger.record(context.WithoutCancel(ctx), "api", evs...); err != nil {
		a.logger.Error("record received alerts", "err", err)
	}
	return nil
}
