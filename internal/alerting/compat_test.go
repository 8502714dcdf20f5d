package alerting

import (
	"strings"
	"testing"

	"github.com/prometheus/alertmanager/notify"
	"gopkg.in/yaml.v3"
)

func TestDumpConfigHidesSecrets(t *testing.T) {
	f := func(in string, want, hidden []string) {
		t.Helper()
		got := dumpConfig(in)
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Fatalf("dump of %q lacks %q:\n%s", in, w, got)
			}
		}
		for _, h := range hidden {
			if strings.Contains(got, h) {
				t.Fatalf("dump of %q shows %q:\n%s", in, h, got)
			}
		}
	}
	f("route: {receiver: a}\nreceivers:\n  - name: a\n    webhook_configs: [{url: 'http://x/tok123', send_resolved: false}]\n",
		[]string{"receiver: a", "url: " + hiddenURL, "send_resolved: false"}, []string{"tok123"})
	f("global: {slack_api_url: 'https://hooks/s3cr3t', smtp_auth_password: pw}\nreceivers:\n  - name: p\n    pagerduty_configs: [{routing_key: abcdef}]\n    email_configs: [{to: a@b, auth_password: hunter2}]\n",
		[]string{"routing_key: <secret>", "auth_password: <secret>", "to: a@b"}, []string{"s3cr3t", "abcdef", "hunter2"})
	f("route: [\n", nil, nil)
	if dumpConfig("a: [") != "" {
		t.Fatal("broken YAML dumped")
	}
}

func FuzzDumpConfig(f *testing.F) {
	f.Add("route: {receiver: a}\nreceivers: [{name: a, webhook_configs: [{url: 'http://x'}]}]\n")
	f.Add("url: http://a\n")
	f.Add("a: &x {url: b}\nc: *x\n")
	f.Fuzz(func(t *testing.T, s string) {
		// Whatever the input: no panic, and a dump is YAML again.
		var n yaml.Node
		if d := dumpConfig(s); d != "" && yaml.Unmarshal([]byte(d), &n) != nil {
			t.Fatalf("dump is not YAML:\n%s", d)
		}
	})
}

func TestUserAgentHasVersions(t *testing.T) {
	setVersion("1.2.3", "abc", "")
	if ua := notify.UserAgentHeader; !strings.HasPrefix(ua, "Alertmanager/0.") || !strings.HasSuffix(ua, " Vigil/1.2.3") {
		t.Fatalf("User-Agent = %q", ua)
	}
}
