package alerting

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"strings"

	"github.com/prometheus/alertmanager/notify"
	commonversion "github.com/prometheus/common/version"
	"gopkg.in/yaml.v3"
)

// amVersion is the Alertmanager release whose packages and API Vigil runs,
// from the build information ("0.35.0").
func amVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/prometheus/alertmanager" {
				return strings.TrimPrefix(d.Version, "v")
			}
		}
	}
	return "0.35.0"
}

// setVersion fills the process-wide version that Alertmanager's packages
// read (prometheus/common/version): the status API reports the
// Alertmanager release, which amtool compares with its own by major.minor
// (Vigil's version there warned on every call), and Vigil's version in the
// branch and revision fields; notifications carry a full User-Agent
// (Alertmanager's was computed before any version was set: "Alertmanager/").
// Only empty fields are set, so a test or an embedding program keeps its
// own.
func setVersion(vigil, revision, buildDate string) {
	am := amVersion()
	if commonversion.Version == "" {
		commonversion.Version = am
	}
	if commonversion.Branch == "" && vigil != "" {
		commonversion.Branch = "vigil-" + vigil
	}
	if commonversion.Revision == "" {
		commonversion.Revision = revision
	}
	if commonversion.BuildDate == "" {
		commonversion.BuildDate = buildDate
	}
	ua := "Alertmanager/" + am
	if vigil != "" {
		ua += " Vigil/" + vigil
	}
	notify.UserAgentHeader = ua
}

// secretKeys are configuration keys whose values are hidden in the
// configuration dump; urlKeys among them must still parse as URLs for
// amtool 0.25.
var (
	secretKeys = map[string]bool{
		"password": true, "auth_password": true, "auth_secret": true, "secret": true, "client_secret": true, "api_secret": true,
		"routing_key": true, "service_key": true, "api_key": true, "user_key": true, "token": true, "bot_token": true,
		"access_token": true, "credentials": true, "bearer_token": true, "corp_secret": true, "app_secret": true,
		"url": true, "api_url": true, "webhook_url": true, "slack_api_url": true, "opsgenie_api_key": true,
		"victorops_api_key": true, "wechat_api_secret": true, "telegram_api_url": true, "rocketchat_token": true,
	}
	urlKeys = map[string]bool{"url": true, "api_url": true, "webhook_url": true, "slack_api_url": true, "telegram_api_url": true}
)

// hiddenURL stands for a hidden URL in the configuration dump.
const hiddenURL = "https://secret.invalid/"

// dumpConfig is the configuration as /api/v2/status shows it: the text the
// user wrote (Alertmanager's loader adds every default field of its release,
// which amtool 0.25's strict loader rejects: `amtool config routes` failed),
// with every secret value hidden ("<secret>", or a URL that parses where
// 0.25 expects a URL). Text that does not parse is not shown.
func dumpConfig(text string) string {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(text), &n); err != nil {
		return ""
	}
	hideSecrets(&n)
	b, err := yaml.Marshal(&n)
	if err != nil {
		return ""
	}
	return string(b)
}

func hideSecrets(n *yaml.Node) {
	n.Style &^= yaml.FlowStyle // block style: the dump reads as a file does
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			hideSecrets(c)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind == yaml.ScalarNode && secretKeys[k.Value] && v.Value != "" {
				v.Value, v.Tag, v.Style = "<secret>", "!!str", 0
				if urlKeys[k.Value] {
					v.Value = hiddenURL
				}
				continue
			}
			hideSecrets(v)
		}
	}
}

// amtoolStatus answers GET /api/v2/status with the configuration dump of
// dump() in place of Alertmanager's.
func amtoolStatus(next http.Handler, dump func() string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/api/v2/status") {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if d := dump(); rec.Code == http.StatusOK && d != "" {
			var st map[string]any
			if err := json.Unmarshal(body, &st); err == nil {
				if c, ok := st["config"].(map[string]any); ok {
					c["original"] = d
					var b bytes.Buffer
					if json.NewEncoder(&b).Encode(st) == nil {
						body = b.Bytes()
					}
				}
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	})
}
