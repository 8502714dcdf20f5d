package alerting

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/vigilhq/vigil/internal/apierr"
)

// Defaults of the POST /alertmanager/api/v2/alerts bounds.
const (
	DefaultMaxRequestBytes     = 4 << 20
	DefaultMaxAlertsPerRequest = 10000
)

// limitAlerts bounds a POST of alerts before Alertmanager's handler reads
// it: a body over maxBytes is answered 413 and one holding more than
// maxAlerts alerts 400, both naming the limit, and nothing of it is
// stored. Alertmanager itself reads any body whole, so one request of
// 400,000 alerts held everything else up. The answer is a JSON string, as
// Alertmanager's own 400s are.
func (a *Service) limitAlerts(next http.Handler) http.Handler {
	maxBytes, maxAlerts := a.opts.MaxRequestBytes, a.opts.MaxAlertsPerRequest
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBytes))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				err = apierr.New(apierr.TooLarge, "request body is larger than alerting.api.max_request_bytes = %d bytes; send the alerts in smaller batches", maxBytes)
			} else {
				err = apierr.Wrap(apierr.Invalid, err, "read request body")
			}
			a.amErr(w, r, err)
			return
		}
		if n := countArray(body); n > maxAlerts {
			a.amErr(w, r, apierr.New(apierr.Limit, "%d alerts in one request; the limit is alerting.api.max_alerts_per_request = %d: send them in batches of at most %d", n, maxAlerts, maxAlerts))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

// amErr answers in Alertmanager API v2's error form: the message as a JSON
// string.
func (a *Service) amErr(w http.ResponseWriter, r *http.Request, err error) {
	a.errw.JSON(w, r, err, func(rep apierr.Reply) any { return rep.Message })
}

// countArray returns the number of elements of the JSON array b, or -1
// when b is not one (Alertmanager's handler then says what is wrong).
func countArray(b []byte) int {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('[') {
		return -1
	}
	n := 0
	for dec.More() {
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return -1
		}
		n++
	}
	return n
}
