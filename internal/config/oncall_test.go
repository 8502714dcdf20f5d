package config

import (
	"strings"
	"testing"
)

const onCallYAML = `alerting:
  route: {receiver: pager}
  receivers:
    - name: pager
oncall:
  receivers:
    - {name: pager, escalation_policy: default}
  users:
    - name: alice
      email: alice@example.com
      contact_methods: [{type: email, address: alice@example.com}]
    - name: bob
  schedules:
    - name: primary
      time_zone: Europe/Berlin
      layers:
        - {start: "2026-01-05T09:00", shift: 1w, users: [alice, bob]}
  escalation_policies:
    - name: default
      steps:
        - targets: [{schedule: primary}]
          delay: 1m
        - targets: [{user: bob}]
`

func TestOnCallSection(t *testing.T) {
	c, err := Parse([]byte(onCallYAML), "vigil.yaml")
	if err != nil {
		t.Fatal(err)
	}
	o := c.OnCall
	if len(o.Users) != 2 || len(o.Schedules) != 1 || len(o.Policies) != 1 || o.Receivers[0].EscalationPolicy != "default" {
		t.Fatalf("oncall = %+v", o)
	}
	if !*o.Incidents.AutoResolve || o.Incidents.ReopenWindow.D().Hours() != 1 || o.Links.TTL.D().Hours() != 24 {
		t.Fatalf("defaults: %+v", o.Incidents)
	}
}

// Every error names file:line and the field.
func TestOnCallErrors(t *testing.T) {
	f := func(from, to, want string) {
		t.Helper()
		text := strings.Replace(onCallYAML, from, to, 1)
		if text == onCallYAML {
			t.Fatalf("%q not in the config", from)
		}
		_, err := Parse([]byte(text), "vigil.yaml")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("replace %q: error %v; want %q", from, err, want)
		}
	}
	f("{name: pager, escalation_policy: default}", "{name: pager, escalation_policy: nope}", `vigil.yaml:7: oncall.receivers.0.escalation_policy: unknown escalation policy "nope"`)
	f("{name: pager, escalation_policy: default}", "{name: other, escalation_policy: default}", `vigil.yaml:7: oncall.receivers.0.name: unknown receiver "other"`)
	f("time_zone: Europe/Berlin", "time_zone: Europe/Atlantis", `vigil.yaml:15: oncall.schedules.0.time_zone: unknown time zone "Europe/Atlantis"`)
	f("users: [alice, bob]}", "users: [alice, carol]}", `vigil.yaml:17: oncall.schedules.0.layers.0.users.1: unknown user "carol"`)
	f("shift: 1w", "shift: weekly", `vigil.yaml:17: oncall.schedules.0.layers.0.shift: invalid shift length "weekly"`)
	f("targets: [{user: bob}]", "targets: [{user: mallory}]", `vigil.yaml:23: oncall.escalation_policies.0.steps.1.targets.0.user: unknown user "mallory"`)
	f("delay: 1m", "delay: later", `vigil.yaml:22: oncall.escalation_policies.0.steps.0.delay: invalid delay "later"`)
	f("address: alice@example.com}", "address: alice}", `vigil.yaml:11: oncall.users.0.contact_methods.0.address: "alice" is not an email address`)
	f("  users:\n", "  smtp: {smarthost: nohost}\n  users:\n", `vigil.yaml:8: oncall.smtp.smarthost: "nohost": want host:port`)
	f("  users:\n", "  colour: blue\n  users:\n", `vigil.yaml:8: field colour not found`)
	f("layers:\n", "overrides: [{user: bob, start: \"2026-02-01\", end: \"2026-02-03\"}, {user: alice, start: \"2026-02-02\", end: \"2026-02-04\"}]\n      layers:\n", `oncall.schedules.0.overrides: override 1 (alice`)
}
