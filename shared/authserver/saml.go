package authserver

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"xaa.example/shared/samlcred"
	"xaa.example/shared/storage"
)

// A tenant may sign its people in with SAML 2.0 (github.com/crewjam/saml)
// instead of OpenID Connect: this server is then a service provider, its
// metadata at /saml/metadata, its assertion consumer service at /saml/acs.
// The IdP's signed response is checked by the library (signature over the
// assertion by the IdP's certificate from its metadata, Issuer, Audience
// = this entity ID, Destination and Recipient = the ACS, NotBefore and
// NotOnOrAfter, InResponseTo = the request this server sent) and each
// assertion is used once (the replay store). The person is linked by the
// IdP's persistent NameID, as an OpenID subject is.

const (
	pathSAMLMetadata = "/saml/metadata"
	pathSAMLACS      = "/saml/acs"
	// samlRequestLifetime bounds the time between the request and the
	// response.
	samlRequestLifetime = 10 * time.Minute
	// maxSAMLResponse bounds a decoded response.
	maxSAMLResponse = 64 << 10
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

// samlSP is this server as a service provider, for one IdP; the IdP's
// metadata is fetched once, at the first sign-in.
type samlSP struct {
	sp *saml.ServiceProvider
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

func (s *Server) serviceProvider(ctx context.Context, t *tenant) (*saml.ServiceProvider, error) {
	// One lock for every tenant: checkSAMLEntity reads the others'.
	s.samlMu.Lock()
	defer s.samlMu.Unlock()
	if t.sp.sp != nil {
		return t.sp.sp, nil
	}
	mdURL, err := url.Parse(t.IdP.Issuer)
	if err != nil {
		return nil, err
	}
	md, err := samlsp.FetchMetadata(ctx, s.http, *mdURL)
	if err != nil {
		return nil, err
	}
	if err := s.checkSAMLEntity(t, md.EntityID); err != nil {
		return nil, &samlConfigError{metadata: t.IdP.Issuer, err: err}
	}
	key, cert, err := samlcred.LoadOrCreate(ctx, s.cfg.DB, "sp", s.cfg.Issuer+pathSAMLMetadata)
	if err != nil {
		return nil, err
	}
	meta, _ := url.Parse(s.cfg.Issuer + pathSAMLMetadata)
	acs, _ := url.Parse(s.cfg.Issuer + pathSAMLACS)
	t.sp.authority = samlAuthority(t, md.EntityID)
	t.sp.sp = &saml.ServiceProvider{
		EntityID: meta.String(), Key: key, Certificate: cert,
		MetadataURL: *meta, AcsURL: *acs, IDPMetadata: md,
		AuthnNameIDFormat: saml.PersistentNameIDFormat,
		ReplayCache:       samlcred.ReplayCache{Store: s.op.Replay},
		HTTPClient:        s.http,
	}
	return t.sp.sp, nil
}

// beginSAML sends the browser to the tenant's IdP with an AuthnRequest
// (HTTP-Redirect binding); the response comes back to /saml/acs.
func (s *Server) beginSAML(w http.ResponseWriter, r *http.Request, t *tenant, returnTo, loginHint string) {
	ctx := r.Context()
	sp, err := s.serviceProvider(ctx, t)
	if err != nil {
		s.upstreamDown(w, r, t.IdP.Issuer, err)
		return
	}
	req, err := sp.MakeAuthenticationRequest(sp.GetSSOBindingLocation(saml.HTTPRedirectBinding), saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		s.upstreamDown(w, r, t.IdP.Issuer, err)
		return
	}
	relay, secret := strings.ToLower(rand.Text()), rand.Text()
	row := SAMLRequest{RelayState: relay, RequestID: req.ID, IdP: t.IdP.Issuer, ReturnTo: returnTo, Browser: browserHash(secret), ExpiresAt: s.cfg.Now().Add(samlRequestLifetime).UTC()}
	if err := s.cfg.DB.WithContext(ctx).Create(&row).Error; err != nil {
		s.cfg.Log.Error("store SAML request", "err", err)
		s.errorPage(w, r, http.StatusInternalServerError, "Sign-in failed", "The sign-in could not be started. Try again in a moment.")
		return
	}
	to, err := req.Redirect(relay, sp)
	if err != nil {
		s.upstreamDown(w, r, t.IdP.Issuer, err)
		return
	}
	http.SetCookie(w, s.samlCookie(relay, secret, int(samlRequestLifetime.Seconds())))
	if loginHint != "" {
		// Not part of SAML, but read by many IdPs (this one too): the
		// email the person already typed here.
		q := to.Query()
		q.Set("login_hint", loginHint)
		to.RawQuery = q.Encode()
	}
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

// serveSAMLACS takes the IdP's response: the request it answers, the
// library's checks, then the person, linked by NameID and signed in here.
func (s *Server) serveSAMLACS(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	fail := func(message string) {
		s.errorPage(w, r, http.StatusBadRequest, "Sign-in did not complete", message)
	}
	if err := r.ParseForm(); err != nil {
		fail("The identity provider's answer could not be read.")
		return
	}
	// Before anything reads it: a response is a few kilobytes of XML with
	// no document type, comment or processing instruction (see
	// samlcred.RefuseMarkup); anything else is refused outright, and the
	// request it answers stays pending.
	raw, err := base64.StdEncoding.DecodeString(r.PostForm.Get("SAMLResponse"))
	if err != nil || len(raw) > maxSAMLResponse {
		fail("The identity provider's answer is not a SAML response this server reads (not base64, or too large).")
		return
	}
	if err := samlcred.RefuseMarkup(raw); err != nil {
		s.cfg.Log.Info("SAML response refused", "why", err)
		fail("The identity provider's answer is not a SAML response this server reads: " + err.Error() + " in it.")
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
	sp, err := s.serviceProvider(ctx, t)
	if err != nil {
		s.upstreamDown(w, r, t.IdP.Issuer, err)
		return
	}
	assertion, err := sp.ParseResponse(r, []string{pending.RequestID})
	if err != nil {
		var ire *saml.InvalidResponseError
		if errors.As(err, &ire) {
			s.cfg.Log.Info("SAML response refused", "why", ire.PrivateErr)
			fail("The identity provider's answer did not pass this server's checks: " + publicSAMLReason(ire.PrivateErr) + ". Sign in again.")
			return
		}
		fail("The identity provider's answer did not pass this server's checks. Sign in again.")
		return
	}
	if assertion.Subject == nil || assertion.Subject.NameID == nil || assertion.Subject.NameID.Value == "" {
		fail("The identity provider's answer names no one (no NameID).")
		return
	}
	email, name := samlAttribute(assertion, "mail", "email", "urn:oid:0.9.2342.19200300.100.1.3"), samlAttribute(assertion, "cn", "name", "urn:oid:2.5.4.3")
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
	user, ok := s.linkAtSignIn(w, r, t, t.sp.authority, "", assertion.Subject.NameID.Value, email, name)
	if !ok {
		return
	}
	// The signed assertion, as the IdP signed it, is kept for the features
	// that speak for the person later (the relay: WithTokenExchangeRelay).
	signed, err := signedAssertion(r.PostForm.Get("SAMLResponse"))
	if err != nil {
		s.cfg.Log.Warn("SAML assertion not kept", "err", err)
	}
	expiry := s.cfg.Now().Add(time.Hour)
	if assertion.Conditions != nil && !assertion.Conditions.NotOnOrAfter.IsZero() {
		expiry = assertion.Conditions.NotOnOrAfter
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
	if err := s.op.SignIn(ctx, user.ID, s.cfg.Now()); err != nil {
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

// signedAssertion is the Assertion element of a SAML response, as the IdP
// signed it, with the namespaces it uses declared on it, base64url: the
// subject token of a saml2 exchange (RFC 8693 §3).
func signedAssertion(samlResponse string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(samlResponse)
	if err != nil {
		return "", err
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil || doc.Root() == nil {
		return "", errors.New("the SAML response is not XML")
	}
	var found *etree.Element
	for _, el := range doc.Root().ChildElements() {
		if el.Tag == "Assertion" {
			found = el
			break
		}
	}
	if found == nil {
		return "", errors.New("the SAML response has no Assertion")
	}
	a := found.Copy()
	for _, attr := range doc.Root().Attr {
		if (attr.Space == "xmlns" || (attr.Space == "" && attr.Key == "xmlns")) && a.SelectAttr(attr.FullKey()) == nil {
			a.CreateAttr(attr.FullKey(), attr.Value)
		}
	}
	out := etree.NewDocument()
	out.SetRoot(a)
	b, err := out.WriteToBytes()
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
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
		sp, err := s.serviceProvider(r.Context(), t)
		if err != nil {
			s.upstreamDown(w, r, t.IdP.Issuer, err)
			return
		}
		b, _ := xml.MarshalIndent(sp.Metadata(), "", "  ")
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		_, _ = w.Write(b)
		return
	}
	http.NotFound(w, r)
}

// samlAttribute is the first value of the attribute named any of names
// (by Name or FriendlyName).
func samlAttribute(a *saml.Assertion, names ...string) string {
	for _, st := range a.AttributeStatements {
		for _, attr := range st.Attributes {
			for _, n := range names {
				if (strings.EqualFold(attr.Name, n) || strings.EqualFold(attr.FriendlyName, n)) && len(attr.Values) > 0 {
					return attr.Values[0].Value
				}
			}
		}
	}
	return ""
}

// publicSAMLReason says which check failed in words a person may read,
// without the library's details (crewjam/saml classifies its refusals by
// these error values).
func publicSAMLReason(err error) string {
	is := func(targets ...error) bool {
		return slices.ContainsFunc(targets, func(target error) bool { return errors.Is(err, target) })
	}
	switch {
	case strings.Contains(err.Error(), "signature element not present"):
		// crewjam/saml's refusal of an unsigned message is an unexported,
		// unclassified error: its text is all there is to match.
		return "it is not signed"
	case is(saml.ErrInvalidSignature, saml.ErrUntrustedCertificate, saml.ErrCertificateNotValidNow):
		return "its signature is not the identity provider's"
	case is(saml.ErrAudienceMismatch):
		return "it is meant for another service"
	case is(saml.ErrExpired, saml.ErrNotYetValid):
		return "it is not valid at this time"
	case is(saml.ErrRequestIDMismatch):
		return "it does not answer this sign-in"
	case is(saml.ErrDestinationMismatch):
		return "it was sent to another address"
	case is(saml.ErrIssuerMismatch):
		return "it comes from another identity provider"
	case is(saml.ErrAssertionReplayed):
		return "it was used before"
	}
	return "it is not a valid SAML response"
}
