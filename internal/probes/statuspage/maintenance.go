package statuspage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/vigilhq/vigil/internal/apierr"
	"github.com/vigilhq/vigil/internal/state"
)

// Maintenance is a scheduled maintenance window. Runs inside it do not
// count against uptime, and the page announces it until it ends.
type Maintenance struct {
	ID      string    `json:"id"`
	Title   string    `json:"title"`
	Message string    `json:"message,omitempty"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	// Probes and Groups name what it covers; both empty: every probe on
	// the page.
	Probes []string `json:"probes,omitempty"`
	Groups []string `json:"groups,omitempty"`
	// Source is "config" or "api" (only those can be deleted).
	Source string `json:"source"`
}

func (m Maintenance) applies(probe string, groups []string) bool {
	if len(m.Probes) == 0 && len(m.Groups) == 0 {
		return true
	}
	if slices.Contains(m.Probes, probe) {
		return true
	}
	for _, g := range groups {
		if slices.Contains(m.Groups, g) {
			return true
		}
	}
	return false
}

// MaintenanceStore keeps the windows added through the API. Add assigns
// the ID. Implementations are safe for concurrent use and durable once a
// call returns.
type MaintenanceStore interface {
	List(ctx context.Context) ([]Maintenance, error)
	Add(ctx context.Context, m Maintenance) (Maintenance, error)
	Delete(ctx context.Context, id string) (bool, error)
}

// ErrNoStore is returned when maintenance is added without a store.
var ErrNoStore = errors.New("no maintenance store")

// maintenance lists configured and stored windows, by start.
func (p *Page) maintenance(ctx context.Context) ([]Maintenance, error) {
	out := append([]Maintenance(nil), p.o().Maintenance...)
	for i := range out {
		if out[i].ID == "" {
			out[i].ID = "config-" + strconv.Itoa(i+1)
		}
		out[i].Source = "config"
	}
	if p.o().Store != nil {
		ms, err := p.o().Store.List(ctx)
		if err != nil {
			return nil, apierr.Wrap(apierr.Unavailable, err, "maintenance windows are unavailable")
		}
		out = append(out, ms...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out, nil
}

func (p *Page) errw() apierr.Writer { return apierr.Writer{Logger: p.o().Logger} }

func (p *Page) jsonErr(w http.ResponseWriter, r *http.Request, err error) {
	p.errw().JSON(w, r, err, func(rep apierr.Reply) any {
		return map[string]any{"status": "error", "errorType": rep.Code, "error": rep.Message}
	})
}

func (p *Page) serveMaintenanceList(w http.ResponseWriter, r *http.Request) {
	ms, err := p.maintenance(r.Context())
	if err != nil {
		p.jsonErr(w, r, err)
		return
	}
	if ms == nil {
		ms = []Maintenance{}
	}
	writeJSON(w, map[string]any{"status": "success", "data": ms})
}

// parseMaintenance reads and checks a window from a request body.
func (p *Page) parseMaintenance(body io.Reader) (Maintenance, error) {
	var m Maintenance
	dec := json.NewDecoder(io.LimitReader(body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, apierr.New(apierr.Invalid, "invalid maintenance window: %v; want JSON {title, message, start, end (RFC 3339), probes, groups}", err)
	}
	if m.Title == "" {
		return m, apierr.New(apierr.Invalid, "maintenance window: title is missing")
	}
	if m.Start.IsZero() || m.End.IsZero() || !m.End.After(m.Start) {
		return m, apierr.New(apierr.Invalid, "maintenance window: want start and end as RFC 3339 times with end after start")
	}
	known := map[string]bool{}
	groups := map[string]bool{}
	for _, g := range p.o().Groups {
		groups[g.Name] = true
		for _, n := range g.Probes {
			known[n] = true
		}
	}
	for _, n := range m.Probes {
		if !known[n] {
			return m, apierr.New(apierr.Invalid, "maintenance window: probe %q is not on the status page", n)
		}
	}
	for _, g := range m.Groups {
		if !groups[g] {
			return m, apierr.New(apierr.Invalid, "maintenance window: group %q is not on the status page", g)
		}
	}
	m.ID, m.Source = "", "api"
	return m, nil
}

func (p *Page) serveMaintenanceAdd(w http.ResponseWriter, r *http.Request) {
	m, err := p.parseMaintenance(r.Body)
	if err != nil {
		p.jsonErr(w, r, err)
		return
	}
	if p.o().Store == nil {
		p.jsonErr(w, r, apierr.New(apierr.Unavailable, "maintenance windows cannot be added: no state store"))
		return
	}
	m, err = p.o().Store.Add(r.Context(), m)
	if err != nil {
		p.jsonErr(w, r, apierr.Wrap(apierr.Unavailable, err, "store maintenance window"))
		return
	}
	p.invalidate()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": m})
}

func (p *Page) serveMaintenanceDelete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if p.o().Store == nil {
		p.jsonErr(w, r, apierr.New(apierr.NotFound, "no maintenance window %q added through the API", id))
		return
	}
	ok, err := p.o().Store.Delete(r.Context(), id)
	if err != nil {
		p.jsonErr(w, r, apierr.Wrap(apierr.Unavailable, err, "delete maintenance window"))
		return
	}
	if !ok {
		p.jsonErr(w, r, apierr.New(apierr.NotFound, "no maintenance window %q added through the API (configured ones change in the config file)", id))
		return
	}
	p.invalidate()
	w.WriteHeader(http.StatusNoContent)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// DBStore keeps API maintenance windows in the state database.
type DBStore struct{ db *state.DB }

// NewDBStore migrates the "probes" component's tables and returns a store.
func NewDBStore(ctx context.Context, db *state.DB) (*DBStore, error) {
	err := db.Migrate(ctx, "probes", []state.Migration{{
		Version: 1, Name: "maintenance windows",
		SQL: `CREATE TABLE probes_maintenance (
			id INTEGER PRIMARY KEY AUTOINCREMENT,
			title TEXT NOT NULL,
			message TEXT NOT NULL,
			start_ms INTEGER NOT NULL,
			end_ms INTEGER NOT NULL,
			probes TEXT NOT NULL,  -- JSON array
			groups_ TEXT NOT NULL, -- JSON array
			created_ms INTEGER NOT NULL
		)`,
	}})
	if err != nil {
		return nil, err
	}
	return &DBStore{db: db}, nil
}

// List implements MaintenanceStore.
func (s *DBStore) List(ctx context.Context) ([]Maintenance, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, title, message, start_ms, end_ms, probes, groups_ FROM probes_maintenance ORDER BY start_ms`)
	if err != nil {
		return nil, fmt.Errorf("list maintenance windows: %w", err)
	}
	defer rows.Close()
	var out []Maintenance
	for rows.Next() {
		var m Maintenance
		var id, start, end int64
		var probes, groups string
		if err := rows.Scan(&id, &m.Title, &m.Message, &start, &end, &probes, &groups); err != nil {
			return nil, fmt.Errorf("list maintenance windows: %w", err)
		}
		m.ID, m.Source = strconv.FormatInt(id, 10), "api"
		m.Start, m.End = time.UnixMilli(start).UTC(), time.UnixMilli(end).UTC()
		_ = json.Unmarshal([]byte(probes), &m.Probes)
		_ = json.Unmarshal([]byte(groups), &m.Groups)
		out = append(out, m)
	}
	return out, rows.Err()
}

// Add implements MaintenanceStore.
func (s *DBStore) Add(ctx context.Context, m Maintenance) (Maintenance, error) {
	probes, _ := json.Marshal(nonNil(m.Probes))
	groups, _ := json.Marshal(nonNil(m.Groups))
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO probes_maintenance (title, message, start_ms, end_ms, probes, groups_, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			m.Title, m.Message, m.Start.UnixMilli(), m.End.UnixMilli(), string(probes), string(groups), time.Now().UnixMilli())
		if err != nil {
			return err
		}
		id, err := res.LastInsertId()
		m.ID = strconv.FormatInt(id, 10)
		return err
	})
	if err != nil {
		return m, fmt.Errorf("add maintenance window: %w", err)
	}
	m.Source = "api"
	return m, nil
}

// Delete implements MaintenanceStore.
func (s *DBStore) Delete(ctx context.Context, id string) (bool, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return false, nil
	}
	var deleted bool
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM probes_maintenance WHERE id = ?`, n)
		if err != nil {
			return err
		}
		c, err := res.RowsAffected()
		deleted = c > 0
		return err
	})
	if err != nil {
		return false, fmt.Errorf("delete maintenance window: %w", err)
	}
	return deleted, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
