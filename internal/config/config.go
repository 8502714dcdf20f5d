// Package config loads and validates Vigil's YAML configuration file.
//
// One file configures everything. ${VAR} references in values are expanded
// from the environment ($$ is a literal $); an undefined variable is an
// error. Unknown keys are errors. Every error names the file, the line and
// the field. Each feature owns the file describing its section (traces.go,
// logs.go, alerting.go, ...): a section type with setDefaults() and
// validate() []FieldError whose Field paths are relative to the section.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	promconfig "github.com/prometheus/prometheus/config"
	_ "github.com/prometheus/prometheus/discovery/file" // file_sd_configs in scrape_configs
	"gopkg.in/yaml.v3"

	"github.com/vigilhq/vigil/internal/memlimit"
)

// Defaults for process settings.
const (
	DefaultDataDir      = "./data"
	DefaultHTTPAddr     = "127.0.0.1:9797"
	DefaultOTLPGRPCAddr = "127.0.0.1:4317"
	DefaultOTLPHTTPAddr = "127.0.0.1:4318"
)

// Config is the whole configuration file.
type Config struct {
	// DataDir holds every store (TSDB, telemetry, state).
	DataDir string `yaml:"data_dir"`
	// HTTPAddr serves the APIs, remote write, /metrics and the UI.
	HTTPAddr string `yaml:"http_addr"`
	// MemoryLimit bounds the whole process (internal/memlimit: divided
	// among the stores, enforced by refusing ingestion near it); 0 means
	// automatic, a quarter of the memory available (512MiB-4GiB).
	MemoryLimit ByteSize `yaml:"memory_limit"`
	Web         Web      `yaml:"web"`
	OTLP        OTLP     `yaml:"otlp"`
	Metrics     Metrics  `yaml:"metrics"`

	// Global and ScrapeConfigs are in Prometheus's format; they are passed to
	// Prometheus's own config loader (see Scrape).
	Global            yaml.Node `yaml:"global"`
	ScrapeConfigs     yaml.Node `yaml:"scrape_configs"`
	ScrapeConfigFiles yaml.Node `yaml:"scrape_config_files"`

	Traces Traces `yaml:"traces"`
	Logs   Logs   `yaml:"logs"`

	// RuleFiles are globs of Prometheus rule files.
	RuleFiles []string `yaml:"rule_files"`
	// Alerting is Alertmanager's configuration format.
	Alerting Alerting `yaml:"alerting"`
	OnCall   OnCall   `yaml:"oncall"`
	// Probes are synthetic probes (blackbox exporter modules) and the
	// status page.
	Probes Probes `yaml:"probes"`

	// Auth is authentication (auth.go); TLS the listeners' TLS (tls.go).
	Auth Auth `yaml:"auth"`
	TLS  TLS  `yaml:"tls"`

	// File is the path the config was loaded from ("" for defaults).
	File string `yaml:"-"`
	// Scrape is the Prometheus configuration built from Global and
	// ScrapeConfigs by Prometheus's loader.
	Scrape *promconfig.Config `yaml:"-"`
	// SelfScrape is true when no scrape configuration was given: Vigil then
	// scrapes its own /metrics.
	SelfScrape bool `yaml:"-"`

	raw  []byte // the expanded file text
	root *yaml.Node
}

// FieldError is one configuration error.
type FieldError struct {
	File  string
	Line  int
	Field string // dotted path from the top, e.g. "metrics.limits.max_series_per_metric"
	Msg   string
}

func (e FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(":")
	}
	if e.Line > 0 {
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(": ")
	} else if e.File != "" {
		b.WriteString(" ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every error found in a file.
type Errors []FieldError

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Default returns the configuration used when no file is given.
func Default() *Config {
	c, err := Parse(nil, "")
	if err != nil {
		panic(fmt.Sprintf("default config invalid: %v", err))
	}
	return c
}

// Load reads, expands, parses and validates the file at path.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(b, path)
}

var (
	varRE     = regexp.MustCompile(`\$\$|\$\{([^}]*)\}`)
	varNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// plainRE is what a substituted value may look like to stay a plain
	// YAML scalar (numbers, booleans, durations, host:port, paths, URLs);
	// anything else is written as a quoted string.
	plainRE = regexp.MustCompile(`^[A-Za-z0-9_./+@~=-][A-Za-z0-9_./+@~=:,%-]*$`)
)

// expand replaces ${VAR} with the environment's value and $$ with $ in the
// scalar values of the YAML document, never in keys or comments. The
// substitution is done on parsed values and written back quoted where
// needed, so a value holding " #" or ": " stays one value instead of
// changing the document; line numbers stay those of the file.
func expand(b []byte, file string) ([]byte, Errors) {
	if !bytes.Contains(b, []byte("$")) {
		return b, nil
	}
	lines := strings.Split(string(b), "\n")
	var errs Errors
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		// Not YAML until expanded (a reference in a flow sequence:
		// [${TARGET}]): expand the text line by line, comments aside.
		for i, l := range lines {
			if t := strings.TrimSpace(l); t != "" && t[0] != '#' {
				v, e := expandValue(l, file, i+1)
				lines[i] = v
				errs = append(errs, e...)
			}
		}
		return []byte(strings.Join(lines, "\n")), errs
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c)
			}
		case yaml.MappingNode:
			for i := 1; i < len(n.Content); i += 2 {
				walk(n.Content[i]) // values only: keys are never expanded
			}
		case yaml.ScalarNode:
			if strings.Contains(n.Value, "$") {
				errs = append(errs, substitute(lines, n, file)...)
			}
		}
	}
	walk(&root)
	return []byte(strings.Join(lines, "\n")), errs
}

// expandValue expands one scalar's text.
func expandValue(v, file string, line int) (string, Errors) {
	var errs Errors
	out := varRE.ReplaceAllStringFunc(v, func(m string) string {
		if m == "$$" {
			return "$"
		}
		name := m[2 : len(m)-1]
		if !varNameRE.MatchString(name) {
			errs = append(errs, FieldError{File: file, Line: line, Msg: fmt.Sprintf("invalid variable reference %q: want ${NAME} with letters, digits and _", m)})
			return m
		}
		val, ok := os.LookupEnv(name)
		if !ok {
			errs = append(errs, FieldError{File: file, Line: line, Msg: fmt.Sprintf("environment variable %s is not set (write $$ for a literal $)", name)})
			return m
		}
		if strings.ContainsAny(val, "\n\r") {
			errs = append(errs, FieldError{File: file, Line: line, Msg: fmt.Sprintf("environment variable %s contains a newline", name)})
			return m
		}
		return val
	})
	return out, errs
}

// substitute rewrites scalar n in lines with its expanded value.
func substitute(lines []string, n *yaml.Node, file string) Errors {
	row := n.Line - 1
	if row < 0 || row >= len(lines) {
		return nil
	}
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		// Block scalars hold their text literally ('#' is no comment
		// there), so their lines are expanded in place.
		var errs Errors
		indent := -1
		for i := row + 1; i < len(lines); i++ {
			l := lines[i]
			if strings.TrimSpace(l) == "" {
				continue
			}
			ind := len(l) - len(strings.TrimLeft(l, " "))
			if indent < 0 {
				indent = ind
			}
			if ind < indent {
				break
			}
			v, e := expandValue(l, file, i+1)
			lines[i] = v
			errs = append(errs, e...)
		}
		return errs
	}
	value, errs := expandValue(n.Value, file, n.Line)
	if len(errs) > 0 || value == n.Value {
		return errs
	}
	line := lines[row]
	start := n.Column - 1
	if start < 0 || start > len(line) {
		return nil
	}
	end := scalarEnd(line, start, n)
	if end < 0 {
		// A quoted or plain scalar folded over several lines: rare in a
		// configuration file; say so rather than guess.
		return Errors{{File: file, Line: n.Line, Msg: "a value with ${VAR} must fit on one line (or use a block scalar: | or >)"}}
	}
	var text string
	switch {
	case n.Style == 0 && plainRE.MatchString(value):
		text = value // keeps numbers, booleans and durations typed
	case n.Style&yaml.SingleQuotedStyle != 0:
		text = "'" + strings.ReplaceAll(value, "'", "''") + "'"
	default:
		q, _ := json.Marshal(value) // a JSON string is a YAML double-quoted scalar
		text = string(q)
	}
	lines[row] = line[:start] + text + line[end:]
	return nil
}

// scalarEnd finds where scalar n, starting at line[start:], ends on its
// line, or -1 if it goes on to the next line.
func scalarEnd(line string, start int, n *yaml.Node) int {
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		for i := start + 1; i < len(line); i++ {
			switch line[i] {
			case '\\':
				i++
			case '"':
				return i + 1
			}
		}
		return -1
	case n.Style&yaml.SingleQuotedStyle != 0:
		for i := start + 1; i < len(line); i++ {
			if line[i] == '\'' {
				if i+1 < len(line) && line[i+1] == '\'' {
					i++
					continue
				}
				return i + 1
			}
		}
		return -1
	}
	// A plain scalar's source is its value when it fits on one line.
	if strings.HasPrefix(line[start:], n.Value) {
		return start + len(n.Value)
	}
	return -1
}

var yamlLineRE = regexp.MustCompile(`^line (\d+): (.*)$`)

// Parse parses and validates configuration text. file names it in errors.
func Parse(b []byte, file string) (*Config, error) {
	expanded, errs := expand(b, file)
	if len(errs) > 0 {
		return nil, errs
	}
	c := &Config{File: file, raw: expanded}
	var root yaml.Node
	if len(bytes.TrimSpace(expanded)) > 0 {
		if err := yaml.Unmarshal(expanded, &root); err != nil {
			return nil, Errors{yamlError(file, err)}
		}
	}
	if len(root.Content) > 0 {
		doc := root.Content[0]
		if doc.Kind != yaml.MappingNode && !(doc.Kind == yaml.ScalarNode && doc.Tag == "!!null") {
			return nil, Errors{{File: file, Line: doc.Line, Msg: "the config file must be a YAML mapping of keys to values"}}
		}
		c.root = doc
		dec := yaml.NewDecoder(bytes.NewReader(expanded))
		dec.KnownFields(true)
		if err := dec.Decode(c); err != nil {
			var te *yaml.TypeError
			if errors.As(err, &te) {
				for _, m := range te.Errors {
					errs = append(errs, yamlMsg(file, m))
				}
				return nil, errs
			}
			return nil, Errors{yamlError(file, err)}
		}
	}
	c.setDefaults()
	errs = append(errs, c.validate()...)
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
		return nil, errs
	}
	return c, nil
}

func yamlError(file string, err error) FieldError {
	return yamlMsg(file, strings.TrimPrefix(err.Error(), "yaml: "))
}

func yamlMsg(file, msg string) FieldError {
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return FieldError{File: file, Line: n, Msg: m[2]}
	}
	return FieldError{File: file, Msg: msg}
}

func (c *Config) setDefaults() {
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.HTTPAddr == "" {
		c.HTTPAddr = DefaultHTTPAddr
	}
	c.OTLP.setDefaults()
	c.Metrics.setDefaults()
	c.Traces.setDefaults()
	c.Logs.setDefaults()
	c.Alerting.setDefaults()
	c.OnCall.setDefaults()
	c.Probes.setDefaults()
	c.Auth.setDefaults()
	c.TLS.setDefaults()
}

// section prefixes a section's relative errors and finds their lines.
func (c *Config) section(name string, errs []FieldError) Errors {
	var out Errors
	for _, e := range errs {
		if e.File == "" {
			e.File = c.File // a section may name another file (probes.modules_file)
		}
		if e.Field == "" {
			e.Field = name
		} else if name != "" {
			e.Field = name + "." + e.Field
		}
		if e.Line == 0 {
			e.Line = c.lineOf(e.Field)
		}
		out = append(out, e)
	}
	return out
}

// lineOf returns the line of the deepest node on a dotted path ("a.b.0.c").
func (c *Config) lineOf(path string) int {
	n := c.root
	line := 0
	if n != nil {
		line = n.Line
	}
	for _, part := range strings.Split(path, ".") {
		if n == nil {
			break
		}
		var next *yaml.Node
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == part {
					line = n.Content[i].Line
					next = n.Content[i+1]
					break
				}
			}
		case yaml.SequenceNode:
			if idx, err := strconv.Atoi(part); err == nil && idx >= 0 && idx < len(n.Content) {
				next = n.Content[idx]
				line = next.Line
			}
		}
		n = next
	}
	return line
}

func (c *Config) validate() Errors {
	var errs Errors
	for _, a := range []struct{ field, v string }{{"http_addr", c.HTTPAddr}} {
		if err := checkAddr(a.v); err != nil {
			errs = append(errs, c.section("", []FieldError{{Field: a.field, Msg: err.Error()}})...)
		}
	}
	if _, err := c.MemoryBudget(); err != nil {
		errs = append(errs, c.section("", []FieldError{{Field: "memory_limit", Msg: err.Error()}})...)
	}
	errs = append(errs, c.section("web", c.Web.validate())...)
	errs = append(errs, c.section("otlp", c.OTLP.validate())...)
	errs = append(errs, c.section("metrics", c.Metrics.validate())...)
	errs = append(errs, c.section("traces", c.Traces.validate())...)
	errs = append(errs, c.section("logs", c.Logs.validate())...)
	errs = append(errs, c.section("alerting", c.Alerting.validate())...)
	errs = append(errs, c.validateOnCall()...)
	errs = append(errs, c.section("probes", c.Probes.validate(c))...)
	errs = append(errs, c.section("auth", c.Auth.validate())...)
	errs = append(errs, c.section("tls", c.TLS.validate())...)
	errs = append(errs, c.loadScrape()...)
	if len(errs) == 0 {
		errs = append(errs, c.ValidateRules()...)
	}
	return errs
}

// MemoryBudget divides memory_limit (or the automatic limit when it is
// 0) among the stores by memlimit's rule, honouring the stores' own
// memory_limit keys.
func (c *Config) MemoryBudget() (memlimit.Budget, error) {
	limit, source := int64(c.MemoryLimit), ""
	if limit == 0 {
		limit, source = memlimit.Auto()
	}
	b, err := memlimit.Divide(limit, int64(c.Traces.MemoryLimit), int64(c.Logs.MemoryLimit))
	if err != nil && source != "" {
		return b, fmt.Errorf("%w (memory_limit is automatic here: %s, a quarter of %s)", err, memlimit.Size(limit), source)
	}
	return b, err
}

// loadScrape hands the Prometheus-format keys to Prometheus's own loader.
// The other top-level keys are blanked out line by line, so the line numbers
// in Prometheus's errors are the file's.
func (c *Config) loadScrape() Errors {
	promKeys := map[string]bool{"global": true, "scrape_configs": true, "scrape_config_files": true}
	if c.ScrapeConfigs.Kind == 0 && c.ScrapeConfigFiles.Kind == 0 {
		c.SelfScrape = true
	}
	text := ""
	if c.root != nil && c.root.Kind == yaml.MappingNode {
		lines := strings.Split(string(c.raw), "\n")
		keep := make([]bool, len(lines))
		keys := c.root.Content
		for i := 0; i+1 < len(keys); i += 2 {
			start := keys[i].Line - 1
			end := len(lines)
			if i+2 < len(keys) {
				end = keys[i+2].Line - 1
			}
			for l := start; l < end && l < len(lines); l++ {
				keep[l] = promKeys[keys[i].Value]
			}
		}
		for i := range lines {
			if !keep[i] {
				lines[i] = ""
			}
		}
		text = strings.Join(lines, "\n")
	}
	pc, err := promconfig.Load(text, slog.New(slog.DiscardHandler))
	if err != nil {
		var out Errors
		for _, msg := range strings.Split(strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n"), "\n") {
			msg = strings.TrimSpace(msg)
			if msg == "" {
				continue
			}
			fe := yamlMsg(c.File, msg)
			if fe.Line == 0 {
				fe.Line = c.lineOf("scrape_configs")
				fe.Field = "scrape_configs"
			}
			out = append(out, fe)
		}
		return out
	}
	c.Scrape = pc
	return nil
}
