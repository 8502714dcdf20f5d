package oncall

import "github.com/vigilhq/vigil/internal/state"

// migrations are the on-call tables in the shared state database. Append
// new migrations; never edit a released one. Times are unix milliseconds.
var migrations = []state.Migration{
	{Version: 1, Name: "objects, incidents, timeline, escalation steps, links", SQL: `
CREATE TABLE oncall_objects (
	kind       TEXT    NOT NULL,              -- user | team | schedule | policy
	name       TEXT    NOT NULL,
	source     TEXT    NOT NULL,              -- config | api
	spec       TEXT    NOT NULL,              -- JSON in oncall/spec's schema
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (kind, name)
);
CREATE TABLE oncall_overrides (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	schedule   TEXT    NOT NULL,
	user       TEXT    NOT NULL,
	start_at   INTEGER NOT NULL,
	end_at     INTEGER NOT NULL,
	source     TEXT    NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE INDEX oncall_overrides_schedule ON oncall_overrides (schedule, start_at);

CREATE TABLE oncall_incidents (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	key           TEXT    NOT NULL,           -- alert group, events v2 dedup key or manual
	source        TEXT    NOT NULL,           -- alertmanager | events_v2 | manual
	receiver      TEXT    NOT NULL DEFAULT '',
	title         TEXT    NOT NULL,
	severity      TEXT    NOT NULL DEFAULT '',
	priority      TEXT    NOT NULL DEFAULT '',
	team          TEXT    NOT NULL DEFAULT '',
	service       TEXT    NOT NULL DEFAULT '',
	policy        TEXT    NOT NULL DEFAULT '',
	state         TEXT    NOT NULL,           -- triggered | acknowledged | resolved
	assignee      TEXT    NOT NULL DEFAULT '',
	auto_resolve  INTEGER NOT NULL DEFAULT 1,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL,
	acked_at      INTEGER NOT NULL DEFAULT 0,
	acked_by      TEXT    NOT NULL DEFAULT '',
	resolved_at   INTEGER NOT NULL DEFAULT 0,
	resolved_by   TEXT    NOT NULL DEFAULT '',
	snoozed_until INTEGER NOT NULL DEFAULT 0,
	esc_loop      INTEGER NOT NULL DEFAULT 0,
	esc_step      INTEGER NOT NULL DEFAULT -1,
	labels        TEXT    NOT NULL DEFAULT '{}',
	details       TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX oncall_incidents_key ON oncall_incidents (key, id);
CREATE INDEX oncall_incidents_state ON oncall_incidents (state, created_at);
CREATE INDEX oncall_incidents_created ON oncall_incidents (created_at);

CREATE TABLE oncall_alerts (
	incident_id   INTEGER NOT NULL,
	fingerprint   TEXT    NOT NULL,
	status        TEXT    NOT NULL,           -- firing | resolved
	labels        TEXT    NOT NULL,
	annotations   TEXT    NOT NULL,
	starts_at     INTEGER NOT NULL,
	ends_at       INTEGER NOT NULL,
	generator_url TEXT    NOT NULL DEFAULT '',
	PRIMARY KEY (incident_id, fingerprint)
);

CREATE TABLE oncall_timeline (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	incident_id INTEGER NOT NULL,
	ts          INTEGER NOT NULL,
	kind        TEXT    NOT NULL,
	actor       TEXT    NOT NULL DEFAULT '',
	user        TEXT    NOT NULL DEFAULT '',   -- the user a notification was for
	channel     TEXT    NOT NULL DEFAULT '',
	detail      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX oncall_timeline_incident ON oncall_timeline (incident_id, id);
CREATE INDEX oncall_timeline_kind_ts ON oncall_timeline (kind, ts);

-- Escalation steps: a row per step with its due time. The scheduler
-- claims due rows and executes each in one transaction with the
-- notifications it enqueues and the next step it schedules.
CREATE TABLE oncall_steps (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	incident_id INTEGER NOT NULL,
	kind        TEXT    NOT NULL,              -- escalate | assign | unsnooze
	loop        INTEGER NOT NULL DEFAULT 0,
	step        INTEGER NOT NULL DEFAULT 0,
	user        TEXT    NOT NULL DEFAULT '',   -- assign: the assignee
	due_at      INTEGER NOT NULL,
	state       TEXT    NOT NULL,              -- pending | done | cancelled
	created_at  INTEGER NOT NULL,
	done_at     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX oncall_steps_due ON oncall_steps (state, due_at);
CREATE INDEX oncall_steps_incident ON oncall_steps (incident_id, state);

CREATE TABLE oncall_links_used (
	nonce   TEXT    PRIMARY KEY,
	used_at INTEGER NOT NULL
);
CREATE TABLE oncall_kv (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
`},
}
