// Package passkey keeps the IdP's passkeys (WebAuthn credentials, through
// go-webauthn) and runs their two ceremonies: registration, by a person
// the IdP already knows, and authentication, with or without knowing who
// is signing in (a discoverable credential names its person). It decides
// nothing about sessions: the provider signs the person in with what a
// ceremony proved.
package passkey

import (
	"context"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"gorm.io/gorm"

	"xaa.example/shared/storage"
)

// AMR are the authentication methods (RFC 8176 §2) a passkey ceremony
// proves: a key held in an authenticator (hwk) and a test of the person's
// presence (user).
var AMR = []string{"hwk", "user"}

// Credential is one person's passkey, as the database keeps it.
type Credential struct {
	// ID is the credential id, base64url.
	ID     string `gorm:"primaryKey;size:255"`
	UserID string `gorm:"index;size:32;not null"`
	// Data is the webauthn.Credential as JSON: public key, sign count,
	// flags, transports.
	Data       []byte `gorm:"not null"`
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// TableName keeps the table's name plain.
func (Credential) TableName() string { return "passkeys" }

// Person is whom a ceremony is for.
type Person struct {
	ID, Email, Name string
	creds           []webauthn.Credential
}

// WebAuthnID is the user handle: the IdP's user id, opaque and never
// reused (WebAuthn §14.6.1 asks that it name no one to others).
func (p *Person) WebAuthnID() []byte                         { return []byte(p.ID) }
func (p *Person) WebAuthnName() string                       { return p.Email }
func (p *Person) WebAuthnDisplayName() string                { return p.Name }
func (p *Person) WebAuthnCredentials() []webauthn.Credential { return p.creds }

// Config is what the passkeys need from the IdP.
type Config struct {
	// Issuer is the IdP's address: its host is the relying party id, its
	// origin the only one ceremonies are accepted from.
	Issuer string
	DB     *gorm.DB
	// Find is the person with an id, for a discoverable credential's
	// user handle.
	Find func(ctx context.Context, id string) (Person, error)
	Now  func() time.Time
}

// Service keeps passkeys and runs ceremonies.
type Service struct {
	cfg Config
	wa  *webauthn.WebAuthn // nil when Off
	// Off says why passkeys cannot work at this IdP, "" when they can.
	Off string
}

// New migrates the table and prepares the relying party.
func New(cfg Config) (*Service, error) {
	u, err := url.Parse(cfg.Issuer)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("passkey: the issuer %q is not a URL", cfg.Issuer)
	}
	if err := storage.Migrate(cfg.DB, "idp/passkey", schema...); err != nil {
		return nil, err
	}
	// A browser creates and uses passkeys only for a domain name (WebAuthn
	// §5.1.3 and §5.1.4.1: the relying party id is a valid domain), so an
	// IdP at an IP address runs without them.
	if net.ParseIP(u.Hostname()) != nil {
		return &Service{cfg: cfg, Off: "Passkeys need the identity provider at a domain name (localhost, say), not at an IP address: browsers refuse them otherwise."}, nil
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID: u.Hostname(), RPDisplayName: "Enterprise IdP", RPOrigins: []string{u.Scheme + "://" + u.Host},
		// A passkey: kept on the authenticator, with the person verified
		// there (PIN, fingerprint), not only present.
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, UserVerification: protocol.VerificationRequired,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return &Service{cfg: cfg, wa: wa}, nil
}

var schema = []storage.Migration{
	{ID: "1", Apply: func(tx *gorm.DB) error { return tx.AutoMigrate(&Credential{}) }},
}

// person loads p's passkeys into it.
func (s *Service) person(ctx context.Context, p Person) (*Person, error) {
	var rows []Credential
	if err := s.cfg.DB.WithContext(ctx).Where("user_id = ?", p.ID).Order("created_at").Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		var c webauthn.Credential
		if err := json.Unmarshal(r.Data, &c); err != nil {
			return nil, fmt.Errorf("passkey %s: %w", r.ID, err)
		}
		p.creds = append(p.creds, c)
	}
	return &p, nil
}

// Count is how many passkeys the person has.
func (s *Service) Count(ctx context.Context, userID string) (int, error) {
	var n int64
	err := s.cfg.DB.WithContext(ctx).Model(&Credential{}).Where("user_id = ?", userID).Count(&n).Error
	return int(n), err
}

// Counts is how many passkeys each person who has one has, by user id.
func (s *Service) Counts(ctx context.Context) (map[string]int, error) {
	var rows []struct {
		UserID string
		N      int
	}
	err := s.cfg.DB.WithContext(ctx).Model(&Credential{}).Select("user_id, count(*) as n").Group("user_id").Scan(&rows).Error
	out := map[string]int{}
	for _, r := range rows {
		out[r.UserID] = r.N
	}
	return out, err
}

// Remove deletes every passkey of a person (their account was deleted).
func (s *Service) Remove(ctx context.Context, userID string) error {
	return s.cfg.DB.WithContext(ctx).Where("user_id = ?", userID).Delete(&Credential{}).Error
}

// Challenge is a ceremony begun: the options for the browser
// (navigator.credentials), and what the server keeps until it ends.
type Challenge struct {
	Options any
	// Session is kept by the caller (in the person's server-side
	// session) and given back to finish the ceremony.
	Session []byte
}

// BeginRegistration starts adding a passkey for p. Passkeys p already has
// are excluded, so an authenticator is not registered twice.
func (s *Service) BeginRegistration(ctx context.Context, p Person) (*Challenge, error) {
	if s.Off != "" {
		return nil, errors.New(s.Off)
	}
	person, err := s.person(ctx, p)
	if err != nil {
		return nil, err
	}
	creation, sd, err := s.wa.BeginRegistration(person, webauthn.WithExclusions(webauthn.Credentials(person.creds).CredentialDescriptors()))
	if err != nil {
		return nil, err
	}
	return challenge(creation, sd)
}

// FinishRegistration checks the browser's answer (WebAuthn §7.1) and keeps
// the new passkey.
func (s *Service) FinishRegistration(ctx context.Context, p Person, session []byte, r *http.Request) error {
	if s.Off != "" {
		return errors.New(s.Off)
	}
	person, err := s.person(ctx, p)
	if err != nil {
		return err
	}
	sd, err := sessionData(session)
	if err != nil {
		return err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBody(http.MaxBytesReader(nil, r.Body, 64<<10))
	if err != nil {
		return refusal(err)
	}
	cred, err := s.wa.CreateCredential(person, *sd, parsed)
	if err != nil {
		return refusal(err)
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return err
	}
	return s.cfg.DB.WithContext(ctx).Create(&Credential{
		ID: base64.RawURLEncoding.EncodeToString(cred.ID), UserID: p.ID, Data: data, CreatedAt: s.cfg.Now(),
	}).Error
}

// BeginLogin starts an authentication: for p's passkeys, or, p nil, for
// any passkey of this IdP's (the browser offers the person theirs).
func (s *Service) BeginLogin(ctx context.Context, p *Person) (*Challenge, error) {
	if s.Off != "" {
		return nil, errors.New(s.Off)
	}
	if p == nil {
		assertion, sd, err := s.wa.BeginDiscoverableLogin()
		if err != nil {
			return nil, err
		}
		return challenge(assertion, sd)
	}
	person, err := s.person(ctx, *p)
	if err != nil {
		return nil, err
	}
	if len(person.creds) == 0 {
		return nil, ErrNoPasskey
	}
	assertion, sd, err := s.wa.BeginLogin(person)
	if err != nil {
		return nil, err
	}
	return challenge(assertion, sd)
}

// ErrNoPasskey is a person without a passkey asked to use one.
var ErrNoPasskey = errors.New("this person has no passkey")

// Refusal is an answer from the browser that does not prove what it
// should: a wrong challenge, origin, signature or counter; a passkey of no
// one here, or of someone else.
type Refusal struct{ Err error }

func (r *Refusal) Error() string { return "the passkey was not accepted: " + r.Err.Error() }
func (r *Refusal) Unwrap() error { return r.Err }

func refusal(err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.DevInfo != "" {
		err = fmt.Errorf("%s (%s)", pe.Details, pe.DevInfo)
	}
	return &Refusal{Err: err}
}

// FinishLogin checks the browser's assertion (WebAuthn §7.2) and returns
// whose passkey it was. With want set, it must be want's. The passkey's
// sign count is kept, so that a cloned authenticator shows.
func (s *Service) FinishLogin(ctx context.Context, want *Person, session []byte, r *http.Request) (userID string, err error) {
	if s.Off != "" {
		return "", errors.New(s.Off)
	}
	sd, err := sessionData(session)
	if err != nil {
		return "", err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBody(http.MaxBytesReader(nil, r.Body, 64<<10))
	if err != nil {
		return "", refusal(err)
	}
	var person *Person
	var cred *webauthn.Credential
	if want != nil {
		// Someone in particular (their password was right): their own
		// passkeys only, as the ceremony's options listed them.
		if person, err = s.person(ctx, *want); err != nil {
			return "", err
		}
		cred, err = s.wa.ValidateLogin(person, *sd, parsed)
	} else {
		// Anyone: the passkey's user handle names them.
		find := func(_, userHandle []byte) (webauthn.User, error) {
			p, err := s.cfg.Find(ctx, string(userHandle))
			if err != nil {
				return nil, err
			}
			person, err = s.person(ctx, p)
			return person, err
		}
		cred, err = s.wa.ValidateDiscoverableLogin(find, *sd, parsed)
	}
	if err != nil {
		return "", refusal(err)
	}
	if cred.Authenticator.CloneWarning {
		return "", &Refusal{Err: errors.New("the passkey's signature counter went backwards: the authenticator may have been cloned")}
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return "", err
	}
	now := s.cfg.Now()
	err = s.cfg.DB.WithContext(ctx).Model(&Credential{}).Where("id = ? AND user_id = ?", base64.RawURLEncoding.EncodeToString(cred.ID), person.ID).
		Updates(map[string]any{"data": data, "last_used_at": now}).Error
	return person.ID, err
}

func challenge(options any, sd *webauthn.SessionData) (*Challenge, error) {
	session, err := json.Marshal(sd)
	if err != nil {
		return nil, err
	}
	return &Challenge{Options: options, Session: session}, nil
}

func sessionData(b []byte) (*webauthn.SessionData, error) {
	if len(b) == 0 {
		return nil, &Refusal{Err: errors.New("no passkey ceremony was begun in this session, or it was already used")}
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal(b, &sd); err != nil {
		return nil, err
	}
	return &sd, nil
}

//go:embed static
var static embed.FS

// Script serves passkey.js, the page's side of the ceremonies.
func Script(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	b, _ := static.ReadFile("static/passkey.js")
	_, _ = w.Write(b)
}

// Unavailable says why passkeys cannot work here, "" when they can.
func (s *Service) Unavailable() string { return s.Off }
