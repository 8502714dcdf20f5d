package probes

import (
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"time"

	bbconfig "github.com/prometheus/blackbox_exporter/config"
	"github.com/prometheus/blackbox_exporter/prober"
	"github.com/prometheus/common/promslog"

	"github.com/vigilhq/vigil/internal/apierr"
	"github.com/vigilhq/vigil/internal/route"
)

// Routes are the probe API's routes; the status page's come from
// package statuspage.
func (m *Manager) Routes() []route.Route {
	return []route.Route{
		route.Func("GET", "/probe", route.Read, m.serveProbe, "blackbox exporter /probe?target=&module=[&debug=true]: a Prometheus can scrape Vigil instead of the exporter"),
		route.Func("GET", "/vigil/api/v1/probes", route.Read, m.serveList, "every probe with its last result (and the log of a failing run)"),
		route.Func("GET", "/vigil/api/v1/probes/{name}", route.Read, m.serveOne, "one probe's last result with the log of its last run"),
		route.Func("POST", "/vigil/api/v1/probes/{name}/run", route.Write, m.serveRunNow, "run a probe now and return the result"),
	}
}

func (m *Manager) errw() apierr.Writer { return apierr.Writer{Logger: m.log} }

func (m *Manager) jsonErr(w http.ResponseWriter, r *http.Request, err error) {
	m.errw().JSON(w, r, err, func(rep apierr.Reply) any {
		return map[string]any{"status": "error", "errorType": rep.Code, "error": rep.Message}
	})
}

// serveProbe is the blackbox exporter's own handler over the configured
// modules, so answers (metrics, debug output, errors) are the exporter's.
func (m *Manager) serveProbe(w http.ResponseWriter, r *http.Request) {
	lvl := promslog.NewLevel()
	_ = lvl.Set("debug")
	cfg := &bbconfig.Config{Modules: m.Modules()}
	prober.Handler(w, r, cfg, m.log, m.history, 0.5, nil, m.metrics.unknownModule, &promslog.Config{Level: lvl, Writer: io.Discard})
}

// ProbeView is one probe as the API shows it.
type ProbeView struct {
	Name     string            `json:"name"`
	Target   string            `json:"target"`
	Module   string            `json:"module"`
	Prober   string            `json:"prober"`
	Group    string            `json:"group,omitempty"`
	Interval string            `json:"interval"`
	Timeout  string            `json:"timeout"`
	Labels   map[string]string `json:"labels"`
	Last     *ResultView       `json:"last"`
}

// ResultView is a Result as the API shows it.
type ResultView struct {
	*Result
	DurationSeconds float64 `json:"duration_seconds"`
}

// State is one probe's settings and last result (nil before its first
// run).
type State struct {
	Target Target
	Last   *Result
}

// States returns every probe's state, sorted by name.
func (m *Manager) States() []State {
	m.mu.Lock()
	es := make([]*entry, 0, len(m.entries))
	for _, e := range m.entries {
		es = append(es, e)
	}
	m.mu.Unlock()
	out := make([]State, 0, len(es))
	for _, e := range es {
		e.mu.Lock()
		out = append(out, State{Target: *e.target, Last: e.last})
		e.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Target.Name < out[j].Target.Name })
	return out
}

// view shows a probe; its last result carries the run's log only when the
// run failed (a successful run keeps none).
func view(s State) ProbeView {
	t := s.Target
	v := ProbeView{Name: t.Name, Target: t.Target, Module: t.ModuleName, Prober: t.Module.Prober, Group: t.Group,
		Interval: t.Interval.String(), Timeout: t.Timeout.String(), Labels: t.Labels.Map()}
	if s.Last != nil {
		r := *s.Last
		v.Last = &ResultView{Result: &r, DurationSeconds: r.Duration.Seconds()}
	}
	return v
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (m *Manager) serveList(w http.ResponseWriter, r *http.Request) {
	states := m.States()
	out := make([]ProbeView, 0, len(states))
	for _, s := range states {
		out = append(out, view(s))
	}
	writeJSON(w, map[string]any{"status": "success", "data": out})
}

func (m *Manager) state(name string) (State, bool) {
	m.mu.Lock()
	e := m.entries[name]
	m.mu.Unlock()
	if e == nil {
		return State{}, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return State{Target: *e.target, Last: e.last}, true
}

func (m *Manager) serveOne(w http.ResponseWriter, r *http.Request) {
	s, ok := m.state(r.PathValue("name"))
	if !ok {
		m.jsonErr(w, r, apierr.New(apierr.NotFound, "no probe named %q; GET /vigil/api/v1/probes lists them", r.PathValue("name")))
		return
	}
	writeJSON(w, map[string]any{"status": "success", "data": view(s)})
}

// serveRunNow runs a probe at once (outside its schedule, but never while
// it is already running) and records the result as its last.
func (m *Manager) serveRunNow(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	m.mu.Lock()
	e := m.entries[name]
	m.mu.Unlock()
	if e == nil {
		m.jsonErr(w, r, apierr.New(apierr.NotFound, "no probe named %q; GET /vigil/api/v1/probes lists them", name))
		return
	}
	if !e.running.CompareAndSwap(false, true) {
		m.jsonErr(w, r, apierr.New(apierr.Conflict, "probe %q is running now; its result will be in GET /vigil/api/v1/probes/%s", name, name))
		return
	}
	defer e.running.Store(false)
	e.mu.Lock()
	t := e.target
	e.mu.Unlock()
	res := m.run(r.Context(), t, m.opts.Clock.Now())
	m.record(r.Context(), e, t, res)
	writeJSON(w, map[string]any{"status": "success", "data": view(State{Target: *t, Last: res})})
}

// nextRun is when a probe runs next (for tests and the API).
func (m *Manager) nextRun(name string) (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entries[name]
	if e == nil {
		return time.Time{}, false
	}
	return e.next, true
}
