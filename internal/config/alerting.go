package config

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	amconfig "github.com/prometheus/alertmanager/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"
)

// DefaultAlertmanagerConfig is used when the alerting section has no route:
// alerts are evaluated, grouped and shown in the APIs but sent nowhere.
const DefaultAlertmanagerConfig = `route:
  receiver: default
receivers:
  - name: default
`

// Alerting is Alertmanager's configuration format (global, route,
// receivers, inhibit_rules, time_intervals, mute_time_intervals, templates),
// handed to Alertmanager's own loader, plus two Vigil keys, `delivery` and
// `rules`, which are removed before that:
//
//	alerting:
//	  delivery:
//	    give_up_after: 24h   # a notification still failing after this is marked failed
//	    min_backoff: 1s
//	    max_backoff: 5m
//	  api:                   # POST /alertmanager/api/v2/alerts; applied at start
//	    max_request_bytes: 4MiB      # larger bodies get 413
//	    max_alerts_per_request: 10000 # more alerts in one body get 400
//	  rules:                 # Prometheus's --rules.alert.* flags; applied at start
//	    for_outage_tolerance: 1h
//	    for_grace_period: 10m
//	    resend_delay: 1m
//	  route: ...
//	  receivers: ...
//
// Owned by the alerting feature.
type Alerting struct {
	Raw yaml.Node `yaml:"-"`

	Delivery Delivery `yaml:"-"`
	Rules    Rules    `yaml:"-"`
	API      AlertAPI `yaml:"-"`
	// AM is the configuration parsed by Alertmanager's loader, with template
	// paths made absolute (relative to the config file's folder). Set by
	// validation.
	AM *amconfig.Config `yaml:"-"`
	// AMText is the YAML handed to Alertmanager's loader (shown by
	// /alertmanager/api/v2/status).
	AMText string `yaml:"-"`
}

// Delivery configures the notification outbox.
type Delivery struct {
	GiveUpAfter Duration `yaml:"give_up_after"`
	MinBackoff  Duration `yaml:"min_backoff"`
	MaxBackoff  Duration `yaml:"max_backoff"`
}

// AlertAPI bounds what one POST /alertmanager/api/v2/alerts may carry, so
// that an alert storm is refused in pieces a client can resend instead of
// being read whole into memory. Read when Vigil starts.
type AlertAPI struct {
	MaxRequestBytes     ByteSize `yaml:"max_request_bytes"`
	MaxAlertsPerRequest int      `yaml:"max_alerts_per_request"`
}

func (a *AlertAPI) setDefaults() {
	if a.MaxRequestBytes == 0 {
		a.MaxRequestBytes = 4 << 20
	}
	if a.MaxAlertsPerRequest == 0 {
		a.MaxAlertsPerRequest = 10000
	}
}

// Rules tunes rule evaluation as Prometheus's --rules.alert.* flags do.
// The rules manager reads them when Vigil starts; a reload keeps the values
// in force and logs that a restart applies the new ones.
type Rules struct {
	// ForOutageTolerance: a `for` state is restored after an outage no
	// longer than this.
	ForOutageTolerance Duration `yaml:"for_outage_tolerance"`
	// ForGracePeriod: after a restore an alert still waits at least this
	// long before firing, if its `for` is at least this long.
	ForGracePeriod Duration `yaml:"for_grace_period"`
	// ResendDelay: firing alerts are sent to routing again this often.
	ResendDelay Duration `yaml:"resend_delay"`
}

func (r *Rules) setDefaults() {
	if r.ForOutageTolerance == 0 {
		r.ForOutageTolerance = Duration(time.Hour)
	}
	if r.ForGracePeriod == 0 {
		r.ForGracePeriod = Duration(10 * time.Minute)
	}
	if r.ResendDelay == 0 {
		r.ResendDelay = Duration(time.Minute)
	}
}

// UnmarshalYAML keeps the section as a node.
func (x *Alerting) UnmarshalYAML(n *yaml.Node) error { x.Raw = *n; return nil }

func (x *Alerting) setDefaults() {}

func (d *Delivery) setDefaults() {
	if d.GiveUpAfter == 0 {
		d.GiveUpAfter = Duration(24 * time.Hour)
	}
	if d.MinBackoff == 0 {
		d.MinBackoff = Duration(time.Second)
	}
	if d.MaxBackoff == 0 {
		d.MaxBackoff = Duration(5 * time.Minute)
	}
}

func (x *Alerting) validate() []FieldError {
	errs := x.load("")
	return errs
}

// load splits off `delivery`, hands the rest to Alertmanager's loader and
// maps its errors back to lines of the section. baseDir resolves relative
// template paths.
func (x *Alerting) load(baseDir string) []FieldError {
	x.Delivery = Delivery{}
	x.Rules = Rules{}
	x.API = AlertAPI{}
	x.AM, x.AMText = nil, ""
	var amNode *yaml.Node
	switch {
	case x.Raw.Kind == 0 || (x.Raw.Kind == yaml.ScalarNode && x.Raw.Tag == "!!null"):
	case x.Raw.Kind != yaml.MappingNode:
		return []FieldError{{Line: x.Raw.Line, Msg: "must be a mapping in Alertmanager's configuration format (route, receivers, inhibit_rules, ...)"}}
	default:
		amNode = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: x.Raw.Line, Column: x.Raw.Column}
		for i := 0; i+1 < len(x.Raw.Content); i += 2 {
			k, v := x.Raw.Content[i], x.Raw.Content[i+1]
			if k.Value == "delivery" {
				if err := v.Decode(&x.Delivery); err != nil {
					return []FieldError{yamlNodeErr("delivery", v.Line, err)}
				}
				if err := strictKeys(v, "delivery", "give_up_after", "min_backoff", "max_backoff"); err != nil {
					return []FieldError{*err}
				}
				continue
			}
			if k.Value == "api" {
				if err := v.Decode(&x.API); err != nil {
					return []FieldError{yamlNodeErr("api", v.Line, err)}
				}
				if err := strictKeys(v, "api", "max_request_bytes", "max_alerts_per_request"); err != nil {
					return []FieldError{*err}
				}
				continue
			}
			if k.Value == "rules" {
				if err := v.Decode(&x.Rules); err != nil {
					return []FieldError{yamlNodeErr("rules", v.Line, err)}
				}
				if err := strictKeys(v, "rules", "for_outage_tolerance", "for_grace_period", "resend_delay"); err != nil {
					return []FieldError{*err}
				}
				continue
			}
			amNode.Content = append(amNode.Content, k, v)
		}
	}
	x.Delivery.setDefaults()
	x.Rules.setDefaults()
	x.API.setDefaults()
	var errs []FieldError
	if x.API.MaxRequestBytes < 1024 {
		errs = append(errs, FieldError{Field: "api.max_request_bytes", Msg: fmt.Sprintf("must be at least 1KiB, got %v", x.API.MaxRequestBytes)})
	}
	if x.API.MaxAlertsPerRequest < 1 {
		errs = append(errs, FieldError{Field: "api.max_alerts_per_request", Msg: fmt.Sprintf("must be at least 1, got %d", x.API.MaxAlertsPerRequest)})
	}
	if x.Delivery.MinBackoff > x.Delivery.MaxBackoff {
		errs = append(errs, FieldError{Field: "delivery.min_backoff", Msg: fmt.Sprintf("min_backoff %s is greater than max_backoff %s", x.Delivery.MinBackoff, x.Delivery.MaxBackoff)})
	}
	if x.Delivery.GiveUpAfter < x.Delivery.MinBackoff {
		errs = append(errs, FieldError{Field: "delivery.give_up_after", Msg: fmt.Sprintf("give_up_after %s is shorter than min_backoff %s", x.Delivery.GiveUpAfter, x.Delivery.MinBackoff)})
	}

	text := DefaultAlertmanagerConfig
	lineMap := map[int]int{}
	if amNode != nil && len(amNode.Content) > 0 {
		b, err := yaml.Marshal(amNode)
		if err != nil {
			return append(errs, FieldError{Line: x.Raw.Line, Msg: fmt.Sprintf("re-encode for Alertmanager's loader: %v", err)})
		}
		text = string(b)
		var re yaml.Node
		if err := yaml.Unmarshal(b, &re); err == nil && len(re.Content) == 1 {
			mapLines(re.Content[0], amNode, lineMap)
		}
	}
	am, err := amconfig.Load(text)
	if err != nil {
		return append(errs, amErrors(err, lineMap, amNode)...)
	}
	for i, t := range am.Templates {
		if baseDir != "" && !filepath.IsAbs(t) {
			am.Templates[i] = filepath.Join(baseDir, t)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	x.AM, x.AMText = am, text
	return nil
}

// LoadAlertmanagerConfig validates text in Alertmanager's format (the
// `alerting` section without its `delivery` key). Exposed for fuzzing and
// for tools.
func LoadAlertmanagerConfig(text []byte) (*Alerting, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(text, &n); err != nil {
		return nil, Errors{yamlError("", err)}
	}
	var x Alerting
	if len(n.Content) > 0 {
		x.Raw = *n.Content[0]
	}
	if errs := x.load(""); len(errs) > 0 {
		return nil, Errors(errs)
	}
	return &x, nil
}

func strictKeys(n *yaml.Node, section string, allowed ...string) *FieldError {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		ok := false
		for _, a := range allowed {
			ok = ok || k.Value == a
		}
		if !ok {
			return &FieldError{Line: k.Line, Field: section + "." + k.Value, Msg: fmt.Sprintf("unknown key; want one of %s", strings.Join(allowed, ", "))}
		}
	}
	return nil
}

func yamlNodeErr(field string, line int, err error) FieldError {
	msg := err.Error()
	if m := regexp.MustCompile(`line (\d+): (.*)`).FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return FieldError{Line: n, Field: field, Msg: m[2]}
	}
	return FieldError{Line: line, Field: field, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

// mapLines records, for each node of the re-encoded tree, the line of the
// same node in the original tree.
func mapLines(re, orig *yaml.Node, m map[int]int) {
	if re == nil || orig == nil {
		return
	}
	if _, ok := m[re.Line]; !ok {
		m[re.Line] = orig.Line
	}
	for i := 0; i < len(re.Content) && i < len(orig.Content); i++ {
		mapLines(re.Content[i], orig.Content[i], m)
	}
}

var (
	amLineRE   = regexp.MustCompile(`^\s*line (\d+): (.*)$`)
	amQuotedRE = regexp.MustCompile(`"([^"]+)"|'([^']+)'`)
)

// amErrors turns an error of Alertmanager's loader into FieldErrors with
// lines of the original file. Errors without a line get the line of the
// first scalar they quote (a receiver or label name), else the section's.
func amErrors(err error, lineMap map[int]int, orig *yaml.Node) []FieldError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
	var out []FieldError
	for _, part := range strings.Split(msg, "\n") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		fe := FieldError{Msg: part}
		if m := amLineRE.FindStringSubmatch(part); m != nil {
			n, _ := strconv.Atoi(m[1])
			if o, ok := lineMap[n]; ok {
				n = o
			}
			fe.Line, fe.Msg = n, m[2]
		} else if orig != nil {
			for _, q := range amQuotedRE.FindAllStringSubmatch(part, -1) {
				s := q[1] + q[2]
				if l := findScalar(orig, s); l > 0 {
					fe.Line = l
					break
				}
			}
		}
		if fe.Line == 0 && orig != nil {
			fe.Line = orig.Line
		}
		out = append(out, fe)
	}
	return out
}

func findScalar(n *yaml.Node, v string) int {
	if n.Kind == yaml.ScalarNode && n.Value == v {
		return n.Line
	}
	for _, c := range n.Content {
		if l := findScalar(c, v); l > 0 {
			return l
		}
	}
	return 0
}

// ResolveAlerting finishes the alerting section once the file's path is
// known: template paths relative to the config file's folder. Call after
// Parse; it is a no-op for a config without a file.
func (c *Config) ResolveAlerting() {
	if c.Alerting.AM == nil || c.File == "" {
		return
	}
	base := filepath.Dir(c.File)
	for i, t := range c.Alerting.AM.Templates {
		if !filepath.IsAbs(t) {
			c.Alerting.AM.Templates[i] = filepath.Join(base, t)
		}
	}
}

// RuleFilePaths expands rule_files globs (relative to the config file's
// folder), in order and without duplicates.
func (c *Config) RuleFilePaths() ([]string, error) {
	base := ""
	if c.File != "" {
		base = filepath.Dir(c.File)
	}
	seen := map[string]bool{}
	var out []string
	for _, pat := range c.RuleFiles {
		if base != "" && !filepath.IsAbs(pat) {
			pat = filepath.Join(base, pat)
		}
		fns, err := filepath.Glob(pat)
		if err != nil {
			return nil, fmt.Errorf("rule_files: invalid glob %q: %w", pat, err)
		}
		for _, fn := range fns {
			if !seen[fn] {
				seen[fn] = true
				out = append(out, fn)
			}
		}
	}
	return out, nil
}

// ValidateRules checks every rule file named by rule_files as
// `promtool check rules` does. Errors carry the rule file and line.
func (c *Config) ValidateRules() Errors {
	files, err := c.RuleFilePaths()
	if err != nil {
		return c.section("", []FieldError{{Field: "rule_files", Msg: err.Error()}})
	}
	var errs Errors
	for _, fn := range files {
		errs = append(errs, CheckRuleFile(fn)...)
	}
	return errs
}

var ruleErrLineRE = regexp.MustCompile(`^(\d+):(\d+): (?:\d+:\d+: )?(.*)$`)

// CheckRuleFile validates one Prometheus rule file (syntax, PromQL,
// templates, duplicate groups) and returns its errors with lines.
func CheckRuleFile(path string) Errors {
	b, err := os.ReadFile(path)
	if err != nil {
		return Errors{{File: path, Msg: err.Error()}}
	}
	return CheckRules(b, path)
}

// CheckRules validates rule file content; file names it in errors.
func CheckRules(b []byte, file string) Errors {
	_, errs := rulefmt.Parse(b, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	var doc yaml.Node
	_ = yaml.Unmarshal(b, &doc)
	var out Errors
	seen := map[string]bool{}
	for _, e := range errs {
		fe := ruleError(file, e)
		if fe.Line == 0 {
			fe.Line = ruleErrorLine(&doc, e, fe.Msg)
		}
		// rulefmt decodes the file twice (typed and as nodes): a value
		// that fails to decode is reported by both.
		if k := fe.Error(); !seen[k] {
			seen[k] = true
			out = append(out, fe)
		}
	}
	return out
}

var (
	dupGroupRE = regexp.MustCompile(`groupname: "(.*)" is repeated`)
	durationRE = regexp.MustCompile(`(?:in duration|not a valid duration string:) "(.*)"`)
	annotRE    = regexp.MustCompile(`^(annotation|label) "([^"]*)"`)
)

// ruleErrorLine finds the line of a rule file error that rulefmt reports
// without one (a duplicate group name, a template or label of a rule, a
// duration that does not parse), as promtool does: 0 when it cannot.
func ruleErrorLine(doc *yaml.Node, e error, msg string) int {
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return 0
	}
	groups := mapValue(doc.Content[0], "groups")
	if groups == nil || groups.Kind != yaml.SequenceNode {
		return 0
	}
	if m := dupGroupRE.FindStringSubmatch(msg); m != nil {
		n := 0
		for _, g := range groups.Content {
			if v := mapValue(g, "name"); v != nil && v.Value == m[1] {
				if n++; n == 2 {
					return g.Line
				}
			}
		}
	}
	var re *rulefmt.Error
	if errors.As(e, &re) && re.Rule > 0 {
		for _, g := range groups.Content {
			if v := mapValue(g, "name"); v == nil || v.Value != re.Group {
				continue
			}
			rules := mapValue(g, "rules")
			if rules == nil || rules.Kind != yaml.SequenceNode || re.Rule > len(rules.Content) {
				return 0
			}
			rule := rules.Content[re.Rule-1]
			if m := annotRE.FindStringSubmatch(msg); m != nil {
				if v := mapValue(mapValue(rule, m[1]+"s"), m[2]); v != nil {
					return v.Line
				}
			}
			return rule.Line
		}
	}
	if m := durationRE.FindStringSubmatch(msg); m != nil {
		return findScalar(doc, m[1])
	}
	return 0
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
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

func ruleError(file string, e error) FieldError {
	msg := e.Error()
	var re *rulefmt.Error
	fe := FieldError{File: file}
	if errors.As(e, &re) {
		// As promtool prints it: rules are numbered from 1.
		fe.Field = fmt.Sprintf("group %q, rule %d", re.Group, re.Rule)
		if re.RuleName != "" {
			fe.Field = fmt.Sprintf("group %q, rule %d (%s)", re.Group, re.Rule, re.RuleName)
		}
		msg = re.Err.Error()
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	if m := ruleErrLineRE.FindStringSubmatch(msg); m != nil {
		fe.Line, _ = strconv.Atoi(m[1])
		msg = m[3]
	} else if m := regexp.MustCompile(`line (\d+): (.*)`).FindStringSubmatch(msg); m != nil {
		fe.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	fe.Msg = msg
	return fe
}
