package alerting

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/common/model"

	"github.com/vigilhq/vigil/internal/apierr"
	"github.com/vigilhq/vigil/internal/outbox"
	"github.com/vigilhq/vigil/internal/route"
)

// Routes are the Alertmanager API v2 under /alertmanager/api/v2/ and
// Vigil's notification and ledger APIs under /vigil/api/v1/.
func (a *Service) Routes() []route.Route {
	am := http.StripPrefix("/alertmanager", a.router.apiH)
	return []route.Route{
		{Method: "GET", Pattern: "/alertmanager/api/v2/", Scope: route.Read, Handler: am, Doc: "Alertmanager API v2: status, receivers, alerts, alert groups, silences (amtool, Grafana: URL http://HOST:9797/alertmanager)"},
		{Method: "POST", Pattern: "/alertmanager/api/v2/alerts", Scope: route.Ingest, Handler: a.limitAlerts(am), Doc: "Alertmanager API v2: post alerts (Prometheus, vmalert, external rule evaluators)"},
		{Method: "POST", Pattern: "/alertmanager/api/v2/silences", Scope: route.Write, Handler: am, Doc: "Alertmanager API v2: create or update a silence"},
		{Method: "DELETE", Pattern: "/alertmanager/api/v2/silence/{id}", Scope: route.Write, Handler: am, Doc: "Alertmanager API v2: expire a silence"},
		route.Func("GET", "/vigil/api/v1/notifications", route.Read, a.serveNotifications, "the notification outbox (?status=pending|delivered|failed|superseded)"),
		route.Func("POST", "/vigil/api/v1/notifications/{id}/retry", route.Write, a.serveRetry, "retry a failed notification"),
		route.Func("GET", "/vigil/api/v1/alerts/history", route.Read, a.serveHistory, "the alert ledger: why did or didn't an alert page"),
		route.Func("GET", "/vigil/api/v1/alerts/{fingerprint}/history", route.Read, a.serveHistory, "the ledger of one alert"),
	}
}

// envelope is the Prometheus API's answer shape, which Vigil's own APIs
// share.
type envelope struct {
	Status    string `json:"status"`
	Data      any    `json:"data,omitempty"`
	ErrorType string `json:"errorType,omitempty"`
	Error     string `json:"error,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeErr answers err through apierr's writer (status, Retry-After, an
// error ID instead of the cause for internal errors) in the envelope.
func (a *Service) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	a.errw.JSON(w, r, err, func(rep apierr.Reply) any {
		return envelope{Status: "error", ErrorType: string(rep.Code), Error: rep.Message}
	})
}

func (a *Service) serveNotifications(w http.ResponseWriter, r *http.Request) {
	st := outbox.Status(r.URL.Query().Get("status"))
	if st != "" && !slices.Contains(outbox.Statuses, st) {
		a.writeErr(w, r, apierr.New(apierr.Invalid, "invalid status %q: want pending, delivered, failed or superseded", st))
		return
	}
	limit, err := intParam(r, "limit")
	if err != nil {
		a.writeErr(w, r, err)
		return
	}
	ns, err := a.delivery.list(r.Context(), st, limit)
	if err != nil {
		a.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, envelope{Status: "success", Data: ns})
}

func (a *Service) serveRetry(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		a.writeErr(w, r, apierr.New(apierr.Invalid, "invalid notification id %q: want a positive integer", r.PathValue("id")))
		return
	}
	if err := a.delivery.retry(r.Context(), id); err != nil {
		a.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, envelope{Status: "success", Data: map[string]any{"id": id, "status": outbox.Pending}})
}

func (a *Service) serveHistory(w http.ResponseWriter, r *http.Request) {
	q := LedgerQuery{Fingerprint: r.PathValue("fingerprint"), Kind: r.URL.Query().Get("kind"), AlertName: r.URL.Query().Get("alertname")}
	if q.Fingerprint != "" {
		if _, err := model.ParseFingerprint(q.Fingerprint); err != nil {
			a.writeErr(w, r, apierr.New(apierr.Invalid, "invalid fingerprint %q: want 16 hex digits as in the Alertmanager API", q.Fingerprint))
			return
		}
	}
	var err error
	if q.Start, err = timeParam(r, "start"); err != nil {
		a.writeErr(w, r, err)
		return
	}
	if q.End, err = timeParam(r, "end"); err != nil {
		a.writeErr(w, r, err)
		return
	}
	if !q.Start.IsZero() && !q.End.IsZero() && q.End.Before(q.Start) {
		a.writeErr(w, r, apierr.New(apierr.Invalid, "end %s is before start %s", q.End.Format(time.RFC3339), q.Start.Format(time.RFC3339)))
		return
	}
	if q.Limit, err = intParam(r, "limit"); err != nil {
		a.writeErr(w, r, err)
		return
	}
	evs, err := a.ledger.query(r.Context(), q)
	if err != nil {
		a.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, envelope{Status: "success", Data: evs})
}

func intParam(r *http.Request, name string) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, apierr.New(apierr.Invalid, "invalid %s %q: want a non-negative integer", name, s)
	}
	return n, nil
}

// timeParam accepts RFC 3339 or a Unix timestamp in seconds (with
// fraction), as the Prometheus API does.
func timeParam(r *http.Request, name string) (time.Time, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, apierr.New(apierr.Invalid, "invalid %s %q: want RFC 3339 (2026-01-02T15:04:05Z) or Unix seconds", name, s)
	}
	return t, nil
}
