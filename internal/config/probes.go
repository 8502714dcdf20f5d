package config

import (
	"bytes"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	bbconfig "github.com/prometheus/blackbox_exporter/config"
	"github.com/prometheus/common/model"
	bbyaml "go.yaml.in/yaml/v3"
	"gopkg.in/yaml.v3"

	"github.com/vigilhq/vigil/internal/probes/condition"
)

// Probes configures synthetic probes and the public status page.
//
//	probes:
//	  modules_file: /etc/prometheus/blackbox.yml   # the blackbox exporter's file, as it is
//	  modules:                     # or inline, in the same format (wins over the file for a name)
//	    http_2xx: {prober: http, timeout: 5s}
//	  interval: 30s                # default for targets
//	  max_concurrent: 100          # runs in flight
//	  job: probes                  # default job label
//	  targets:
//	    - name: api                # default: the target
//	      target: https://api.example.com/health
//	      module: http_2xx         # default http_2xx
//	      interval: 30s
//	      timeout: 5s              # default: the module's timeout, else 10s
//	      labels: {team: payments}
//	      group: API               # status page group
//	      conditions: ["[STATUS] == 200", "[BODY].status == UP"]
//	  status_page:
//	    title: Example status
//	    description: Live status of Example's services
//	    logo: logo.png             # an image file, served from /status/logo
//	    uptime_days: 90
//	    groups:
//	      - name: API
//	        probes: [api]
//	    maintenance:
//	      - title: Database upgrade
//	        start: 2026-12-01T22:00:00Z
//	        end: 2026-12-01T23:00:00Z
//	        probes: [api]          # or groups: [API]; neither: every probe on the page
type Probes struct {
	ModulesFile   string        `yaml:"modules_file"`
	Modules       yaml.Node     `yaml:"modules"`
	Interval      Duration      `yaml:"interval"`
	Timeout       Duration      `yaml:"timeout"`
	MaxConcurrent int           `yaml:"max_concurrent"`
	Job           string        `yaml:"job"`
	Targets       []ProbeTarget `yaml:"targets"`
	StatusPage    StatusPage    `yaml:"status_page"`

	// Parsed holds every module (built-in, file, inline) after validation.
	Parsed map[string]bbconfig.Module `yaml:"-"`
}

// ProbeTarget is one probe.
type ProbeTarget struct {
	Name       string            `yaml:"name"`
	Target     string            `yaml:"target"`
	Module     string            `yaml:"module"`
	Interval   Duration          `yaml:"interval"`
	Timeout    Duration          `yaml:"timeout"`
	Job        string            `yaml:"job"`
	Labels     map[string]string `yaml:"labels"`
	Group      string            `yaml:"group"`
	Conditions []string          `yaml:"conditions"`
}

// StatusPage is what /status shows: only the groups and probes listed.
type StatusPage struct {
	Title       string             `yaml:"title"`
	Description string             `yaml:"description"`
	Logo        string             `yaml:"logo"`
	UptimeDays  int                `yaml:"uptime_days"`
	Groups      []StatusGroup      `yaml:"groups"`
	Maintenance []MaintenanceEntry `yaml:"maintenance"`

	// LogoData is the logo file's content, read at load.
	LogoData []byte `yaml:"-"`
}

// StatusGroup is a group of probes on the status page.
type StatusGroup struct {
	Name   string   `yaml:"name"`
	Probes []string `yaml:"probes"`
}

// MaintenanceEntry is a scheduled maintenance window: shown on the status
// page, and probe runs inside it do not count against uptime.
type MaintenanceEntry struct {
	Title   string    `yaml:"title"`
	Message string    `yaml:"message"`
	Start   time.Time `yaml:"start"`
	End     time.Time `yaml:"end"`
	Probes  []string  `yaml:"probes"`
	Groups  []string  `yaml:"groups"`
}

// DefaultProbeModule is the module of a target that names none, as the
// blackbox exporter's /probe defaults to it.
const DefaultProbeModule = "http_2xx"

// builtinModules are there unless the file or the inline modules define
// the same names (the blackbox exporter's example modules).
const builtinModules = `modules:
  http_2xx:
    prober: http
  http_post_2xx:
    prober: http
    http:
      method: POST
  tcp_connect:
    prober: tcp
  icmp:
    prober: icmp
  grpc:
    prober: grpc
    grpc:
      tls: false
  dns_udp:
    prober: dns
    dns:
      query_name: localhost
`

func (x *Probes) setDefaults() {
	if x.Interval == 0 {
		x.Interval = Duration(30 * time.Second)
	}
	if x.MaxConcurrent == 0 {
		x.MaxConcurrent = 100
	}
	if x.Job == "" {
		x.Job = "probes"
	}
	if x.StatusPage.UptimeDays == 0 {
		x.StatusPage.UptimeDays = 90
	}
	if x.StatusPage.Title == "" {
		x.StatusPage.Title = "Status"
	}
	for i := range x.Targets {
		t := &x.Targets[i]
		if t.Name == "" {
			t.Name = t.Target
		}
		if t.Module == "" {
			t.Module = DefaultProbeModule
		}
		if t.Interval == 0 {
			t.Interval = x.Interval
		}
		if t.Timeout == 0 {
			t.Timeout = x.Timeout
		}
		if t.Job == "" {
			t.Job = x.Job
		}
	}
}

// validate parses the modules (every error with its file and line), and
// checks targets, conditions and the status page. c is the whole file, for
// the inline modules' text and the modules file's directory.
func (x *Probes) validate(c *Config) []FieldError {
	var errs []FieldError
	x.Parsed = map[string]bbconfig.Module{}
	builtin, err := parseModules([]byte(builtinModules))
	if err != nil {
		panic(fmt.Sprintf("built-in probe modules invalid: %v", err))
	}
	for k, v := range builtin {
		x.Parsed[k] = v
	}
	if x.ModulesFile != "" {
		path := x.ModulesFile
		if !filepath.IsAbs(path) && c.File != "" {
			path = filepath.Join(filepath.Dir(c.File), path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, FieldError{Field: "modules_file", Msg: fmt.Sprintf("read blackbox modules: %v", err)})
		} else if mods, err := parseModules(b); err != nil {
			errs = append(errs, moduleErrors(path, b, err)...)
		} else {
			errs = append(errs, checkProbers(mods, path, b, "")...)
			for k, v := range mods {
				x.Parsed[k] = v
			}
		}
	}
	if x.Modules.Kind != 0 && !(x.Modules.Kind == yaml.ScalarNode && x.Modules.Tag == "!!null") {
		if x.Modules.Kind != yaml.MappingNode {
			errs = append(errs, FieldError{Field: "modules", Line: x.Modules.Line, Msg: "must be a mapping of module names to modules, as under modules: in blackbox.yml"})
		} else if text := c.inlineModulesText(); true {
			mods, err := parseModules(text)
			for _, e := range moduleErrors("", text, err) {
				e.Field = "modules"
				if e.Line == 0 {
					e.Line = x.Modules.Line
				}
				errs = append(errs, e)
			}
			errs = append(errs, checkProbers(mods, "", text, "modules")...)
			for k, v := range mods {
				x.Parsed[k] = v
			}
		}
	}
	if x.Interval <= 0 {
		errs = append(errs, FieldError{Field: "interval", Msg: "must be positive"})
	}
	if x.MaxConcurrent < 0 {
		errs = append(errs, FieldError{Field: "max_concurrent", Msg: "must not be negative"})
	}
	names := map[string]bool{}
	series := map[string]string{} // a probe's label set -> its name
	for i, t := range x.Targets {
		field := fmt.Sprintf("targets.%d", i)
		errs = append(errs, x.validateTarget(field, t, names)...)
		key := probeSeriesKey(t)
		if other, ok := series[key]; ok && t.Target != "" {
			errs = append(errs, FieldError{Field: field, Msg: fmt.Sprintf("probe %q would write the same series as probe %q (%s): two probes of one target need a label or job that tells them apart, e.g. labels: {module: %s}", t.Name, other, key, t.Module)})
		} else if !ok {
			series[key] = t.Name
		}
	}
	errs = append(errs, x.StatusPage.validate(c, names)...)
	return errs
}

func (x *Probes) validateTarget(field string, t ProbeTarget, names map[string]bool) []FieldError {
	var errs []FieldError
	add := func(f, format string, args ...any) {
		errs = append(errs, FieldError{Field: field + f, Msg: fmt.Sprintf(format, args...)})
	}
	if t.Target == "" {
		add(".target", "missing: want what the module probes (a URL for http, host:port for tcp and grpc, a host for icmp and dns)")
		return errs
	}
	if names[t.Name] {
		add(".name", "probe %q is defined twice; names must be unique (a target's name defaults to the target)", t.Name)
	}
	names[t.Name] = true
	mod, ok := x.Parsed[t.Module]
	if !ok {
		add(".module", "unknown module %q; want one of %s", t.Module, strings.Join(sortedModuleNames(x.Parsed), ", "))
	} else if err := checkProbeTarget(mod.Prober, t.Target); err != nil {
		add(".target", "%v", err)
	}
	if t.Interval <= 0 {
		add(".interval", "must be positive")
	}
	if t.Timeout < 0 {
		add(".timeout", "must not be negative")
	}
	for k := range t.Labels {
		if !model.LabelName(k).IsValidLegacy() || strings.HasPrefix(k, "__") {
			add(".labels", "invalid label name %q: want letters, digits and _, not starting with a digit or __", k)
		}
	}
	for j, text := range t.Conditions {
		if _, err := condition.Parse(text); err != nil {
			add(fmt.Sprintf(".conditions.%d", j), "%v", err)
		}
	}
	return errs
}

// probeSeriesKey is the label set a target's samples carry (job,
// instance = the target, then its labels, which may override both).
func probeSeriesKey(t ProbeTarget) string {
	ls := model.LabelSet{"job": model.LabelValue(t.Job), "instance": model.LabelValue(t.Target)}
	for k, v := range t.Labels {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	return ls.String()
}

// checkProbeTarget checks a target has the form its prober takes.
func checkProbeTarget(prober, target string) error {
	switch prober {
	case "http":
		u := target
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			u = "http://" + u // as the blackbox exporter does
		}
		p, err := url.Parse(u)
		if err != nil || p.Host == "" {
			return fmt.Errorf("invalid URL %q: want e.g. https://example.com/health", target)
		}
	case "websocket":
		p, err := url.Parse(target)
		if err != nil || (p.Scheme != "ws" && p.Scheme != "wss") || p.Host == "" {
			return fmt.Errorf("invalid websocket URL %q: want ws://host/path or wss://host/path", target)
		}
	case "tcp":
		if _, port, err := net.SplitHostPort(target); err != nil || port == "" {
			return fmt.Errorf("invalid target %q for tcp: want host:port", target)
		}
	case "grpc":
		t := target
		if p, err := url.Parse(target); err == nil && p.Host != "" {
			t = p.Host
		}
		if _, port, err := net.SplitHostPort(t); err != nil || port == "" {
			return fmt.Errorf("invalid target %q for grpc: want host:port", target)
		}
	case "dns", "icmp":
		h := target
		if host, _, err := net.SplitHostPort(target); err == nil {
			if prober == "icmp" {
				return fmt.Errorf("invalid target %q for icmp: want a host without a port", target)
			}
			h = host
		}
		if h == "" || strings.ContainsAny(h, "/ ") {
			return fmt.Errorf("invalid target %q for %s: want a host name or IP address", target, prober)
		}
	case "unix":
		if target == "" {
			return fmt.Errorf("missing socket path")
		}
	}
	return nil
}

// probers are the blackbox exporter's (prober.Probers).
var probers = []string{"http", "tcp", "icmp", "dns", "grpc", "unix", "websocket"}

// checkProbers reports modules whose prober the exporter does not have (it
// would only notice at probe time).
func checkProbers(mods map[string]bbconfig.Module, file string, text []byte, field string) []FieldError {
	var errs []FieldError
	for _, name := range sortedModuleNames(mods) {
		p := mods[name].Prober
		ok := false
		for _, q := range probers {
			ok = ok || p == q
		}
		if ok {
			continue
		}
		fe := FieldError{File: file, Field: field, Msg: fmt.Sprintf("blackbox module %q: unknown prober %q; want one of %s", name, p, strings.Join(probers, ", "))}
		re := regexp.MustCompile(`^\s*prober:\s*['"]?` + regexp.QuoteMeta(p) + `['"]?\s*(#.*)?$`)
		for i, l := range strings.Split(string(text), "\n") {
			if re.MatchString(l) {
				fe.Line = i + 1
				break
			}
		}
		errs = append(errs, fe)
	}
	return errs
}

func sortedModuleNames(m map[string]bbconfig.Module) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// parseModules parses blackbox.yml text with the blackbox exporter's own
// types, decoder settings (unknown keys are errors) and checks.
func parseModules(b []byte) (map[string]bbconfig.Module, error) {
	var c bbconfig.Config
	dec := bbyaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && err.Error() != "EOF" {
		return nil, err
	}
	return c.Modules, nil
}

var (
	bbLineRE  = regexp.MustCompile(`line (\d+): (.*)`)
	bbValueRE = regexp.MustCompile(`(?:regexp|expression)="((?:[^"\\]|\\.)*)"`)
)

// moduleErrors splits a blackbox decode error into one FieldError a line.
// The exporter's own checks (regexps, CEL) name the value but no line: the
// line is then the first that holds the value.
func moduleErrors(file string, text []byte, err error) []FieldError {
	if err == nil {
		return nil
	}
	var out []FieldError
	for _, msg := range strings.Split(strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n"), "\n") {
		msg = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(msg), "yaml: "))
		if msg == "" {
			continue
		}
		fe := FieldError{File: file, Msg: "blackbox module: " + msg}
		if m := bbLineRE.FindStringSubmatch(msg); m != nil {
			fe.Line, _ = strconv.Atoi(m[1])
			fe.Msg = "blackbox module: " + m[2]
		} else if m := bbValueRE.FindStringSubmatch(msg); m != nil {
			v, uerr := strconv.Unquote(`"` + m[1] + `"`)
			if uerr != nil {
				v = m[1]
			}
			for i, l := range strings.Split(string(text), "\n") {
				if strings.Contains(l, v) {
					fe.Line = i + 1
					break
				}
			}
		}
		out = append(out, fe)
	}
	return out
}

// inlineModulesText is probes.modules as a blackbox.yml of its own whose
// lines are the config file's: every other line is blank, and the key
// line starts at "modules:".
func (c *Config) inlineModulesText() []byte {
	if c.root == nil {
		return nil
	}
	probes := mappingValue(c.root, "probes")
	if probes == nil {
		return nil
	}
	var key *yaml.Node
	end := 0 // first line after the value (0: end of file)
	for i := 0; i+1 < len(probes.Content); i += 2 {
		if key != nil {
			end = probes.Content[i].Line
			break
		}
		if probes.Content[i].Value == "modules" {
			key = probes.Content[i]
		}
	}
	if key == nil {
		return nil
	}
	if end == 0 {
		// The next top-level key after probes ends it.
		for i := 0; i+1 < len(c.root.Content); i += 2 {
			if c.root.Content[i+1] == probes && i+2 < len(c.root.Content) {
				end = c.root.Content[i+2].Line
			}
		}
	}
	lines := strings.Split(string(c.raw), "\n")
	if end == 0 || end > len(lines)+1 {
		end = len(lines) + 1
	}
	out := make([]string, len(lines))
	for l := key.Line; l < end; l++ {
		out[l-1] = lines[l-1]
	}
	if k := key.Line - 1; k < len(out) && key.Column-1 <= len(out[k]) {
		out[k] = out[k][key.Column-1:]
	}
	return []byte(strings.Join(out, "\n"))
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func (s *StatusPage) validate(c *Config, probes map[string]bool) []FieldError {
	var errs []FieldError
	if s.UptimeDays < 1 || s.UptimeDays > 366 {
		errs = append(errs, FieldError{Field: "status_page.uptime_days", Msg: fmt.Sprintf("must be between 1 and 366, got %d", s.UptimeDays)})
	}
	if s.Logo != "" {
		path := s.Logo
		if !filepath.IsAbs(path) && c.File != "" {
			path = filepath.Join(filepath.Dir(c.File), path)
		}
		b, err := os.ReadFile(path)
		switch {
		case err != nil:
			errs = append(errs, FieldError{Field: "status_page.logo", Msg: fmt.Sprintf("read logo: %v", err)})
		case len(b) > 1<<20:
			errs = append(errs, FieldError{Field: "status_page.logo", Msg: fmt.Sprintf("logo is %d bytes; at most 1MiB", len(b))})
		default:
			s.LogoData = b
		}
	}
	groups := map[string]bool{}
	for i, g := range s.Groups {
		f := fmt.Sprintf("status_page.groups.%d", i)
		if g.Name == "" {
			errs = append(errs, FieldError{Field: f + ".name", Msg: "missing"})
		}
		if groups[g.Name] {
			errs = append(errs, FieldError{Field: f + ".name", Msg: fmt.Sprintf("group %q is listed twice", g.Name)})
		}
		groups[g.Name] = true
		for j, p := range g.Probes {
			if !probes[p] {
				errs = append(errs, FieldError{Field: fmt.Sprintf("%s.probes.%d", f, j), Msg: fmt.Sprintf("no probe named %q in probes.targets", p)})
			}
		}
	}
	for i, m := range s.Maintenance {
		f := fmt.Sprintf("status_page.maintenance.%d", i)
		if m.Title == "" {
			errs = append(errs, FieldError{Field: f + ".title", Msg: "missing"})
		}
		if m.Start.IsZero() || m.End.IsZero() || !m.End.After(m.Start) {
			errs = append(errs, FieldError{Field: f, Msg: "want start and end as RFC 3339 times (2026-12-01T22:00:00Z) with end after start"})
		}
		for j, p := range m.Probes {
			if !probes[p] {
				errs = append(errs, FieldError{Field: fmt.Sprintf("%s.probes.%d", f, j), Msg: fmt.Sprintf("no probe named %q in probes.targets", p)})
			}
		}
		for j, g := range m.Groups {
			if !groups[g] {
				errs = append(errs, FieldError{Field: fmt.Sprintf("%s.groups.%d", f, j), Msg: fmt.Sprintf("no group named %q in status_page.groups", g)})
			}
		}
	}
	return errs
}
