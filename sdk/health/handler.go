package health

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// ContentType is the media type of health responses.
const ContentType = "application/health+json"

// response is the health+json body.
type response struct {
	Status      string                    `json:"status"`
	Version     string                    `json:"version,omitempty"`
	ReleaseID   string                    `json:"releaseId,omitempty"`
	ServiceID   string                    `json:"serviceId,omitempty"`
	Description string                    `json:"description,omitempty"`
	Output      string                    `json:"output,omitempty"`
	Checks      map[string][]checkDetails `json:"checks,omitempty"`
}

type checkDetails struct {
	ComponentType string `json:"componentType,omitempty"`
	ObservedValue any    `json:"observedValue,omitempty"`
	ObservedUnit  string `json:"observedUnit,omitempty"`
	Status        string `json:"status"`
	Time          string `json:"time"`
	Output        string `json:"output,omitempty"`
	Critical      bool   `json:"critical"`
	Cached        bool   `json:"cached,omitempty"`
}

// Handler serves an assessment of the checks with tag ("" for all):
// 200 for pass and warn, 503 for fail. Query parameters: verbose (list every
// check; otherwise only those not passing) and exclude=name (repeatable or
// comma-separated).
func (h *Checks) Handler(tag string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var exclude []string
		for _, v := range q["exclude"] {
			exclude = append(exclude, strings.Split(v, ",")...)
		}
		_, verbose := q["verbose"]
		rep := h.Run(r.Context(), Filter{Tag: tag, Exclude: exclude})
		body := response{Status: rep.Status.String(), Version: h.info.Version, ReleaseID: h.info.ReleaseID,
			ServiceID: h.info.ServiceID, Description: h.info.Description}
		var failing []string
		for _, c := range rep.Checks {
			if c.Status != Up {
				failing = append(failing, c.Name)
			}
			if !verbose && c.Status == Up {
				continue
			}
			if body.Checks == nil {
				body.Checks = make(map[string][]checkDetails)
			}
			d := checkDetails{
				ComponentType: c.ComponentType, Status: c.Status.String(),
				Time: c.Time.UTC().Format(time.RFC3339Nano), Output: c.Output,
				Critical: c.Critical, Cached: c.Cached,
			}
			if len(c.Observations) == 0 {
				body.Checks[c.Name] = append(body.Checks[c.Name], d)
				continue
			}
			for _, o := range c.Observations {
				od := d
				od.ObservedValue, od.ObservedUnit = o.Value, o.Unit
				key := c.Name + ":" + o.Measure
				body.Checks[key] = append(body.Checks[key], od)
			}
		}
		if len(failing) > 0 {
			body.Output = "not passing: " + strings.Join(failing, ", ")
		}
		w.Header().Set("Content-Type", ContentType)
		w.Header().Set("Cache-Control", "no-store")
		if rep.Status == Down {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		if r.Method == http.MethodHead {
			return
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(body)
	})
}

// Mount registers /livez (checks tagged live), /readyz (tagged ready) and
// /healthz (all checks) on mux.
func (h *Checks) Mount(mux *http.ServeMux) {
	mux.Handle("/livez", h.Handler(TagLive))
	mux.Handle("/readyz", h.Handler(TagReady))
	mux.Handle("/healthz", h.Handler(""))
}
