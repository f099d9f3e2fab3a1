package op

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
	"gorm.io/gorm"

	"xaa.example/shared/codeflow"
	"xaa.example/shared/dpop"
	"xaa.example/shared/keys"
	"xaa.example/shared/oauth"
	"xaa.example/shared/replay/replaydb"
	"xaa.example/shared/sessions"
)

// Config of a Provider.
type Config struct {
	Issuer string
	DB     *gorm.DB
	// Clients are the registered clients; TokenClients, when set, are the
	// ones the token endpoint knows (registered ones and, say, those known
	// by a metadata document).
	Clients      oauth.ClientStore
	TokenClients oauth.ClientStore
	// Accounts finds the people tokens are issued for.
	Accounts Accounts
	// TokenPath is the token endpoint's path under the issuer; client
	// assertions may name it or the issuer as audience.
	TokenPath string
	// CookieName names the provider's own sign-in session; distinct per
	// service on localhost. SecureCookies when served over https.
	CookieName    string
	SecureCookies bool
	// DPoPNonces, when set, are required in every DPoP proof sent to the
	// token endpoint (RFC 9449 §8): a proof made in advance is useless.
	DPoPNonces dpop.Nonces
	Sessions   SessionPolicy
	Log        *slog.Logger
	Now        func() time.Time
}

// Accounts finds a person by the subject this provider issues.
type Accounts interface {
	Account(ctx context.Context, id string) (Account, error)
}

// Account is what an ID token says of a person.
type Account struct {
	ID, Email, Name string
	// Disabled by an administrator: no more tokens.
	Disabled bool
}

// Provider is one running OpenID Provider core.
type Provider struct {
	cfg  Config
	Keys *keys.Set
	// Sessions is the provider's own sign-in session: who signed in here
	// and when (SignIn, SignedIn), server side in the database.
	Sessions *scs.SessionManager
	Codes    *codeflow.Store
	Replay   *replaydb.DB
	// Token is the token endpoint; it answers the code and refresh grants,
	// and the server adds its own (token exchange, jwt-bearer, device).
	Token *oauth.TokenEndpoint

	stopWatch context.CancelFunc
	watching  chan struct{}
	closeOnce sync.Once
}

// New loads (or makes once) the signing keys, migrates the code flow's and
// the replay store's tables and builds the token endpoint; ctx bounds that
// work alone. It starts one goroutine, the key watcher that picks up
// another replica's rotation, which runs until Close.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if cfg.Issuer == "" || cfg.DB == nil || cfg.Clients == nil || cfg.Accounts == nil || cfg.TokenPath == "" || cfg.CookieName == "" {
		return nil, fmt.Errorf("op: issuer, database, clients, accounts, token path and cookie name are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.TokenClients == nil {
		cfg.TokenClients = cfg.Clients
	}
	ks, err := keys.LoadOrCreate(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	ks.Now = cfg.Now
	codes, err := codeflow.NewStore(cfg.DB, cfg.Now)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	// One store of used jtis, for client assertions and for whatever the
	// server adds (ID-JAGs at a resource authorization server).
	jtis, err := replaydb.New(cfg.DB)
	if err != nil {
		return nil, fmt.Errorf("replay store: %w", err)
	}
	browserSessions, err := sessions.New(cfg.DB, cfg.CookieName, cfg.SecureCookies)
	if err != nil {
		return nil, err
	}
	p := &Provider{cfg: cfg, Keys: ks, Sessions: browserSessions, Codes: codes, Replay: jtis, watching: make(chan struct{})}
	var watchCtx context.Context
	watchCtx, p.stopWatch = context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		defer close(p.watching)
		ks.Watch(watchCtx, keys.WatchInterval)
	}()
	p.Token = &oauth.TokenEndpoint{
		Auth: &oauth.ClientAuth{
			Clients:    cfg.TokenClients,
			Audiences:  []string{cfg.Issuer, cfg.Issuer + cfg.TokenPath},
			Assertions: jtis,
			Now:        cfg.Now,
		},
		Grants: map[string]oauth.Grant{
			oauth.GrantAuthorizationCode: &codeflow.AuthCodeGrant{Store: codes, Issue: p.IssueSession},
			oauth.GrantRefreshToken:      &codeflow.RefreshGrant{Store: codes, Issue: p.IssueSession},
		},
		Log: cfg.Log,
		// DPoP proofs (RFC 9449) are checked at the token endpoint, one use
		// each, in the same replay store; a grant binds what it issues to
		// the proof's key.
		DPoP: &dpop.Verifier{Replay: jtis, Nonces: cfg.DPoPNonces, Now: cfg.Now},
		URL:  cfg.Issuer + cfg.TokenPath,
	}
	return p, nil
}

// Close stops what New started and waits for it to end. It may be called
// more than once.
func (p *Provider) Close() {
	p.closeOnce.Do(func() {
		p.stopWatch()
		<-p.watching
	})
}

// Issuer is the provider's issuer identifier.
func (p *Provider) Issuer() string { return p.cfg.Issuer }

// Keys of the provider's session.
const (
	sessionUserID   = "uid"
	sessionAuthTime = "auth_time"
	sessionAMR      = "amr"
)

// SignIn starts the person's session here, under a new session token
// (no fixation), remembering when they authenticated (auth_time) and how
// (amr, RFC 8176: pwd, hwk, user, mfa...).
func (p *Provider) SignIn(ctx context.Context, userID string, authTime time.Time, amr []string) error {
	if err := p.Sessions.RenewToken(ctx); err != nil {
		return err
	}
	p.Sessions.Put(ctx, sessionUserID, userID)
	p.Sessions.Put(ctx, sessionAuthTime, authTime.Unix())
	p.Sessions.Put(ctx, sessionAMR, strings.Join(amr, " "))
	return nil
}

// Methods are how the signed-in person authenticated (amr), nil when the
// sign-in did not say.
func (p *Provider) Methods(ctx context.Context) []string {
	return strings.Fields(p.Sessions.GetString(ctx, sessionAMR))
}

// SignedIn is who is signed in here, and since when; "" for no one.
func (p *Provider) SignedIn(ctx context.Context) (userID string, authTime time.Time) {
	userID = p.Sessions.GetString(ctx, sessionUserID)
	if userID == "" {
		return "", time.Time{}
	}
	return userID, time.Unix(p.Sessions.GetInt64(ctx, sessionAuthTime), 0)
}

// Forget ends the sign-in here but keeps the rest of the session (a form's
// CSRF token).
func (p *Provider) Forget(ctx context.Context) { p.Sessions.Remove(ctx, sessionUserID) }
