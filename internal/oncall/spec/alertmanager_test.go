package spec

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestAlertmanagerContactMethod(t *testing.T) {
	f := func(cfg map[string]any, wantErr string) {
		t.Helper()
		cm := ContactMethod{Type: Alertmanager, Config: cfg}
		errs := cm.Validate()
		if wantErr == "" {
			if len(errs) > 0 {
				t.Fatalf("%v: %v", cfg, errs)
			}
			r, err := cm.AlertmanagerReceiver()
			if err != nil || r.Name != AlertmanagerReceiverName {
				t.Fatalf("%v: %v %+v", cfg, err, r)
			}
			return
		}
		if len(errs) != 1 || errs[0].Field != "config" || !strings.Contains(errs[0].Msg, wantErr) {
			t.Fatalf("%v: want config: ...%s..., got %v", cfg, wantErr, errs)
		}
		if strings.Contains(errs[0].Msg, "line ") {
			t.Fatalf("the error names a line of a document the user never wrote: %s", errs[0].Msg)
		}
	}
	teams := func(c map[string]any) map[string]any { return map[string]any{"msteams_configs": []any{c}} }
	f(teams(map[string]any{"webhook_url": "https://example.webhook.office.com/x"}), "")
	f(map[string]any{"webhook_configs": []any{map[string]any{"url": "http://127.0.0.1:1/hook", "max_alerts": 5}}, "telegram_configs": []any{map[string]any{"bot_token": "t", "chat_id": 1}}}, "")
	f(nil, "needs config")
	f(map[string]any{}, "needs config")
	f(map[string]any{"labels": map[string]any{"a": "b"}}, "no integration")
	f(teams(map[string]any{}), "webhook_url")
	f(teams(map[string]any{"webhook_url": "https://x", "colour": "red"}), "field colour not found")
	f(map[string]any{"carrier_pigeon_configs": []any{}}, "carrier_pigeon_configs")
	f(map[string]any{"name": "x", "webhook_configs": []any{map[string]any{"url": "http://x"}}}, "leave out name")
	f(map[string]any{"email_configs": []any{map[string]any{"to": "a@example.com"}}}, "smarthost")

	// config belongs to type alertmanager only.
	errs := ContactMethod{Type: Webhook, URL: "http://x", Config: map[string]any{"a": 1}}.Validate()
	if len(errs) != 1 || errs[0].Field != "config" {
		t.Fatalf("config on a webhook: %v", errs)
	}
}

// FuzzAlertmanagerReceiver: any JSON config is an error or a receiver
// with an integration, never a panic.
func FuzzAlertmanagerReceiver(f *testing.F) {
	for _, s := range []string{
		`{"msteams_configs":[{"webhook_url":"https://example.webhook.office.com/x"}]}`,
		`{"webhook_configs":[{"url":"http://127.0.0.1:1/h","max_alerts":3}],"telegram_configs":[{"bot_token":"t","chat_id":1}]}`,
		`{"email_configs":[{"to":"a@example.com","smarthost":"mail:25","from":"v@example.com"}]}`,
		`{"slack_configs":[{"api_url":"https://hooks.slack.com/x","channel":"#a"}]}`,
		`{"labels":{"a":"b"}}`, `{"name":"x"}`, `{"x_configs":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var cfg map[string]any
		if json.Unmarshal(b, &cfg) != nil {
			return
		}
		r, err := ContactMethod{Type: Alertmanager, Config: cfg}.AlertmanagerReceiver()
		if err == nil && (r == nil || integrations(r) == 0) {
			t.Fatalf("accepted %s without an integration", b)
		}
	})
}
