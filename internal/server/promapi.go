package server

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	apiv1 "github.com/prometheus/prometheus/web/api/v1"

	"github.com/vigilhq/vigil/internal/config"
	"github.com/vigilhq/vigil/internal/version"
)

// buildInfo is /api/v1/status/buildinfo: a semantic version (Grafana's
// Prometheus data source parses it to pick features) with the commit in
// revision, and every field filled.
func buildInfo() apiv1.PrometheusVersion {
	i := version.Get()
	return apiv1.PrometheusVersion{Version: i.Version, Revision: i.Revision, Branch: i.Branch, BuildUser: i.BuildUser, BuildDate: i.BuildDate, GoVersion: i.GoVersion}
}

// promFlags is /api/v1/status/flags: Vigil's effective settings. First
// the Prometheus flags Vigil has an equivalent of, under Prometheus's
// names (what tools that read flags look for), then every setting of the
// sections without secrets under their YAML path (metrics.query.timeout).
func promFlags(cfg *config.Config) map[string]string {
	m := cfg.Metrics
	flags := map[string]string{
		"config.file":                      cfg.File,
		"web.listen-address":               cfg.HTTPAddr,
		"web.enable-admin-api":             strconv.FormatBool(m.EnableAdminAPI),
		"web.enable-remote-write-receiver": "true",
		"web.enable-otlp-receiver":         strconv.FormatBool(!cfg.OTLP.Disabled),
		"storage.tsdb.path":                filepath.Join(cfg.DataDir, "metrics"),
		"storage.tsdb.retention.time":      m.Retention.MaxAge.String(),
		"storage.tsdb.retention.size":      m.Retention.MaxSize.String(),
		"query.timeout":                    m.Query.Timeout.String(),
		"query.max-samples":                strconv.Itoa(m.Query.MaxSamples),
		"query.max-concurrency":            strconv.Itoa(m.Query.MaxConcurrent),
		"query.lookback-delta":             m.Query.LookbackDelta.String(),
		"enable-feature":                   "exemplar-storage,native-histograms",
	}
	if m.Query.EnableExperimentalFunctions {
		flags["enable-feature"] += ",promql-experimental-functions"
	}
	flatten(flags, "", reflect.ValueOf(struct {
		DataDir  string         `yaml:"data_dir"`
		HTTPAddr string         `yaml:"http_addr"`
		OTLP     config.OTLP    `yaml:"otlp"`
		Metrics  config.Metrics `yaml:"metrics"`
		Traces   config.Traces  `yaml:"traces"`
		Logs     config.Logs    `yaml:"logs"`
		Rules    []string       `yaml:"rule_files"`
	}{cfg.DataDir, cfg.HTTPAddr, cfg.OTLP, cfg.Metrics, cfg.Traces, cfg.Logs, cfg.RuleFiles}))
	return flags
}

// flatten adds v's fields to flags under their YAML paths.
func flatten(flags map[string]string, prefix string, v reflect.Value) {
	if s, ok := v.Interface().(fmt.Stringer); ok {
		flags[prefix] = s.String()
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		flatten(flags, prefix, v.Elem())
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || name == "" || name == "-" {
				continue
			}
			if prefix != "" {
				name = prefix + "." + name
			}
			flatten(flags, name, v.Field(i))
		}
	case reflect.Slice:
		parts := make([]string, v.Len())
		for i := range v.Len() {
			parts[i] = fmt.Sprint(v.Index(i).Interface())
		}
		flags[prefix] = strings.Join(parts, ",")
	case reflect.Map:
		// Maps (per-tenant overrides and the like) are left out.
	default:
		flags[prefix] = fmt.Sprint(v.Interface())
	}
}
