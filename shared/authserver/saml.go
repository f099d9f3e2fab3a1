package authserver

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"xaa.example/shared/samlcred"
	"xaa.example/shared/samlsp"
	"xaa.example/shared/storage"
)

// A tenant may sign its people in with SAML 2.0 instead of OpenID Connect:
// this server is then a service provider (the connector is package
// samlsp), its metadata at /saml/metadata, its assertion consumer service
// at /saml/acs. Here are the parts that are this server's: which sign-in
// a response finishes and in which browser, which authority the IdP is
// (and that it is no other's), and the person it names, linked and signed
// in.

const (
	pathSAMLMetadata = "/saml/metadata"
	pathSAMLACS      = "/saml/acs"
	// samlRequestLifetime bounds the time between the request and the
	// response.
	samlRequestLifetime = 10 * time.Minute
)

// SAMLRequest is a sign-in this server started at a SAML IdP, kept until
// its response comes back (RelayState names it), then deleted.
type SAMLRequest struct {
	RelayState string `gorm:"primaryKey;size:64"`
	RequestID  string `gorm:"size:128;not null"`
	IdP        string `gorm:"size:255;not null"`
	ReturnTo   string `gorm:"size:2048"`
	// Browser is the SHA-256 of the secret in the cookie of the browser
	// that started the sign-in: only that browser may finish it.
	Browser   string `gorm:"size:64"`
	ExpiresAt time.Time
}

// samlCookie names the cookie that binds a SAML sign-in to the browser
// that started it, so that no one can post a response of their own into
// someone else's browser and sign them in as themselves (login CSRF). The
// response is a cross-site POST (HTTP-POST binding) and carries only
// SameSite=None cookies, which browsers keep only when Secure: they allow
// those on https and on localhost. On plain http to another host the cookie
// is SameSite=Lax, which works when the IdP is on the same site.
func (s *Server) samlCookie(relay, value string, maxAge int) *http.Cookie {
	c := &http.Cookie{Name: s.cfg.CookieName + "_saml_" + relay, Value: value, Path: pathSAMLACS, MaxAge: maxAge,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteNoneMode}
	if u, err := url.Parse(s.cfg.Issuer); err == nil && u.Scheme != "https" && !isLoopback(u.Hostname()) {
		c.Secure, c.SameSite = false, http.SameSiteLaxMode
	}
	return c
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func browserHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// samlSP is one tenant's SAML IdP as this server's connector reads it; its
// metadata is fetched once, at the first sign-in.
type samlSP struct {
	idp *samlsp.IdP
	// authority is who vouches for the people this IdP signs in, the key
	// of their links (samlAuthority).
	authority string
}

// samlAuthority is the authority a SAML IdP's assertions speak for: its
// entity ID; or, when the IdP is the SAML face of the tenant's OAuth issuer
// (its metadata is published under that issuer's URL, so the issuer's own
// host vouches for it, as the local IdP's and an Okta org's app metadata
// are), the issuer itself, whose ID-JAGs name a person by the same id as
// its persistent NameID. Any other IdP, one an organisation runs itself,
// has NameIDs of its own: they are never looked up among the issuer's
// subjects (issue 31, takeover 1).
func samlAuthority(t *tenant, entityID string) string {
	if under(t.IdP.TokenIssuer, t.IdP.Issuer) {
		return t.IdP.TokenIssuer
	}
	return entityID
}

// under reports whether u is the issuer's URL or a path below it.
func under(issuer, u string) bool {
	return issuer != "" && (u == issuer || strings.HasPrefix(u, strings.TrimSuffix(issuer, "/")+"/"))
}

// checkSAMLEntity refuses a SAML IdP whose metadata names an entity ID that
// is another authority's: one under an OAuth issuer this server knows,
// read from anywhere but that issuer, or the entity ID of another
// tenant's IdP. Its people would otherwise be looked up among the other
// authority's.
func (s *Server) checkSAMLEntity(t *tenant, entityID string) error {
	if entityID == "" {
		return errors.New("the metadata names no entity ID")
	}
	issuers := append(s.idpIssuers(), s.trustedIssuers...)
	for _, other := range s.tenants {
		if other.SAML && other != t {
			issuers = append(issuers, other.IdP.TokenIssuer)
			if other.sp.authority == entityID {
				return fmt.Errorf("its entity ID %s is already another organisation's identity provider's", entityID)
			}
		}
	}
	for _, iss := range issuers {
		if under(iss, entityID) && !under(iss, t.IdP.Issuer) {
			return fmt.Errorf("its entity ID %s belongs to %s, but its metadata was read from %s", entityID, iss, t.IdP.Issuer)
		}
	}
	return nil
}

// samlIdP is the tenant's SAML IdP, connected at the first sign-in: its
// metadata read, its entity ID checked to be no other authority's.
func (s *Server) samlIdP(ctx context.Context, t *tenant) (*samlsp.IdP, error) {
	// One lock for every tenant: checkSAMLEntity reads the others'.
	s.samlMu.Lock()
	defer s.samlMu.Unlock()
	if t.sp.idp != nil {
		return t.sp.idp, nil
	}
	key, cert, err := samlcred.LoadOrCreate(ctx, s.cfg.DB, "sp", s.cfg.Issuer+pathSAMLMetadata)
	if err != nil {
		return nil, err
	}
	sp := &samlsp.ServiceProvider{EntityID: s.cfg.Issuer + pathSAMLMetadata, ACSURL: s.cfg.Issuer + pathSAMLACS,
		Key: key, Cert: cert, Replay: samlcred.ReplayCache{Store: s.op.Replay}, HTTP: s.http}
	idp, err := sp.Connect(ctx, t.IdP.Issuer)
	if err != nil {
		return nil, err
	}
	if err := s.checkSAMLEntity(t, idp.EntityID); err != nil {
		return nil, &samlConfigError{metadata: t.IdP.Issuer, err: err}
	}
	t.sp.authority = samlAuthority(t, idp.EntityID)
	t.sp.idp = idp
	return idp, nil
}

// beginSAML sends the browser to the tenant's IdP with an AuthnRequest;
// the response comes back to /saml/acs, in this browser alone.
func (s *Server) beginSAML(w http.ResponseWriter, r *http.Request, t *tenant, returnTo, loginHint string) {
	ctx := r.Context()
	idp, err := s.samlIdP(ctx, t)
	if err != nil {
		s.upstreamDown(w, r, t.IdP.Issuer, err)
		return
	}
	relay, secret := strings.ToLower(rand.Text()), rand.Text()
	to, requestID, err := idp.AuthnRequest(relay, loginHint)
	if err != nil {
		s.upstreamDown(w, r, t.IdP.Issuer, err)
		return
	}
	row := SAMLRequest{RelayState: relay, RequestID: requestID, IdP: t.IdP.Issuer, ReturnTo: returnTo, Browser: browserHash(secret), ExpiresAt: s.cfg.Now().Add(samlRequestLifetime).UTC()}
	if err := s.cfg.DB.WithContext(ctx).Create(&row).Error; err != nil {
		s.cfg.Log.Error("store SAML request", "err", err)
		s.errorPage(w, r, http.StatusInternalServerError, "Sign-in failed", "The sign-in could not be started. Try again in a moment.")
		return
	}
	http.SetCookie(w, s.samlCookie(relay, secret, int(samlRequestLifetime.Seconds())))
	http.Redirect(w, r, to.String(), http.StatusFound)
}

// samlConfigError is a SAML IdP this server refuses to trust as
// configured; the page says so rather than that the IdP is down.
type samlConfigError struct {
	metadata string
	err      error
}

func (e *samlConfigError) Error() string {
	return "SAML identity provider " + e.metadata + " refused: " + e.err.Error()
}

// serveSAMLACS takes the IdP's response: the sign-in it finishes, the
// connector's checks, then the person, linked by NameID and signed in here.
func (s *Server) serveSAMLACS(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	fail := func(message string) {
		s.errorPage(w, r, http.StatusBadRequest, "Sign-in did not complete", message)
	}
	refused := func(err error) {
		var rf *samlsp.Refusal
		if errors.As(err, &rf) {
			s.cfg.Log.Info("SAML response refused", "why", rf.Cause)
			fail("The identity provider's answer " + rf.Public + ". Sign in again.")
			return
		}
		fail("The identity provider's answer did not pass this server's checks. Sign in again.")
	}
	if err := r.ParseForm(); err != nil {
		fail("The identity provider's answer could not be read.")
		return
	}
	// Before anything reads it: a response that is not a few kilobytes of
	// plain XML is refused outright, and the sign-in it answers stays
	// pending.
	if err := samlsp.Precheck(r.PostForm.Get("SAMLResponse")); err != nil {
		refused(err)
		return
	}
	relay := r.PostForm.Get("RelayState")
	pending, err := s.takeSAMLRequest(ctx, relay)
	if err != nil {
		fail("This sign-in is stale, was already completed, or was not started here. Go back to the application and sign in again.")
		return
	}
	cookie, err := r.Cookie(s.samlCookie(relay, "", 0).Name)
	if err != nil || subtle.ConstantTimeCompare([]byte(browserHash(cookie.Value)), []byte(pending.Browser)) != 1 {
		s.cfg.Log.Info("SAML response refused", "why", "posted from a browser that did not start the sign-in")
		fail("This sign-in was not started in this browser, so it is not finished here: someone else's sign-in cannot be completed in your browser. Go back to the application and sign in again.")
		return
	}
	http.SetCookie(w, s.samlCookie(relay, "", -1))
	t := s.tenantByIssuer(pending.IdP)
	if t == nil || !t.SAML {
		fail("The identity provider of this sign-in is no longer configured here.")
		return
	}
	idp, err := s.samlIdP(ctx, t)
	if err != nil {
		s.upstreamDown(w, r, t.IdP.Issuer, err)
		return
	}
	person, err := idp.ReadResponse(r, pending.RequestID)
	if err != nil {
		refused(err)
		return
	}
	email, name := person.Email, person.Name
	if email == "" {
		s.errorPage(w, r, http.StatusBadRequest, "No email address", "The identity provider did not share your email address, which this server needs to find your account.")
		return
	}
	if !t.owns(email) {
		s.errorPage(w, r, http.StatusForbidden, "Another organisation's account", "You signed in with "+email+", which does not belong to the organisation you chose. Sign in again with your work account.")
		return
	}
	// Linked under the authority that vouched for the person: the IdP's
	// entity ID, or, for the SAML face of the tenant's OAuth issuer, that
	// issuer, whose ID-JAGs carry the persistent NameID as sub, so an
	// ID-JAG about this person finds the account a SAML sign-in made ("XAA
	// for SAML-based resource apps"). The account must be the tenant's.
	user, ok := s.linkAtSignIn(w, r, t, t.sp.authority, "", person.NameID, email, name)
	if !ok {
		return
	}
	// The signed assertion, as the IdP signed it, is kept for the features
	// that speak for the person later (the relay: WithTokenExchangeRelay).
	signed := person.Assertion
	expiry := s.cfg.Now().Add(time.Hour)
	if !person.NotOnOrAfter.IsZero() {
		expiry = person.NotOnOrAfter
	}
	us := &UpstreamSession{UserID: user.ID, IdPIssuer: t.IdP.Issuer, SAMLAssertion: signed, Expiry: expiry}
	for _, after := range s.afterSAMLSignIn {
		if err := after(ctx, t, signed, us); err != nil {
			// The sign-in stands; the exchange will say what is missing.
			s.cfg.Log.Warn("after the SAML sign-in", "err", err)
		}
	}
	if err := s.store.saveUpstream(ctx, us); err != nil {
		s.cfg.Log.Error("save SAML sign-in", "err", err)
		s.errorPage(w, r, http.StatusInternalServerError, "Account problem", "Your sign-in could not be saved. Try again in a moment.")
		return
	}
	if err := s.op.SignIn(ctx, user.ID, s.cfg.Now(), nil); err != nil {
		s.errorPage(w, r, http.StatusInternalServerError, "Session problem", "Your session could not be started.")
		return
	}
	s.cfg.Log.Info("signed in through SAML", "user", user.ID)
	back := pending.ReturnTo
	if back == "" {
		back = "/"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// takeSAMLRequest returns the pending request named by relay and deletes
// it: a response is taken once.
func (s *Server) takeSAMLRequest(ctx context.Context, relay string) (*SAMLRequest, error) {
	if relay == "" || len(relay) > 64 {
		return nil, storage.ErrNotFound
	}
	var row SAMLRequest
	err := s.cfg.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(&row, "relay_state = ?", relay).Error; err != nil {
			return storage.Translate(err)
		}
		res := tx.Delete(&SAMLRequest{}, "relay_state = ?", relay)
		if res.Error != nil || res.RowsAffected != 1 {
			return storage.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !s.cfg.Now().Before(row.ExpiresAt) {
		return nil, storage.ErrNotFound
	}
	return &row, nil
}

// serveSAMLMetadata publishes this server's service provider metadata, for
// the IdP's administrator.
func (s *Server) serveSAMLMetadata(w http.ResponseWriter, r *http.Request) {
	for _, t := range s.tenants {
		if !t.SAML {
			continue
		}
		idp, err := s.samlIdP(r.Context(), t)
		if err != nil {
			s.upstreamDown(w, r, t.IdP.Issuer, err)
			return
		}
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		_, _ = w.Write(idp.Metadata())
		return
	}
	http.NotFound(w, r)
}
