// Package alerting evaluates Prometheus rules and routes and delivers
// alerts as Alertmanager does, with two things Alertmanager lacks: a
// persistent outbox that retries a notification until it is delivered or
// reaches its give-up age (across restarts), and a ledger that records why
// each alert did or did not page.
//
// Rules run on Prometheus's own rules manager; routing, grouping,
// inhibition, silences, time intervals, the notification log, every
// integration and the Alertmanager API v2 come from Alertmanager's own
// packages (see router.go, the one file that knows their layout).
package alerting

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	amconfig "github.com/prometheus/alertmanager/config"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"

	"github.com/vigilhq/vigil/internal/apierr"
	"github.com/vigilhq/vigil/internal/outbox"
	"github.com/vigilhq/vigil/internal/state"
)

// Options configure New. A zero Options is valid: no rules, alerts posted
// through the API are grouped and shown but sent nowhere.
type Options struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// DataDir holds the silences and notification log snapshots. Default
	// "data/alerting".
	DataDir string
	// State is the shared state database (ledger and outbox tables). When
	// nil, one is opened at DataDir/state.db and closed by Close.
	State *state.DB
	// Outbox is the shared delivery outbox on State; alerting registers its
	// channel ("alertmanager") on it and the owner runs it. When nil,
	// alerting makes one on State and runs it in Run.
	Outbox *outbox.Outbox
	// IncidentChannel is the outbox channel that gets, for every receiver
	// in Config.IncidentReceivers, each alert group (firing and resolved
	// alerts) as Alertmanager's webhook message; on-call consumes it. Empty:
	// no incident receivers.
	IncidentChannel string
	// Engine, Queryable and Appendable are the metrics store the rules
	// are evaluated on and write to (recording rules, ALERTS,
	// ALERTS_FOR_STATE). Needed only when there are rule files.
	Engine     promql.QueryEngine
	Queryable  storage.Queryable
	Appendable storage.AppendableV2
	// ExternalURL is Vigil's URL as users reach it (generator URLs,
	// templates' .ExternalURL). Default http://localhost:9797.
	ExternalURL *url.URL
	// ResendDelay is how often a firing alert is re-sent to the router
	// (Prometheus's --rules.alert.resend-delay). Default 1m.
	ResendDelay time.Duration
	// ForOutageTolerance is the longest outage after which a `for` state is
	// still restored (--rules.alert.for-outage-tolerance). Default 1h.
	ForOutageTolerance time.Duration
	// ForGracePeriod is the least `for` time left to an alert after a
	// restore (--rules.alert.for-grace-period). Default 10m.
	ForGracePeriod time.Duration
	// Retention of silences and notification log entries. Default 120h.
	Retention time.Duration
	// HistoryRetention is how long ledger events and finished outbox
	// entries are kept. Default 30 days.
	HistoryRetention time.Duration
	// Version, Revision and BuildDate are Vigil's, shown in
	// /alertmanager/api/v2/status (as the branch, revision and build date;
	// the version there is the Alertmanager release amtool compares with)
	// and in notifications' User-Agent. Alertmanager's API reads them from
	// prometheus/common/version, a process-wide variable; they are set only
	// when still empty.
	Version, Revision, BuildDate string
	// MaxRequestBytes and MaxAlertsPerRequest bound one POST
	// /alertmanager/api/v2/alerts (413 and 400 past them). Defaults 4 MiB
	// and 10,000.
	MaxRequestBytes     int64
	MaxAlertsPerRequest int
	// Config is the initial configuration.
	Config Config
}

// Config is the part of Vigil's configuration that alerting uses; it can
// change on reload.
type Config struct {
	// RuleFiles are rule file paths (globs already expanded).
	RuleFiles []string
	// EvaluationInterval is the default group interval. Default 1m.
	EvaluationInterval time.Duration
	// ExternalLabels are added to every alert.
	ExternalLabels labels.Labels
	// Alertmanager is the routing configuration, parsed by Alertmanager's
	// loader. Nil routes everything to a receiver without integrations.
	Alertmanager *amconfig.Config
	// AlertmanagerText is the text Alertmanager was parsed from, shown
	// (secrets hidden) by /alertmanager/api/v2/status; "" shows
	// Alertmanager's own rendering.
	AlertmanagerText string
	Delivery         Delivery
	// IncidentReceivers hand their alert groups to Options.IncidentChannel
	// besides their own integrations.
	IncidentReceivers []string
}

// Service is the rules, routing and delivery component.
type Service struct {
	opts     Options
	logger   *slog.Logger
	db       *state.DB
	ownDB    bool
	ledger   *ledger
	outbox   *outbox.Outbox
	ownOB    bool
	delivery *delivery
	writer   *writer
	router   *router
	rules    *rules.Manager
	m        *selfMetrics
	errw     apierr.Writer
	tracker  stateTracker

	cfgMu     sync.Mutex
	ext       atomic.Pointer[externals]
	ran       atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

type externals struct {
	labels labels.Labels
	url    string
}

// New opens the state, the silences and the notification log, and applies
// opts.Config. Nothing is evaluated or delivered until Run.
func New(opts Options) (*Service, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registerer == nil {
		// Alertmanager's packages require one; keep the metrics private.
		opts.Registerer = prometheus.NewRegistry()
	}
	if opts.DataDir == "" {
		opts.DataDir = filepath.Join("data", "alerting")
	}
	if opts.ExternalURL == nil {
		opts.ExternalURL, _ = url.Parse("http://localhost:9797")
	}
	if opts.ResendDelay <= 0 {
		opts.ResendDelay = time.Minute
	}
	if opts.ForOutageTolerance <= 0 {
		opts.ForOutageTolerance = time.Hour
	}
	if opts.ForGracePeriod <= 0 {
		opts.ForGracePeriod = 10 * time.Minute
	}
	if opts.Retention <= 0 {
		opts.Retention = 120 * time.Hour
	}
	if opts.HistoryRetention <= 0 {
		opts.HistoryRetention = 30 * 24 * time.Hour
	}
	if opts.MaxRequestBytes <= 0 {
		opts.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if opts.MaxAlertsPerRequest <= 0 {
		opts.MaxAlertsPerRequest = DefaultMaxAlertsPerRequest
	}
	setVersion(opts.Version, opts.Revision, opts.BuildDate)
	logger := opts.Logger.With("component", "alerting")
	a := &Service{opts: opts, logger: logger, errw: apierr.Writer{Logger: logger}, tracker: stateTracker{states: map[string]map[model.Fingerprint]tracked{}}}
	a.ext.Store(&externals{labels: labels.EmptyLabels(), url: opts.ExternalURL.String()})
	ctx := context.Background()
	a.db = opts.State
	if a.db == nil {
		db, err := state.Open(ctx, filepath.Join(opts.DataDir, "state.db"), state.Options{Logger: opts.Logger})
		if err != nil {
			return nil, err
		}
		a.db, a.ownDB = db, true
	}
	a.writer = newWriter(a.db)
	fail := func(err error) (*Service, error) {
		if a.router != nil {
			a.router.stop()
		}
		a.writer.stop()
		if a.ownDB {
			a.db.Close()
		}
		return nil, err
	}
	a.outbox = opts.Outbox
	if a.outbox == nil {
		ob, err := outbox.New(outbox.Options{DB: a.db, Logger: opts.Logger, Concurrency: opts.Config.Delivery.Concurrency})
		if err != nil {
			return fail(err)
		}
		a.outbox, a.ownOB = ob, true
	}
	// After the outbox's own migrations: migration 2 moves the old
	// alerting_outbox into them.
	if err := a.db.Migrate(ctx, "alerting", migrations); err != nil {
		return fail(err)
	}
	a.m = newSelfMetrics(opts.Registerer)
	a.ledger = &ledger{db: a.db, w: a.writer}
	r, err := newRouter(opts.DataDir, logger, opts.Registerer, a.ledger, opts.ExternalURL, opts.Retention)
	if err != nil {
		return fail(err)
	}
	r.incidentChannel = opts.IncidentChannel
	a.router = r
	a.delivery = newDelivery(a.outbox, a.writer, a.ledger, logger, a.m, r.integration, opts.Config.Delivery)
	r.delivery = a.delivery
	opts.Registerer.MustRegister(newOutboxCollector(a.delivery))
	if opts.Engine != nil {
		a.rules = newRulesManager(a, opts, logger)
	}
	if err := a.ApplyConfig(opts.Config); err != nil {
		return fail(err)
	}
	return a, nil
}

func (a *Service) externals() (labels.Labels, string) {
	e := a.ext.Load()
	return e.labels, e.url
}

// ErrNoEngine is returned when rule files are configured but Options had no
// query engine.
var ErrNoEngine = errors.New("rule files configured but alerting has no query engine")

// ApplyConfig loads the rule files and the routing configuration. When
// either is invalid, it returns the error and the previous configuration
// stays in force.
func (a *Service) ApplyConfig(c Config) error {
	commit, err := a.Prepare(c)
	if err != nil {
		return err
	}
	return commit()
}

// Prepare checks c and builds what it needs (rule groups parsed, templates
// and integrations built) without changing anything; the commit it
// returns applies it. A reload prepares every feature first and commits
// only when all of them prepared, so a bad file changes nothing anywhere.
func (a *Service) Prepare(c Config) (commit func() error, err error) {
	if c.EvaluationInterval <= 0 {
		c.EvaluationInterval = time.Minute
	}
	if c.ExternalLabels.IsEmpty() {
		c.ExternalLabels = labels.EmptyLabels()
	}
	am := c.Alertmanager
	if am == nil {
		var err error
		if am, err = amconfig.Load("route:\n  receiver: default\nreceivers:\n  - name: default\n"); err != nil {
			return nil, fmt.Errorf("default routing config: %w", err)
		}
	}
	if len(c.RuleFiles) > 0 && a.rules == nil {
		return nil, ErrNoEngine
	}
	if a.rules != nil {
		// Parse first so a bad file changes nothing (Update would also
		// keep the old groups, but only after logging).
		_, errs := a.rules.LoadGroups(c.EvaluationInterval, c.ExternalLabels, a.opts.ExternalURL.String(), a.evalIteration, false, c.RuleFiles...)
		if len(errs) > 0 {
			return nil, fmt.Errorf("load rule files: %w", errors.Join(errs...))
		}
	}
	route, err := a.router.prepare(am, c.AlertmanagerText, c.IncidentReceivers)
	if err != nil {
		return nil, err
	}
	return func() error {
		a.cfgMu.Lock()
		defer a.cfgMu.Unlock()
		route()
		a.ext.Store(&externals{labels: c.ExternalLabels, url: a.opts.ExternalURL.String()})
		a.delivery.setDelivery(c.Delivery)
		if a.rules != nil {
			// The files parsed in Prepare; Update reads them again, so
			// only a file changed since then can fail here.
			if err := a.rules.Update(c.EvaluationInterval, c.RuleFiles, c.ExternalLabels, a.opts.ExternalURL.String(), a.evalIteration); err != nil {
				return fmt.Errorf("update rules: %w", err)
			}
		}
		return nil
	}, nil
}

// Run evaluates rules and delivers notifications until ctx is done.
func (a *Service) Run(ctx context.Context) error {
	a.ran.Store(true)
	var wg sync.WaitGroup
	if a.rules != nil {
		wg.Go(a.rules.Run)
	}
	wg.Go(func() { a.prune(ctx) })
	var err error
	if a.ownOB {
		err = a.outbox.Run(ctx)
	} else {
		<-ctx.Done()
	}
	if a.rules != nil {
		a.rules.Stop()
	}
	wg.Wait()
	return err
}

// Close stops routing, writes the silences and notification log snapshots
// and closes the state database if alerting opened it. Call after Run
// returned.
func (a *Service) Close() error {
	a.closeOnce.Do(func() {
		if a.rules != nil && !a.ran.Load() {
			// Groups wait for the manager to start; start and stop it so
			// their goroutines end.
			done := make(chan struct{})
			go func() { a.rules.Run(); close(done) }()
			a.rules.Stop()
			<-done
		}
		a.router.stop()
		a.writer.stop()
		if err := a.router.snapshotSilences(); err != nil {
			a.closeErr = fmt.Errorf("write silences snapshot: %w", err)
		}
		if a.ownDB {
			if err := a.db.Close(); err != nil && a.closeErr == nil {
				a.closeErr = err
			}
		}
	})
	return a.closeErr
}

// Rules returns the rules manager, which satisfies Prometheus's
// web/api/v1 RulesRetriever (RuleGroups, AlertingRules) for /api/v1/rules
// and /api/v1/alerts. Nil when alerting has no query engine.
func (a *Service) Rules() *rules.Manager { return a.rules }

// Alertmanagers satisfies Prometheus's AlertmanagerRetriever: the
// built-in Alertmanager, for /api/v1/alertmanagers.
func (a *Service) Alertmanagers() []*url.URL {
	u := *a.opts.ExternalURL
	u.Path = "/alertmanager/api/v2/alerts"
	return []*url.URL{&u}
}

// DroppedAlertmanagers satisfies Prometheus's AlertmanagerRetriever.
func (a *Service) DroppedAlertmanagers() []*url.URL { return nil }

// prune deletes ledger events and finished outbox entries older than
// HistoryRetention, hourly, so the state database stays bounded.
func (a *Service) prune(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if err := a.pruneOnce(ctx, time.Now().Add(-a.opts.HistoryRetention)); err != nil && ctx.Err() == nil {
			a.logger.Error("prune alerting history", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (a *Service) pruneOnce(ctx context.Context, before time.Time) error {
	return a.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM alerting_ledger WHERE ts < ?`, before.UnixMilli()); err != nil {
			return fmt.Errorf("prune ledger: %w", err)
		}
		if err := a.outbox.Prune(ctx, tx, channel, before); err != nil {
			return fmt.Errorf("prune outbox: %w", err)
		}
		return nil
	})
}
