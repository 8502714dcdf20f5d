package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/vigilhq/vigil/internal/apierr"
	"github.com/vigilhq/vigil/internal/state"
)

var migrations = []state.Migration{{
	Version: 1,
	Name:    "users, tokens, sessions, audit",
	SQL: `
CREATE TABLE auth_users (
	name          TEXT PRIMARY KEY,
	role          TEXT NOT NULL,
	password_hash TEXT NOT NULL DEFAULT '', -- '' for single-sign-on users
	source        TEXT NOT NULL DEFAULT 'local',
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
);
CREATE TABLE auth_tokens (
	id           TEXT PRIMARY KEY,
	hash         TEXT NOT NULL UNIQUE, -- SHA-256 of the token, hex
	name         TEXT NOT NULL,
	owner        TEXT NOT NULL,
	scopes       TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL DEFAULT 0,
	last_used_at INTEGER NOT NULL DEFAULT 0,
	revoked_at   INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE auth_sessions (
	id           TEXT PRIMARY KEY,     -- public ID, for lists and revocation
	hash         TEXT NOT NULL UNIQUE, -- SHA-256 of the cookie's secret, hex
	user_name    TEXT NOT NULL,
	csrf         TEXT NOT NULL,
	client       TEXT NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	revoked_at   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX auth_sessions_user ON auth_sessions(user_name);
CREATE TABLE auth_audit (
	id     INTEGER PRIMARY KEY AUTOINCREMENT,
	at     INTEGER NOT NULL, -- unix ms
	actor  TEXT NOT NULL,
	action TEXT NOT NULL,
	target TEXT NOT NULL DEFAULT '',
	client TEXT NOT NULL DEFAULT '',
	status INTEGER NOT NULL DEFAULT 0,
	detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX auth_audit_at ON auth_audit(at);
CREATE TABLE auth_setup (
	hash       TEXT PRIMARY KEY,
	expires_at INTEGER NOT NULL
);
`,
}}

// User is a local or single-sign-on user.
type User struct {
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Source    string    `json:"source"` // "local" or "oidc"
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Token describes an API token (never its secret).
type Token struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Owner      string     `json:"owner"`
	Scopes     []string   `json:"scopes"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	Revoked    bool       `json:"revoked"`

	scopes Scopes
	hash   string
}

// Session describes a browser session (never its cookie secret).
type Session struct {
	ID         string    `json:"id"`
	User       string    `json:"user"`
	Client     string    `json:"client"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`

	csrf string
	role Role
}

// Event is one audit log entry.
type Event struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`  // "user:alice", "token:ab12cd (ci)", "anonymous", "cli"
	Action string    `json:"action"` // "login", "login.failed", "POST /vigil/api/v1/users", "token.use"
	Target string    `json:"target,omitempty"`
	Client string    `json:"client,omitempty"` // remote address
	Status int       `json:"status,omitempty"` // HTTP status of a change
	Detail string    `json:"detail,omitempty"`
}

// Store keeps users, tokens, sessions and the audit log in the state
// database. It is safe for concurrent use; the vigil users command uses it
// on a stopped server's data folder.
type Store struct {
	db  *state.DB
	now func() time.Time
}

// OpenStore migrates the auth tables of db and returns a store. now may be
// nil (time.Now).
func OpenStore(ctx context.Context, db *state.DB, now func() time.Time) (*Store, error) {
	if err := db.Migrate(ctx, "auth", migrations); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now}, nil
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$`)

// CheckUserName validates a user name.
func CheckUserName(name string) error {
	if !nameRE.MatchString(name) {
		return apierr.New(apierr.Invalid, "invalid user name %q: want 1-64 letters, digits and . _ @ + - (starting with a letter or digit)", name)
	}
	return nil
}

// MinPasswordLen is the shortest password accepted (NIST SP 800-63B's
// floor for user-chosen secrets).
const MinPasswordLen = 8

// CheckPassword validates a new password.
func CheckPassword(pw string) error {
	if len(pw) < MinPasswordLen {
		return apierr.New(apierr.Invalid, "password too short: want at least %d characters", MinPasswordLen)
	}
	if len(pw) > 1024 {
		return apierr.New(apierr.Invalid, "password too long: want at most 1024 bytes")
	}
	return nil
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func optMS(v int64) *time.Time {
	if v == 0 {
		return nil
	}
	t := fromMS(v)
	return &t
}

// AddUser creates a local user. The password is hashed here.
func (s *Store) AddUser(ctx context.Context, name string, role Role, password string) error {
	if err := CheckUserName(name); err != nil {
		return err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return apierr.Wrap(apierr.Invalid, err, "add user %s", name)
	}
	if err := CheckPassword(password); err != nil {
		return err
	}
	hash, err := HashPassword(password, DefaultParams)
	if err != nil {
		return err
	}
	now := ms(s.now())
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM auth_users WHERE name = ?`, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return apierr.New(apierr.Conflict, "user %s already exists", name)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO auth_users (name, role, password_hash, source, created_at, updated_at) VALUES (?, ?, ?, 'local', ?, ?)`,
			name, string(role), hash, now, now)
		return err
	})
}

// EnsureSSOUser creates or updates a user signed in through OpenID
// Connect; its role follows the provider's groups at every login.
func (s *Store) EnsureSSOUser(ctx context.Context, name string, role Role) error {
	if err := CheckUserName(name); err != nil {
		return err
	}
	now := ms(s.now())
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		// A local user of the same name is not taken over by the provider.
		var source string
		err := tx.QueryRowContext(ctx, `SELECT source FROM auth_users WHERE name = ?`, name).Scan(&source)
		if err == nil && source != "oidc" {
			return apierr.New(apierr.Conflict, "a local user named %s exists; single sign-on cannot use that name", name)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO auth_users (name, role, source, created_at, updated_at) VALUES (?, ?, 'oidc', ?, ?)
			ON CONFLICT(name) DO UPDATE SET role = excluded.role, updated_at = excluded.updated_at`, name, string(role), now, now)
		return err
	})
}

// SetPassword replaces a local user's password and ends their sessions.
func (s *Store) SetPassword(ctx context.Context, name, password string) error {
	if err := CheckPassword(password); err != nil {
		return err
	}
	hash, err := HashPassword(password, DefaultParams)
	if err != nil {
		return err
	}
	now := ms(s.now())
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE auth_users SET password_hash = ?, updated_at = ? WHERE name = ? AND source = 'local'`, hash, now, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apierr.New(apierr.NotFound, "no local user %s", name)
		}
		_, err = tx.ExecContext(ctx, `UPDATE auth_sessions SET revoked_at = ? WHERE user_name = ? AND revoked_at = 0`, now, name)
		return err
	})
}

// SetRole changes a user's role; it takes effect on their next request.
func (s *Store) SetRole(ctx context.Context, name string, role Role) error {
	if _, err := ParseRole(string(role)); err != nil {
		return apierr.Wrap(apierr.Invalid, err, "set role of %s", name)
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE auth_users SET role = ?, updated_at = ? WHERE name = ?`, string(role), ms(s.now()), name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apierr.New(apierr.NotFound, "no user %s", name)
		}
		return keepAnAdmin(ctx, tx)
	})
}

// DeleteUser removes a user, ends their sessions and revokes their tokens.
// It returns the IDs of the tokens it revoked.
func (s *Store) DeleteUser(ctx context.Context, name string) ([]string, error) {
	var revoked []string
	now := ms(s.now())
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM auth_users WHERE name = ?`, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apierr.New(apierr.NotFound, "no user %s", name)
		}
		if err := keepAnAdmin(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM auth_sessions WHERE user_name = ?`, name); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT id FROM auth_tokens WHERE owner = ? AND revoked_at = 0`, name)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			revoked = append(revoked, id)
		}
		rows.Close()
		_, err = tx.ExecContext(ctx, `UPDATE auth_tokens SET revoked_at = ? WHERE owner = ? AND revoked_at = 0`, now, name)
		return err
	})
	return revoked, err
}

// keepAnAdmin fails (rolling the change back) when no admin would
// be left, so that nobody locks everyone out of user management.
func keepAnAdmin(ctx context.Context, tx *sql.Tx) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM auth_users WHERE role = 'admin'`).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return apierr.New(apierr.Conflict, "refused: no admin would be left; make another user admin first (vigil users role NAME admin)")
	}
	return nil
}

// Users lists every user by name.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, role, source, created_at, updated_at FROM auth_users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		var u User
		var c, up int64
		if err := rows.Scan(&u.Name, &u.Role, &u.Source, &c, &up); err != nil {
			return nil, err
		}
		u.CreatedAt, u.UpdatedAt = fromMS(c), fromMS(up)
		out = append(out, u)
	}
	return out, rows.Err()
}

// CountUsers returns how many users exist.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM auth_users`).Scan(&n)
	return n, err
}

// credentials returns a local user's role and password hash; found is
// false for unknown and single-sign-on users.
func (s *Store) credentials(ctx context.Context, name string) (role Role, hash string, found bool, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT role, password_hash FROM auth_users WHERE name = ? AND source = 'local'`, name).Scan(&role, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", false, nil
	}
	return role, hash, err == nil, err
}

// createToken stores a new token for owner and returns its secret (shown
// once) and description.
func (s *Store) createToken(ctx context.Context, name, owner string, scopes Scopes, expires time.Time) (string, Token, error) {
	secret := newToken()
	t := Token{ID: newID(), Name: name, Owner: owner, Scopes: scopeNames(scopes), CreatedAt: s.now().UTC(), scopes: scopes, hash: digest(secret)}
	var exp int64
	if !expires.IsZero() {
		e := expires.UTC()
		t.ExpiresAt, exp = &e, ms(e)
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO auth_tokens (id, hash, name, owner, scopes, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.hash, name, owner, scopes.String(), ms(t.CreatedAt), exp)
		return err
	})
	if err != nil {
		return "", Token{}, fmt.Errorf("create token: %w", err)
	}
	return secret, t, nil
}

func scopeNames(ss Scopes) []string {
	l := ss.List()
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = string(s)
	}
	return out
}

// tokens lists tokens; owner "" lists everyone's. Revoked tokens are
// included only when withRevoked.
func (s *Store) tokens(ctx context.Context, owner string, withRevoked bool) ([]Token, error) {
	q := `SELECT id, hash, name, owner, scopes, created_at, expires_at, last_used_at, revoked_at FROM auth_tokens WHERE (? = '' OR owner = ?)`
	if !withRevoked {
		q += ` AND revoked_at = 0`
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY created_at, id`, owner, owner)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		var t Token
		var scopes string
		var c, e, l, r int64
		if err := rows.Scan(&t.ID, &t.hash, &t.Name, &t.Owner, &scopes, &c, &e, &l, &r); err != nil {
			return nil, err
		}
		t.scopes, _ = ParseScopes([]string{scopes})
		t.Scopes = scopeNames(t.scopes)
		t.CreatedAt, t.ExpiresAt, t.LastUsedAt, t.Revoked = fromMS(c), optMS(e), optMS(l), r != 0
		out = append(out, t)
	}
	return out, rows.Err()
}

// revokeToken marks a token revoked and returns it.
func (s *Store) revokeToken(ctx context.Context, id string) (Token, error) {
	var t Token
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var scopes string
		if err := tx.QueryRowContext(ctx, `SELECT hash, name, owner, scopes FROM auth_tokens WHERE id = ? AND revoked_at = 0`, id).Scan(&t.hash, &t.Name, &t.Owner, &scopes); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return apierr.New(apierr.NotFound, "no active token with ID %s", id)
			}
			return err
		}
		t.ID = id
		t.Scopes = strings.Split(scopes, ",")
		_, err := tx.ExecContext(ctx, `UPDATE auth_tokens SET revoked_at = ? WHERE id = ?`, ms(s.now()), id)
		return err
	})
	return t, err
}

// touchTokens records last-used times.
func (s *Store) touchTokens(ctx context.Context, used map[string]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		for id, at := range used {
			if _, err := tx.ExecContext(ctx, `UPDATE auth_tokens SET last_used_at = MAX(last_used_at, ?) WHERE id = ?`, ms(at), id); err != nil {
				return err
			}
		}
		return nil
	})
}

// createSession stores a session and returns the cookie secret.
func (s *Store) createSession(ctx context.Context, user, client string, absolute time.Duration) (string, Session, error) {
	secret := newSecret()
	now := s.now().UTC()
	sess := Session{ID: newID(), User: user, Client: client, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(absolute), csrf: newSecret()}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO auth_sessions (id, hash, user_name, csrf, client, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			sess.ID, digest(secret), user, sess.csrf, client, ms(now), ms(now), ms(sess.ExpiresAt))
		return err
	})
	if err != nil {
		return "", Session{}, fmt.Errorf("create session: %w", err)
	}
	return secret, sess, nil
}

// session finds a live session by its cookie secret, with its user's
// current role. found is false for unknown, revoked and expired sessions
// and for sessions whose user is gone.
func (s *Store) session(ctx context.Context, secret string, idle time.Duration) (Session, bool, error) {
	var sess Session
	var c, l, e int64
	err := s.db.QueryRowContext(ctx, `SELECT s.id, s.user_name, s.csrf, s.client, s.created_at, s.last_seen_at, s.expires_at, u.role
		FROM auth_sessions s JOIN auth_users u ON u.name = s.user_name
		WHERE s.hash = ? AND s.revoked_at = 0`, digest(secret)).Scan(&sess.ID, &sess.User, &sess.csrf, &sess.Client, &c, &l, &e, &sess.role)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, false, nil
	}
	if err != nil {
		return Session{}, false, fmt.Errorf("read session: %w", err)
	}
	sess.CreatedAt, sess.LastSeenAt, sess.ExpiresAt = fromMS(c), fromMS(l), fromMS(e)
	now := s.now()
	if !now.Before(sess.ExpiresAt) || (idle > 0 && now.Sub(sess.LastSeenAt) >= idle) {
		return Session{}, false, nil
	}
	return sess, true, nil
}

func (s *Store) touchSession(ctx context.Context, id string, at time.Time) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE auth_sessions SET last_seen_at = ? WHERE id = ?`, ms(at), id)
		return err
	})
}

// RevokeSession ends a session; user "" ends anyone's.
func (s *Store) RevokeSession(ctx context.Context, id, user string) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE auth_sessions SET revoked_at = ? WHERE id = ? AND revoked_at = 0 AND (? = '' OR user_name = ?)`, ms(s.now()), id, user, user)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apierr.New(apierr.NotFound, "no active session with ID %s", id)
		}
		return nil
	})
}

// Sessions lists live sessions; user "" lists everyone's.
func (s *Store) Sessions(ctx context.Context, user string) ([]Session, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, user_name, client, created_at, last_seen_at, expires_at FROM auth_sessions
		WHERE revoked_at = 0 AND expires_at > ? AND (? = '' OR user_name = ?) ORDER BY created_at`, ms(s.now()), user, user)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var x Session
		var c, l, e int64
		if err := rows.Scan(&x.ID, &x.User, &x.Client, &c, &l, &e); err != nil {
			return nil, err
		}
		x.CreatedAt, x.LastSeenAt, x.ExpiresAt = fromMS(c), fromMS(l), fromMS(e)
		out = append(out, x)
	}
	return out, rows.Err()
}

// Audit appends an event to the audit log.
func (s *Store) Audit(ctx context.Context, e Event) error {
	if e.At.IsZero() {
		e.At = s.now()
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO auth_audit (at, actor, action, target, client, status, detail) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			ms(e.At), e.Actor, e.Action, e.Target, e.Client, e.Status, e.Detail)
		return err
	})
}

// AuditQuery selects audit events.
type AuditQuery struct {
	Since, Until time.Time
	Actor        string // exact
	Action       string // prefix
	Limit        int    // default 100, at most 1000
	BeforeID     int64  // page backwards from this ID
}

// AuditEvents returns events newest first.
func (s *Store) AuditEvents(ctx context.Context, q AuditQuery) ([]Event, error) {
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 100
	}
	var until int64 = 1<<63 - 1
	if !q.Until.IsZero() {
		until = ms(q.Until)
	}
	var before int64 = 1<<63 - 1
	if q.BeforeID > 0 {
		before = q.BeforeID
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, at, actor, action, target, client, status, detail FROM auth_audit
		WHERE at >= ? AND at <= ? AND id < ? AND (? = '' OR actor = ?) AND (? = '' OR substr(action, 1, length(?)) = ?)
		ORDER BY id DESC LIMIT ?`, ms(q.Since), until, before, q.Actor, q.Actor, q.Action, q.Action, q.Action, q.Limit)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.Client, &e.Status, &e.Detail); err != nil {
			return nil, err
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// prune deletes sessions that ended more than a day ago and audit
// events older than auditBefore.
func (s *Store) prune(ctx context.Context, auditBefore time.Time) error {
	day := ms(s.now().Add(-24 * time.Hour))
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM auth_sessions WHERE expires_at < ? OR (revoked_at > 0 AND revoked_at < ?)`, day, day); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM auth_audit WHERE at < ?`, ms(auditBefore))
		return err
	})
}

// createSetup stores a one-time setup secret and returns it.
func (s *Store) createSetup(ctx context.Context, ttl time.Duration) (string, error) {
	secret := newSecret()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM auth_setup`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO auth_setup (hash, expires_at) VALUES (?, ?)`, digest(secret), ms(s.now().Add(ttl)))
		return err
	})
	return secret, err
}

// completeSetup creates the first admin if secret is the live setup secret
// and no user exists yet; it consumes the secret.
func (s *Store) completeSetup(ctx context.Context, secret, name, password string) error {
	if err := CheckUserName(name); err != nil {
		return err
	}
	if err := CheckPassword(password); err != nil {
		return err
	}
	hash, err := HashPassword(password, DefaultParams)
	if err != nil {
		return err
	}
	now := ms(s.now())
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM auth_setup WHERE hash = ? AND expires_at > ?`, digest(secret), now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errSetupInvalid
		}
		var users int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM auth_users`).Scan(&users); err != nil {
			return err
		}
		if users > 0 {
			return errSetupInvalid
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO auth_users (name, role, password_hash, source, created_at, updated_at) VALUES (?, 'admin', ?, 'local', ?, ?)`, name, hash, now, now)
		return err
	})
}

var errSetupInvalid = apierr.New(apierr.Invalid, "this setup link is no longer valid (already used, expired, or an admin exists); restart vigil with no users for a new one, or use vigil users add")
