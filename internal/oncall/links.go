package oncall

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// A link token is base64url(JSON claims) "." base64url(HMAC-SHA256(key,
// claims)). The claims name the incident, the action, the user the link
// was sent to, its expiry and a nonce; a state change through a link
// records the nonce in the same transaction, so each link works once.
type linkClaims struct {
	Incident int64  `json:"i"`
	Action   string `json:"a"` // acknowledge | resolve
	User     string `json:"u"`
	Expires  int64  `json:"e"` // unix seconds
	Nonce    string `json:"n"`
}

// Link errors; the HTTP handler maps them to statuses.
var (
	ErrLinkForged  = errors.New("this link's signature does not match: it was changed or was not made by this Vigil")
	ErrLinkExpired = errors.New("this link has expired; open the incident in Vigil instead")
	ErrLinkUsed    = errors.New("this link was already used")
)

func (o *OnCall) linkKey() []byte { return *o.secret.Load() }

func (o *OnCall) signLink(c linkClaims) string {
	b, _ := json.Marshal(c)
	mac := hmac.New(sha256.New, o.linkKey())
	mac.Write(b)
	return base64.RawURLEncoding.EncodeToString(b) + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// ParseLink verifies a token's signature and expiry.
func (o *OnCall) parseLink(token string, now time.Time) (linkClaims, error) {
	var c linkClaims
	p, s, ok := strings.Cut(token, ".")
	if !ok || len(token) > 2048 {
		return c, ErrLinkForged
	}
	body, err1 := base64.RawURLEncoding.DecodeString(p)
	sig, err2 := base64.RawURLEncoding.DecodeString(s)
	if err1 != nil || err2 != nil {
		return c, ErrLinkForged
	}
	mac := hmac.New(sha256.New, o.linkKey())
	mac.Write(body)
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return c, ErrLinkForged
	}
	if err := json.Unmarshal(body, &c); err != nil || (c.Action != "acknowledge" && c.Action != "resolve") {
		return c, ErrLinkForged
	}
	if now.Unix() >= c.Expires {
		return c, ErrLinkExpired
	}
	return c, nil
}

func (o *OnCall) linkURL(id int64, action, user string, now time.Time) string {
	var nb [12]byte
	_, _ = rand.Read(nb[:])
	tok := o.signLink(linkClaims{Incident: id, Action: action, User: user, Expires: now.Add(o.config().LinkTTL).Unix(), Nonce: hex.EncodeToString(nb[:])})
	return o.config().ExternalURL + "/vigil/api/v1/oncall/links/" + tok
}

// useLink applies a link's action once.
func (o *OnCall) useLink(ctx context.Context, token string) (*Incident, linkClaims, error) {
	now := o.now()
	c, err := o.parseLink(token, now)
	if err != nil {
		return nil, c, err
	}
	var out *Incident
	err = o.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO oncall_links_used (nonce, used_at) VALUES (?, ?) ON CONFLICT DO NOTHING`, c.Nonce, ms(now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrLinkUsed
		}
		actor := c.User
		if c.Action == "acknowledge" {
			out, err = o.acknowledge(ctx, tx, c.Incident, actor)
		} else {
			out, err = o.resolve(ctx, tx, c.Incident, actor, fmt.Sprintf("resolved by %s through a notification link", c.User))
		}
		return err
	})
	return out, c, err
}
