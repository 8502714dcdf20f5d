package spec

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"

	amconfig "github.com/prometheus/alertmanager/config"
	"gopkg.in/yaml.v3"
)

// AlertmanagerReceiverName is the name the receiver of an alertmanager
// contact method gets (its config has none).
const AlertmanagerReceiverName = "oncall"

// AlertmanagerReceiver parses an alertmanager contact method's Config as
// the body of an Alertmanager receiver (msteams_configs, webhook_configs,
// telegram_configs, ...), through Alertmanager's own loader so that its
// defaults, required fields and checks apply exactly as in an
// alertmanager.yml. Global settings (smtp_smarthost, slack_api_url, ...)
// are not inherited: each integration names what it needs.
func (cm ContactMethod) AlertmanagerReceiver() (*amconfig.Receiver, error) {
	if len(cm.Config) == 0 {
		return nil, errors.New("an alertmanager contact method needs config: a receiver's integrations, e.g. {msteams_configs: [{webhook_url: https://...}]}")
	}
	if _, ok := cm.Config["name"]; ok {
		return nil, errors.New("config: leave out name; the contact method is the receiver")
	}
	rcv := map[string]any{"name": AlertmanagerReceiverName}
	for k, v := range cm.Config {
		rcv[k] = v
	}
	doc, err := yaml.Marshal(map[string]any{
		"route":     map[string]any{"receiver": AlertmanagerReceiverName},
		"receivers": []any{rcv},
	})
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := amconfig.Load(string(doc))
	if err != nil {
		return nil, fmt.Errorf("config: %s", amError(err))
	}
	r := &c.Receivers[0]
	if integrations(r) == 0 {
		return nil, errors.New("config: no integration; give one of Alertmanager's *_configs lists (msteams_configs, webhook_configs, slack_configs, ...)")
	}
	return r, nil
}

// integrations counts a receiver's integrations (every *Configs list).
func integrations(r *amconfig.Receiver) int {
	n := 0
	v := reflect.ValueOf(r).Elem()
	for i := range v.NumField() {
		if f := v.Type().Field(i); f.Type.Kind() == reflect.Slice && strings.HasSuffix(f.Name, "Configs") {
			n += v.Field(i).Len()
		}
	}
	return n
}

var yamlLine = regexp.MustCompile(`line \d+: `)

// amError drops the line numbers of the document built above (they are
// not the user's) and the YAML decoder's preamble.
func amError(err error) string {
	s := yamlLine.ReplaceAllString(err.Error(), "")
	s = strings.TrimPrefix(s, "yaml: unmarshal errors:\n")
	return strings.Join(strings.Fields(s), " ")
}
