package alerting

import "github.com/vigilhq/vigil/internal/state"

// migrations are the alerting tables in the shared state database. Append
// new migrations; never edit a released one.
var migrations = []state.Migration{
	{Version: 1, Name: "ledger and outbox", SQL: `
CREATE TABLE alerting_ledger (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	ts          INTEGER NOT NULL,              -- unix milliseconds
	fingerprint TEXT    NOT NULL,
	alertname   TEXT    NOT NULL DEFAULT '',
	kind        TEXT    NOT NULL,              -- see Event kinds in ledger.go
	receiver    TEXT    NOT NULL DEFAULT '',
	integration TEXT    NOT NULL DEFAULT '',
	group_key   TEXT    NOT NULL DEFAULT '',
	notification_id INTEGER NOT NULL DEFAULT 0,
	detail      TEXT    NOT NULL DEFAULT '',
	labels      TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX alerting_ledger_fp_ts ON alerting_ledger (fingerprint, ts);
CREATE INDEX alerting_ledger_ts ON alerting_ledger (ts);

CREATE TABLE alerting_outbox (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	receiver        TEXT    NOT NULL,
	integration     TEXT    NOT NULL,
	idx             INTEGER NOT NULL,
	group_key       TEXT    NOT NULL,
	dedup_key       TEXT    NOT NULL,
	firing          TEXT    NOT NULL,          -- sorted alert hashes, as nflog keeps them
	resolved        TEXT    NOT NULL,
	repeat_ms       INTEGER NOT NULL,
	payload         TEXT    NOT NULL,          -- JSON: what Notify needs
	status          TEXT    NOT NULL,          -- pending | delivered | failed | superseded
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	give_up_at      INTEGER NOT NULL,
	last_error      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX alerting_outbox_due ON alerting_outbox (status, next_attempt_at);
CREATE INDEX alerting_outbox_key ON alerting_outbox (dedup_key, id);
`},
	// The outbox moved to its own package (internal/outbox, table
	// outbox_messages, which must exist first). Entries keep their IDs, so
	// the ledger's notification IDs still name them; the columns only
	// alerting understood go into the payload (see notification).
	{Version: 2, Name: "outbox moved to internal/outbox", SQL: `
INSERT INTO outbox_messages (id, channel, key, dedup, payload, status, attempts, created_at, updated_at, next_attempt_at, give_up_at, last_error)
SELECT id, '` + channel + `', dedup_key, firing || '|' || resolved,
	json_set(payload, '$.receiver', receiver, '$.integration', integration, '$.idx', idx, '$.groupKey', group_key,
		'$.firing', json(firing), '$.resolved', json(resolved), '$.repeatMs', repeat_ms),
	status, attempts, created_at, updated_at, next_attempt_at, give_up_at, last_error
FROM alerting_outbox ORDER BY id;
DROP TABLE alerting_outbox;
`},
}
