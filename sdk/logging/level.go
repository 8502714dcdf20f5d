package logging

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
)

// LevelHandler reads (GET) and sets (PUT or POST, with ?level=debug or a
// JSON body {"level":"debug"}) a level at run time. Answers are JSON:
// {"level":"INFO"}. Accepted levels: debug, info, warn, error, or a slog
// level such as "INFO+2".
func LevelHandler(lv *slog.LevelVar) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
		case http.MethodPut, http.MethodPost:
			s := r.URL.Query().Get("level")
			if s == "" {
				var body struct {
					Level string `json:"level"`
				}
				if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1024)).Decode(&body); err != nil {
					httpError(w, http.StatusBadRequest, fmt.Sprintf("read level: %v; want ?level=debug or {\"level\":\"debug\"}", err))
					return
				}
				s = body.Level
			}
			var l slog.Level
			if err := l.UnmarshalText([]byte(strings.ToUpper(strings.TrimSpace(s)))); err != nil {
				httpError(w, http.StatusBadRequest, fmt.Sprintf("unknown level %q: want debug, info, warn or error", s))
				return
			}
			lv.Set(l)
		default:
			w.Header().Set("Allow", "GET, PUT, POST")
			httpError(w, http.StatusMethodNotAllowed, "method not allowed: use GET to read, PUT or POST to set")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"level": lv.Level().String()})
	})
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
