// Package auth is Vigil's authentication and authorisation: local users
// with argon2id passwords, roles, browser sessions with CSRF tokens, API
// tokens with scopes, login rate limiting, an audit log, and the one HTTP
// middleware and gRPC interceptor that enforce a route's scope.
//
// Credentials live in the shared SQLite state database (tables prefixed
// auth_). API tokens are high-entropy random strings: they are stored as a
// SHA-256 digest (a slow password hash buys nothing against a 256-bit
// secret) and verified from an in-memory index, so ingest pays a map lookup
// per request, not a hash; passwords are argon2id with the parameters in
// DefaultParams.
//
// The package consumes only internal/route and internal/state; the server
// maps the configuration to Options and wraps every route of its table with
// Auth.Guard.
package auth
