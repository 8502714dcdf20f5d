package outbox

import "github.com/vigilhq/vigil/internal/state"

// migrations are the outbox's tables in the shared state database. Append
// new migrations; never edit a released one.
var migrations = []state.Migration{
	{Version: 1, Name: "messages", SQL: `
CREATE TABLE outbox_messages (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	channel         TEXT    NOT NULL,
	key             TEXT    NOT NULL,
	dedup           TEXT    NOT NULL DEFAULT '',
	payload         BLOB    NOT NULL,
	status          TEXT    NOT NULL,          -- see Status in message.go
	attempts        INTEGER NOT NULL DEFAULT 0,
	created_at      INTEGER NOT NULL,          -- unix milliseconds
	updated_at      INTEGER NOT NULL,
	next_attempt_at INTEGER NOT NULL,
	give_up_at      INTEGER NOT NULL,
	last_error      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX outbox_messages_due ON outbox_messages (status, next_attempt_at);
CREATE INDEX outbox_messages_key ON outbox_messages (channel, key, id);
`},
	{Version: 2, Name: "lanes", SQL: `
ALTER TABLE outbox_messages ADD COLUMN lane TEXT NOT NULL DEFAULT '';
CREATE INDEX outbox_messages_lane ON outbox_messages (status, channel, lane, next_attempt_at);
`},
}
