// Package oncall is Vigil's on-call feature: users, teams, schedules,
// escalation policies and incidents, with PagerDuty's semantics.
//
// Objects come from the configuration file (applied at start and on
// reload) and from the API (kept across reloads); all live in the shared
// state database, and a validated in-memory catalog answers "who is on
// call". Incidents are opened from alert groups (the intake channel that
// alerting enqueues to), from PagerDuty Events API v2 requests and by hand.
// Escalation steps are rows with a due time (steps.go), executed by the
// scheduler each in one transaction with the notifications it enqueues to
// the durable outbox, so a crash repeats a step at most once and skips
// none. Notifications carry signed acknowledge/resolve links (links.go).
package oncall

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilhq/vigil/internal/apierr"
	"github.com/vigilhq/vigil/internal/oncall/spec"
	"github.com/vigilhq/vigil/internal/state"
)

// Message is one notification for the outbox.
type Message struct {
	// Key identifies the notification; enqueueing the same key twice
	// (a step executed again after a crash) may deliver it twice.
	Key     string
	Channel string
	Payload []byte
	// GiveUpAt is when the outbox stops retrying.
	GiveUpAt time.Time
}

// Outbox is the durable outbox. Enqueue writes m in tx (the caller's
// transaction): it is delivered, with retries, after tx commits and only
// if it commits. It must be safe for concurrent use.
type Outbox interface {
	Enqueue(ctx context.Context, tx *sql.Tx, m Message) error
}

// Channels the on-call feature delivers (see Deliverers) and the one it
// consumes (Intake, enqueued by alerting for incident receivers).
const (
	ChannelEmail     = "oncall-email"
	ChannelSlack     = "oncall-slack"
	ChannelWebhook   = "oncall-webhook"
	ChannelPagerDuty = "oncall-pagerduty"
	ChannelOpsgenie  = "oncall-opsgenie"
	// ChannelAlertmanager carries one Alertmanager integration of a
	// contact method of type alertmanager per message (am.go).
	ChannelAlertmanager = "oncall-alertmanager"
	ChannelIntake       = "oncall-intake"
)

// Options configure New. DB is required; without Outbox notifications
// are recorded on the timeline as undeliverable.
type Options struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	DB         *state.DB
	Outbox     Outbox
	// Now is the clock (tests inject one). Default time.Now.
	Now func() time.Time
	// Identity names the caller of an API request ("" when unknown); the
	// server fills it from authentication. Without it, the request's
	// "user" field is taken.
	Identity func(*http.Request) string
	// SeesSecrets says whether a request's caller may read contact
	// methods' secrets (webhook URLs, routing and API keys, an
	// Alertmanager method's credentials); the others get "<secret>" in
	// their place, as Alertmanager's status shows its config. Nil: every
	// caller may (authentication off). The server allows callers with the
	// write scope, who may replace those objects anyway.
	SeesSecrets func(*http.Request) bool
	// Ledger reads the alert ledger for incidents' timelines; nil: the
	// timeline has on-call's own entries only.
	Ledger Ledger
	// HTTPClient sends webhooks, Slack, PagerDuty and Opsgenie requests.
	HTTPClient *http.Client
	// PollInterval is the longest the scheduler sleeps between looks at
	// due steps. Default 1s.
	PollInterval time.Duration
	// BatchSize is how many due steps one transaction executes. Default 200.
	BatchSize int
	Config    Config
}

// Config is what can change on reload.
type Config struct {
	Objects spec.Objects
	// ExternalURL is the base of links ("http://host:9797").
	ExternalURL string
	// LinkSecret signs acknowledge links; empty: a key kept in the database.
	LinkSecret string
	LinkTTL    time.Duration // default 24h
	SMTP       SMTP
	Slack      Slack
	// AutoResolve resolves alert-group incidents when every alert resolved.
	AutoResolve bool
	// ReopenWindow: a group firing again this soon after its incident
	// resolved reopens it.
	ReopenWindow time.Duration
	Receivers    []Receiver
	EventsV2     []RoutingKey
	Mirrors      []Mirror
	// GiveUpAfter bounds a notification's retries. Default 24h.
	GiveUpAfter time.Duration
}

// SMTP is the mail server for email.
type SMTP struct {
	Smarthost, From, Hello   string
	AuthUsername, AuthPasswd string
	RequireTLS               bool
}

// Slack holds the signing secret (interactive buttons) and bot token
// (direct messages).
type Slack struct {
	SigningSecret, BotToken, APIURL string
}

// Receiver is an alerting receiver that opens incidents.
type Receiver struct {
	Name, Policy, Team, Service string
	AutoResolve                 *bool
	// Public puts its incidents on the status page as they open.
	Public bool
}

// RoutingKey is an Events API v2 routing key.
type RoutingKey struct {
	Key, Policy, Team, Service string
	// Public puts its incidents on the status page as they open.
	Public bool
}

// Mirror sends every incident's trigger/acknowledge/resolve to PagerDuty
// or Opsgenie.
type Mirror struct {
	Type       string // pagerduty | opsgenie
	RoutingKey string
	APIKey     string
	URL        string
}

// OnCall is the on-call component.
type OnCall struct {
	opts   Options
	logger *slog.Logger
	db     *state.DB
	now    func() time.Time
	m      *selfMetrics
	client *http.Client

	cfgMu  sync.Mutex
	cfg    atomic.Pointer[Config]
	cat    atomic.Pointer[catalog]
	secret atomic.Pointer[[]byte]
	wake   chan struct{}
	am     amIntegrations
	// pending is a prepared reload not yet committed (guarded by cfgMu).
	pending *pendingConfig
}

// New migrates the schema and applies opts.Config.
func New(opts Options) (*OnCall, error) {
	if opts.DB == nil {
		return nil, errors.New("oncall: Options.DB is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 200
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	o := &OnCall{
		opts: opts, logger: opts.Logger.With("component", "oncall"), db: opts.DB, now: opts.Now,
		client: opts.HTTPClient, wake: make(chan struct{}, 1),
	}
	ctx := context.Background()
	if err := o.db.Migrate(ctx, "oncall", migrations); err != nil {
		return nil, err
	}
	o.m = newSelfMetrics(opts.Registerer, o)
	if err := o.ApplyConfig(ctx, opts.Config); err != nil {
		return nil, err
	}
	return o, nil
}

// ApplyConfig writes the configuration's objects (replacing the objects
// an earlier configuration wrote, keeping those created through the API)
// and switches to c. When the objects together with the API's are invalid,
// nothing changes and the errors are returned.
func (o *OnCall) ApplyConfig(ctx context.Context, c Config) error {
	return o.apply(ctx, c, false)
}

// Prepare checks c as ApplyConfig would, changing nothing, and returns
// the commit that applies it (the server's two-phase reload). Until the
// commit, c is pending: an API change that would make it fail (an object
// referring to something c removes) is refused, so the commit cannot fail
// because of a change that landed between the two phases. The server does
// not say when a reload is abandoned (another component's check failed),
// so a pending config lapses after pendingFor or at the next Prepare.
func (o *OnCall) Prepare(ctx context.Context, c Config) (func() error, error) {
	o.cfgMu.Lock()
	defer o.cfgMu.Unlock()
	if err := o.applyLocked(ctx, c, true); err != nil {
		return nil, err
	}
	p := &pendingConfig{cfg: c, at: o.now()}
	o.pending = p
	return func() error {
		o.cfgMu.Lock()
		defer o.cfgMu.Unlock()
		if o.pending == p {
			o.pending = nil
		}
		return o.applyLocked(ctx, c, false)
	}, nil
}

// pendingConfig is a configuration prepared and not yet committed.
type pendingConfig struct {
	cfg Config
	at  time.Time
}

// pendingFor is how long a prepared configuration constrains API changes
// (the server commits within milliseconds of preparing).
const pendingFor = time.Minute

var errDryRun = errors.New("dry run")

func (o *OnCall) apply(ctx context.Context, c Config, dryRun bool) error {
	o.cfgMu.Lock()
	defer o.cfgMu.Unlock()
	if !dryRun {
		o.pending = nil // applied directly: no reload is pending any more
	}
	return o.applyLocked(ctx, c, dryRun)
}

// checkConfig writes c's objects in tx and checks them with the API's;
// the caller rolls back or commits.
func checkConfig(ctx context.Context, tx *sql.Tx, c Config, now time.Time) (*catalog, error) {
	if err := writeConfigObjects(ctx, tx, c.Objects, now); err != nil {
		return nil, err
	}
	cat, err := loadCatalog(ctx, tx)
	if err != nil {
		return nil, err
	}
	for _, r := range c.Receivers {
		if _, ok := cat.policies[r.Policy]; !ok {
			return nil, fmt.Errorf("receiver %q: unknown escalation policy %q", r.Name, r.Policy)
		}
	}
	for _, k := range c.EventsV2 {
		if _, ok := cat.policies[k.Policy]; !ok {
			return nil, fmt.Errorf("events_v2 routing key: unknown escalation policy %q", k.Policy)
		}
	}
	return cat, nil
}

// checkPending checks, inside an API change's transaction, that the
// pending configuration (if any) would still apply after the change; the
// check's writes are rolled back to a savepoint.
func (o *OnCall) checkPending(ctx context.Context, tx *sql.Tx) error {
	p := o.pending
	if p == nil || o.now().Sub(p.at) > pendingFor {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SAVEPOINT oncall_pending`); err != nil {
		return err
	}
	_, cerr := checkConfig(ctx, tx, p.cfg, o.now())
	if _, err := tx.ExecContext(ctx, `ROLLBACK TO oncall_pending`); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `RELEASE oncall_pending`); err != nil {
		return err
	}
	if cerr != nil {
		return apierr.New(apierr.Conflict, "a configuration reload is being applied and this change conflicts with it (%v); try again after the reload", cerr)
	}
	return nil
}

func (o *OnCall) applyLocked(ctx context.Context, c Config, dryRun bool) error {
	if c.LinkTTL <= 0 {
		c.LinkTTL = 24 * time.Hour
	}
	if c.GiveUpAfter <= 0 {
		c.GiveUpAfter = 24 * time.Hour
	}
	c.ExternalURL = strings.TrimSuffix(c.ExternalURL, "/")
	if c.ExternalURL == "" {
		c.ExternalURL = "http://localhost:9797"
	}
	var cat *catalog
	err := o.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if cat, err = checkConfig(ctx, tx, c, o.now()); err != nil {
			return err
		}
		if dryRun {
			return errDryRun // roll back: nothing written
		}
		return o.ensureSecret(ctx, tx, c.LinkSecret)
	})
	if dryRun && errors.Is(err, errDryRun) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("apply on-call config: %w", err)
	}
	o.cfg.Store(&c)
	o.cat.Store(cat)
	return nil
}

func (o *OnCall) ensureSecret(ctx context.Context, tx *sql.Tx, configured string) error {
	if configured != "" {
		b := []byte(configured)
		o.secret.Store(&b)
		return nil
	}
	var v string
	err := tx.QueryRowContext(ctx, `SELECT value FROM oncall_kv WHERE key = 'link_secret'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		var b [32]byte
		_, _ = rand.Read(b[:])
		v = hex.EncodeToString(b[:])
		if _, err := tx.ExecContext(ctx, `INSERT INTO oncall_kv (key, value) VALUES ('link_secret', ?)`, v); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	b := []byte(v)
	o.secret.Store(&b)
	return nil
}

func (o *OnCall) config() *Config { return o.cfg.Load() }

func (o *OnCall) catalog() *catalog { return o.cat.Load() }

// Run executes escalation steps until ctx is done.
func (o *OnCall) Run(ctx context.Context) error {
	return o.runScheduler(ctx)
}

func (o *OnCall) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}
