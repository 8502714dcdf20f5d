package auth_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/vigilhq/vigil/internal/auth"
)

// A feature that records who acted declares the function type it needs
// in its own Options (features do not import internal/auth) ...
type SilenceOptions struct {
	// Caller names the user behind a request ("" with auth off).
	Caller func(*http.Request) string
}

// ... and the server hands it auth.Caller (Server.Caller). Behind the
// guard, Caller returns the session's user or the token's owner.
func ExampleCaller() {
	opts := SilenceOptions{Caller: auth.Caller}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("created by %q\n", opts.Caller(r))
	})
	// Without the guard (authentication off) there is no caller.
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/silences", nil))
	// Output: created by ""
}
