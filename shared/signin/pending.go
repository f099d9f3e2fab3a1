package signin

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Pending keeps a sign-in in progress (its nonce, PKCE verifier and where
// to return) in a short-lived cookie of its own, named after its state, so
// that starting a sign-in writes nothing on the server: a visitor who never
// comes back leaves no session row behind. The cookie is signed (HMAC-SHA256
// under Key) so that no one can plant a sign-in of their own in a browser.
type Pending struct {
	// CookieName is the prefix of the cookies' names: each service on
	// localhost needs its own, as browsers share cookies across ports.
	CookieName string
	Key        []byte
	Secure     bool
	Now        func() time.Time
}

// pendingLifetime is how long a sign-in may take; pendingKept is how many
// unfinished sign-ins a browser keeps (several tabs), the oldest dropped.
const (
	pendingLifetime = 10 * time.Minute
	pendingKept     = 3
)

// pending is what a sign-in remembers between the redirect and the callback.
type pending struct {
	Nonce    string `json:"nonce"`
	Verifier string `json:"verifier"`
	ReturnTo string `json:"return_to"`
	// Issuer is the upstream the sign-in went to (a server with several).
	Issuer  string `json:"iss"`
	Started int64  `json:"started"`
}

var errNoPending = errors.New("no sign-in in progress with that state")

func (p *Pending) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Pending) name(state string) string { return p.CookieName + "_" + state }

func (p *Pending) sign(payload string) string {
	m := hmac.New(sha256.New, p.Key)
	m.Write([]byte(p.CookieName + "|" + payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// save sets the cookie for state, and drops the oldest unfinished sign-ins
// past pendingKept.
func (p *Pending) save(w http.ResponseWriter, r *http.Request, state string, v pending) {
	v.Started = p.now().Unix()
	b, _ := json.Marshal(v)
	payload := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, p.cookie(p.name(state), payload+"."+p.sign(payload), int(pendingLifetime.Seconds())))

	var others []*http.Cookie
	for _, c := range r.Cookies() {
		if strings.HasPrefix(c.Name, p.CookieName+"_") {
			others = append(others, c)
		}
	}
	if len(others) >= pendingKept {
		slices.SortFunc(others, func(a, b *http.Cookie) int { return int(p.started(a) - p.started(b)) })
		for _, c := range others[:len(others)-pendingKept+1] {
			http.SetCookie(w, p.cookie(c.Name, "", -1))
		}
	}
}

// started is when the sign-in in c began (0 when c is not readable).
func (p *Pending) started(c *http.Cookie) int64 {
	v, err := p.read(c.Value)
	if err != nil {
		return 0
	}
	return v.Started
}

func (p *Pending) read(value string) (*pending, error) {
	payload, mac, ok := strings.Cut(value, ".")
	if !ok || !hmac.Equal([]byte(mac), []byte(p.sign(payload))) {
		return nil, errNoPending
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil, errNoPending
	}
	var v pending
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, errNoPending
	}
	if p.now().Sub(time.Unix(v.Started, 0)) > pendingLifetime {
		return nil, errNoPending
	}
	return &v, nil
}

// peek returns the sign-in of state without ending it.
func (p *Pending) peek(r *http.Request, state string) (*pending, error) {
	if state == "" || len(state) > 64 {
		return nil, errNoPending
	}
	c, err := r.Cookie(p.name(state))
	if err != nil {
		return nil, errNoPending
	}
	return p.read(c.Value)
}

// take returns the sign-in of state and ends it: a state works once.
func (p *Pending) take(w http.ResponseWriter, r *http.Request, state string) (*pending, error) {
	v, err := p.peek(r, state)
	if err == nil {
		http.SetCookie(w, p.cookie(p.name(state), "", -1))
	}
	return v, err
}

// Issuer returns the upstream a sign-in in progress went to, so a server
// federating to several knows whose callback this is.
func (p *Pending) Issuer(r *http.Request) string {
	v, err := p.peek(r, r.URL.Query().Get("state"))
	if err != nil {
		return ""
	}
	return v.Issuer
}

// cookie is a pending sign-in's cookie: HttpOnly, and SameSite=Lax, since
// the callback is a top-level navigation from the upstream's site.
func (p *Pending) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, Secure: p.Secure, SameSite: http.SameSiteLaxMode}
}
