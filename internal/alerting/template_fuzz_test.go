package alerting

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"
)

// FuzzNotificationTemplate feeds user template text through the path a
// reload takes (parse next to Alertmanager's default templates) and the
// path a notification takes (execute against real alert data): neither may
// panic, whatever the text.
func FuzzNotificationTemplate(f *testing.F) {
	f.Add(`{{ define "my.title" }}[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}{{ end }}`)
	f.Add(`{{ range .Alerts.Firing }}{{ .Labels.instance }} {{ .Annotations.summary }}{{ end }}`)
	f.Add(`{{ template "slack.default.title" . }}`)
	f.Add(`{{ .ExternalURL }}/#/alerts?receiver={{ .Receiver | urlquery }}`)
	f.Add(`{{ if gt (len .Alerts.Resolved) 0 }}resolved{{ end }}{{ .GroupLabels.SortedPairs.Values | join "," }}`)
	f.Add(`{{ define "x" }}{{ template "x" . }}{{ end }}`)
	now := time.Now()
	alerts := []*alert.Alert{
		alert.New(model.Alert{Labels: model.LabelSet{"alertname": "A", "instance": "i:1"}, Annotations: model.LabelSet{"summary": "s"}, StartsAt: now}, now, false),
		alert.New(model.Alert{Labels: model.LabelSet{"alertname": "A", "instance": "i:2"}, StartsAt: now.Add(-time.Hour), EndsAt: now.Add(-time.Minute)}, now, false),
	}
	f.Fuzz(func(t *testing.T, text string) {
		tmpl, err := template.New()
		if err != nil {
			t.Fatal(err)
		}
		if err := tmpl.Parse(strings.NewReader(text)); err != nil {
			return
		}
		// Recursion and huge ranges are the template author's problem and
		// are bounded by Go's template engine depth limit; skip ranges over
		// literals, which only make the fuzzer slow.
		if strings.Contains(text, "range") && strings.ContainsAny(text, "0123456789") {
			return
		}
		tmpl.ExternalURL, _ = url.Parse("http://localhost:9797")
		data := tmpl.Data("hook", model.LabelSet{"alertname": "A"}, nil, "", alerts...)
		_, _ = tmpl.ExecuteTextString(text, data)
	})
}
