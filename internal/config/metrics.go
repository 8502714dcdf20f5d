package config

import (
	"fmt"
	"time"
)

// Metrics configures the embedded Prometheus TSDB, ingestion limits and
// PromQL.
type Metrics struct {
	Retention MetricsRetention `yaml:"retention"`
	Limits    MetricsLimits    `yaml:"limits"`
	Query     Query            `yaml:"query"`
	OTLP      MetricsOTLP      `yaml:"otlp"`
	// OutOfOrderTimeWindow accepts samples up to this much older than the
	// newest sample of their series (0: none, as Prometheus).
	OutOfOrderTimeWindow Duration `yaml:"out_of_order_time_window"`
	// EnableAdminAPI serves /api/v1/admin/tsdb/{delete_series,
	// clean_tombstones,snapshot}, as Prometheus's --web.enable-admin-api.
	EnableAdminAPI bool `yaml:"enable_admin_api"`
}

// MetricsRetention bounds the TSDB by age and by size (both enforced,
// whichever comes first).
type MetricsRetention struct {
	MaxAge  Duration `yaml:"max_age"`
	MaxSize ByteSize `yaml:"max_size"`
}

// MetricsLimits bound ingestion. 0 means no limit.
type MetricsLimits struct {
	MaxSeriesPerMetric     int      `yaml:"max_series_per_metric"`
	MaxActiveSeries        int      `yaml:"max_active_series"`
	MaxSamplesPerRequest   int      `yaml:"max_samples_per_request"`
	MaxSeriesPerRequest    int      `yaml:"max_series_per_request"`
	MaxRequestBytes        ByteSize `yaml:"max_request_bytes"`
	MaxLabelNamesPerSeries int      `yaml:"max_label_names_per_series"`
}

// Query bounds PromQL.
type Query struct {
	Timeout       Duration `yaml:"timeout"`
	MaxSamples    int      `yaml:"max_samples"`
	MaxConcurrent int      `yaml:"max_concurrent"`
	LookbackDelta Duration `yaml:"lookback_delta"`
	// MaxLength bounds a PromQL expression; longer ones get 400 at once.
	MaxLength ByteSize `yaml:"max_length"`
	// EnableExperimentalFunctions is Prometheus's
	// --enable-feature=promql-experimental-functions.
	EnableExperimentalFunctions bool `yaml:"enable_experimental_functions"`
}

// MetricsOTLP controls how OTLP metrics become Prometheus series.
type MetricsOTLP struct {
	// PromoteResourceAttributes become labels on every series of the
	// resource. service.name and service.instance.id always become job
	// and instance.
	PromoteResourceAttributes []string `yaml:"promote_resource_attributes"`
	// KeepIdentifyingResourceAttributes also keeps service.name,
	// service.namespace and service.instance.id as labels on target_info.
	KeepIdentifyingResourceAttributes bool `yaml:"keep_identifying_resource_attributes"`
	// TranslationStrategy as in Prometheus: UnderscoreEscapingWithSuffixes
	// (default), UnderscoreEscapingWithoutSuffixes, NoUTF8EscapingWithSuffixes,
	// NoTranslation.
	TranslationStrategy string `yaml:"translation_strategy"`
}

func (m *Metrics) setDefaults() {
	if m.Retention.MaxAge == 0 {
		m.Retention.MaxAge = Duration(15 * 24 * time.Hour)
	}
	l := &m.Limits
	if l.MaxSamplesPerRequest == 0 {
		l.MaxSamplesPerRequest = 1_000_000
	}
	if l.MaxSeriesPerRequest == 0 {
		l.MaxSeriesPerRequest = 200_000
	}
	if l.MaxRequestBytes == 0 {
		l.MaxRequestBytes = 32 << 20
	}
	if l.MaxSeriesPerMetric == 0 {
		l.MaxSeriesPerMetric = 200_000
	}
	if l.MaxActiveSeries == 0 {
		l.MaxActiveSeries = 2_000_000
	}
	if l.MaxLabelNamesPerSeries == 0 {
		l.MaxLabelNamesPerSeries = 64
	}
	q := &m.Query
	if q.Timeout == 0 {
		q.Timeout = Duration(2 * time.Minute)
	}
	if q.MaxSamples == 0 {
		q.MaxSamples = 50_000_000
	}
	if q.MaxConcurrent == 0 {
		q.MaxConcurrent = 20
	}
	if q.LookbackDelta == 0 {
		q.LookbackDelta = Duration(5 * time.Minute)
	}
	if q.MaxLength == 0 {
		q.MaxLength = 32 << 10
	}
	if m.OTLP.PromoteResourceAttributes == nil {
		m.OTLP.PromoteResourceAttributes = []string{"service.namespace", "deployment.environment", "deployment.environment.name"}
	}
	if m.OTLP.TranslationStrategy == "" {
		m.OTLP.TranslationStrategy = "UnderscoreEscapingWithSuffixes"
	}
}

func (m *Metrics) validate() []FieldError {
	var errs []FieldError
	if m.Retention.MaxAge < 0 || (m.Retention.MaxAge > 0 && m.Retention.MaxAge.D() < time.Hour) {
		errs = append(errs, FieldError{Field: "retention.max_age", Msg: fmt.Sprintf("must be at least 1h, got %v", m.Retention.MaxAge)})
	}
	errs = append(errs, positive("retention.max_size", m.Retention.MaxSize)...)
	l := m.Limits
	errs = append(errs, positive("limits.max_series_per_metric", l.MaxSeriesPerMetric)...)
	errs = append(errs, positive("limits.max_active_series", l.MaxActiveSeries)...)
	errs = append(errs, positive("limits.max_samples_per_request", l.MaxSamplesPerRequest)...)
	errs = append(errs, positive("limits.max_series_per_request", l.MaxSeriesPerRequest)...)
	errs = append(errs, positive("limits.max_label_names_per_series", l.MaxLabelNamesPerSeries)...)
	if l.MaxRequestBytes < 1024 {
		errs = append(errs, FieldError{Field: "limits.max_request_bytes", Msg: fmt.Sprintf("must be at least 1KiB, got %v", l.MaxRequestBytes)})
	}
	if m.Query.Timeout <= 0 {
		errs = append(errs, FieldError{Field: "query.timeout", Msg: "must be positive"})
	}
	errs = append(errs, positive("query.max_samples", m.Query.MaxSamples)...)
	if m.Query.MaxLength < 256 {
		errs = append(errs, FieldError{Field: "query.max_length", Msg: fmt.Sprintf("must be at least 256B, got %v", m.Query.MaxLength)})
	}
	if m.Query.MaxConcurrent < 1 {
		errs = append(errs, FieldError{Field: "query.max_concurrent", Msg: "must be at least 1"})
	}
	switch m.OTLP.TranslationStrategy {
	case "UnderscoreEscapingWithSuffixes", "UnderscoreEscapingWithoutSuffixes", "NoUTF8EscapingWithSuffixes", "NoTranslation":
	default:
		errs = append(errs, FieldError{Field: "otlp.translation_strategy", Msg: fmt.Sprintf("unknown strategy %q: want UnderscoreEscapingWithSuffixes, UnderscoreEscapingWithoutSuffixes, NoUTF8EscapingWithSuffixes or NoTranslation", m.OTLP.TranslationStrategy)})
	}
	return errs
}
