package auth

import (
	"context"
	"github.com/vigilhq/vigil/internal/route"
	"sync"
	"sync/atomic"
	"time"
)

// tokenEntry is a live token in memory.
type tokenEntry struct {
	id, name, owner string
	scopes          Scopes
	expires         int64 // unix ns; 0 = never

	lastUsed atomic.Int64  // unix ns
	uses     atomic.Int64  // since the last flush
	used     atomic.Uint32 // scope bits requested since the last flush
}

// tokenIndex verifies tokens without a hash per request. Tokens verified
// once (SHA-256 of the token found among the stored digests) go into hot,
// keyed by the token itself; later requests cost one sync.Map load. Only
// verified tokens enter hot, so its size is bounded by the number of live
// tokens, not by what clients send. Revocation removes a token from both
// maps before the revoking request is answered.
type tokenIndex struct {
	mu     sync.Mutex
	byHash map[string]*tokenEntry // digest -> entry
	pinned map[string]*tokenEntry // in-memory tokens (InternalToken), kept by load
	hot    sync.Map               // token -> *tokenEntry
}

func newTokenIndex() *tokenIndex {
	return &tokenIndex{byHash: map[string]*tokenEntry{}, pinned: map[string]*tokenEntry{}}
}

// load makes the index the database's live tokens (plus the pinned ones).
// Entries of tokens still live are kept, with their counters; tokens no
// longer in the database (revoked by vigil users delete on the same
// folder) leave the index and the hot map.
func (x *tokenIndex) load(ctx context.Context, s *Store) error {
	toks, err := s.tokens(ctx, "", false)
	if err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	old := x.byHash
	x.byHash = map[string]*tokenEntry{}
	for h, e := range x.pinned {
		x.byHash[h] = e
	}
	for _, t := range toks {
		if e, ok := old[t.hash]; ok {
			x.byHash[t.hash] = e
			continue
		}
		x.addLocked(t)
	}
	live := map[*tokenEntry]bool{}
	for _, e := range x.byHash {
		live[e] = true
	}
	x.hot.Range(func(k, v any) bool {
		if !live[v.(*tokenEntry)] {
			x.hot.Delete(k)
		}
		return true
	})
	return nil
}

func (x *tokenIndex) add(t Token) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.addLocked(t)
}

func (x *tokenIndex) pin(t Token) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.pinned[t.hash] = x.addLocked(t)
}

func (x *tokenIndex) addLocked(t Token) *tokenEntry {
	e := &tokenEntry{id: t.ID, name: t.Name, owner: t.Owner, scopes: t.scopes}
	if t.ExpiresAt != nil {
		e.expires = t.ExpiresAt.UnixNano()
	}
	if t.LastUsedAt != nil {
		e.lastUsed.Store(t.LastUsedAt.UnixNano())
	}
	x.byHash[t.hash] = e
	return e
}

// remove drops the token with the given ID.
func (x *tokenIndex) remove(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for h, e := range x.byHash {
		if e.id == id {
			delete(x.byHash, h)
		}
	}
	x.hot.Range(func(k, v any) bool {
		if v.(*tokenEntry).id == id {
			x.hot.Delete(k)
		}
		return true
	})
}

// lookup returns the live entry for token, or nil. now is unix ns.
func (x *tokenIndex) lookup(token string, now int64) *tokenEntry {
	var e *tokenEntry
	if v, ok := x.hot.Load(token); ok {
		e = v.(*tokenEntry)
	} else {
		if !looksLikeToken(token) {
			return nil
		}
		d := digest(token)
		x.mu.Lock()
		e = x.byHash[d]
		if e != nil {
			x.hot.Store(token, e)
		}
		x.mu.Unlock()
		if e == nil {
			return nil
		}
	}
	if e.expires != 0 && now >= e.expires {
		return nil
	}
	// Writes to the shared entry at most once a second per token, so
	// concurrent requests with one token do not fight over a cache line.
	if now-e.lastUsed.Load() > int64(time.Second) {
		e.lastUsed.Store(now)
	}
	return e
}

// usage is one token's use since the last flush.
type usage struct {
	id, name, owner string
	uses            int64
	scopes          Scopes
	lastUsed        time.Time
}

// drain returns and resets the use counters of tokens used since the last
// call.
func (x *tokenIndex) drain() []usage {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []usage
	for _, e := range x.byHash {
		n := e.uses.Swap(0)
		if n == 0 {
			continue
		}
		out = append(out, usage{id: e.id, name: e.name, owner: e.owner, uses: n, scopes: Scopes(e.used.Swap(0)), lastUsed: time.Unix(0, e.lastUsed.Load())})
	}
	return out
}

// InternalToken returns a token that lives only in this process's memory
// (never in the database), for Vigil's own clients such as the self-scrape
// of /metrics. The same name gets the same token. With authentication off
// it returns "".
func (a *Auth) InternalToken(name string, scopes ...route.Scope) string {
	if a.opts.Disabled {
		return ""
	}
	a.internalMu.Lock()
	defer a.internalMu.Unlock()
	if t, ok := a.internal[name]; ok {
		return t
	}
	var ss Scopes
	for _, s := range scopes {
		ss |= bitOf(s)
	}
	secret := newToken()
	a.tokens.pin(Token{ID: "internal-" + newID(), Name: name, Owner: "vigil", scopes: ss, hash: digest(secret)})
	if a.internal == nil {
		a.internal = map[string]string{}
	}
	a.internal[name] = secret
	return secret
}
