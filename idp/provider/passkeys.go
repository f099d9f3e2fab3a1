package provider

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"xaa.example/idp/passkey"
	"xaa.example/idp/store"
	"xaa.example/shared/signin"
	"xaa.example/shared/web"
)

// Passkeys at the IdP: a person adds one on their account page (/account)
// and then signs in with it alone, no password (amr hwk user, acr phr). An
// administrator may require them for an organisation (the console's Users
// tab): its people then confirm a password sign-in with their passkey, or
// add one there and then (amr pwd hwk user mfa), before any app gets a
// code.

const (
	pathAccount         = "/account"
	pathPasskeyScript   = "/passkey.js"
	pathRegisterOptions = "/passkeys/register/options"
	pathRegister        = "/passkeys/register"
	pathPasskeyOptions  = "/login/passkey/options"
	pathPasskeyLogin    = "/login/passkey"
)

// Keys of the person's session at the IdP while a passkey is involved.
const (
	sessionCeremony = "passkey.ceremony" // what the server keeps between a ceremony's two requests
	sessionContinue = "passkey.continue" // where a sign-in goes once done
	// A password sign-in that still needs the passkey its organisation
	// requires: who, when the password was checked, how they had signed in.
	sessionPendingUser = "passkey.pending_user"
	sessionPendingAt   = "passkey.pending_at"
	sessionPendingAMR  = "passkey.pending_amr"
)

// pendingFor is how long a password sign-in waits for its passkey.
const pendingFor = 5 * time.Minute

func (s *Server) passkeyRoutes(r *gin.Engine) {
	r.GET(pathPasskeyScript, gin.WrapF(passkey.Script))
	r.GET(pathAccount, s.serveAccount)
	r.POST(pathRegisterOptions, s.serveRegisterOptions)
	r.POST(pathRegister, s.serveRegister)
	r.POST(pathPasskeyOptions, s.servePasskeyOptions)
	r.POST(pathPasskeyLogin, s.servePasskeyLogin)
}

func (s *Server) passkeyPerson(ctx context.Context, id string) (passkey.Person, error) {
	u, err := s.store.User(ctx, id)
	if err != nil {
		return passkey.Person{}, err
	}
	if u.Disabled {
		return passkey.Person{}, errors.New("the account is disabled")
	}
	return passkey.Person{ID: u.ID, Email: u.Email, Name: u.Name}, nil
}

// passkeyDemand is a sign-in that must still show a passkey, and whose
// demand it is.
type passkeyDemand struct {
	ask   bool
	org   *store.Org // the person's organisation, when it could be read
	byApp bool       // the client asked (acr_values phr), not the organisation
}

// demandPasskey says whether a sign-in of u made with amr must still show
// a passkey: their organisation requires one, or the client asks for one
// (acr_values phr). Nothing is asked where passkeys cannot work, nor of a
// sign-in that used one.
func (s *Server) demandPasskey(ctx context.Context, u *store.User, amr []string, ar authRequest) passkeyDemand {
	if s.passkeys.Off != "" || slices.Contains(amr, "hwk") {
		return passkeyDemand{}
	}
	org, err := s.store.Org(ctx, u.OrgID)
	byOrg := err == nil && org.RequirePasskey
	if !byOrg && !ar.wantsPasskey() {
		return passkeyDemand{}
	}
	return passkeyDemand{ask: true, org: org, byApp: !byOrg}
}

// askForPasskey holds a sign-in until the person proves their passkey, or
// adds one: the page says which, and goes on to continueTo.
func (s *Server) askForPasskey(c *gin.Context, u *store.User, d passkeyDemand, amr []string, continueTo string) {
	ctx, userID := c.Request.Context(), u.ID
	sess := s.op.Sessions
	// No one is signed in meanwhile: the password alone is not enough.
	s.op.Forget(ctx)
	sess.Put(ctx, sessionPendingUser, userID)
	sess.Put(ctx, sessionPendingAt, s.cfg.Now().Unix())
	sess.Put(ctx, sessionPendingAMR, strings.Join(amr, " "))
	sess.Put(ctx, sessionContinue, continueTo)
	n, err := s.passkeys.Count(ctx, userID)
	if err != nil {
		web.RenderError(c, http.StatusInternalServerError, "Sign-in failed", "The identity provider could not read your passkeys. Try again in a moment.")
		return
	}
	m := s.meta()
	m.Title, m.Scripts = "Confirm with your passkey", []string{pathPasskeyScript}
	why := "The app asks you to confirm with your passkey: what you are about to do there needs it."
	if !d.byApp {
		why = d.org.Name + " also asks for your passkey before you sign in to any app."
	}
	web.Render(c, http.StatusOK, web.Layout(m, confirmPasskeyPage(confirmPasskeyView{Name: u.Name, Why: why, HasPasskey: n > 0})))
}

// pending is the password sign-in waiting for its passkey, if any.
func (s *Server) pending(ctx context.Context) (userID string, amr []string) {
	sess := s.op.Sessions
	userID = sess.GetString(ctx, sessionPendingUser)
	if userID == "" || s.cfg.Now().After(time.Unix(sess.GetInt64(ctx, sessionPendingAt), 0).Add(pendingFor)) {
		return "", nil
	}
	return userID, strings.Fields(sess.GetString(ctx, sessionPendingAMR))
}

// finishSignIn signs the person in with what they proved and answers
// where the page goes next.
func (s *Server) finishSignIn(c *gin.Context, userID string, amr []string) {
	ctx := c.Request.Context()
	next := signin.SafeReturn(s.op.Sessions.PopString(ctx, sessionContinue))
	for _, k := range []string{sessionPendingUser, sessionPendingAt, sessionPendingAMR} {
		s.op.Sessions.Remove(ctx, k)
	}
	if err := s.op.SignIn(ctx, userID, s.cfg.Now(), amr); err != nil {
		jsonProblem(c, http.StatusInternalServerError, "Your session could not be started.")
		return
	}
	s.cfg.Log.Info("user signed in", "user", userID, "amr", amr)
	c.JSON(http.StatusOK, gin.H{"next": next})
}

// withPasskey is amr with a passkey's methods added; mfa when a password
// came first (RFC 8176: more than one factor).
func withPasskey(amr []string) []string {
	out := slices.Clone(amr)
	for _, m := range passkey.AMR {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	if slices.Contains(out, "pwd") && !slices.Contains(out, "mfa") {
		out = append(out, "mfa")
	}
	return out
}

// passkeyPersonOr answers 403 when the person cannot use passkeys (gone
// or disabled) and returns false.
func (s *Server) passkeyPersonOr(c *gin.Context, userID string) (passkey.Person, bool) {
	p, err := s.passkeyPerson(c.Request.Context(), userID)
	if err != nil {
		jsonProblem(c, http.StatusForbidden, "This account cannot use a passkey: "+err.Error()+".")
		return p, false
	}
	return p, true
}

func jsonProblem(c *gin.Context, status int, message string) {
	c.JSON(status, gin.H{"error": message})
}

// continueTo reads where the page goes once signed in: a local path only.
func continueTo(c *gin.Context) string {
	var body struct {
		Continue string `json:"continue"`
	}
	_ = json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, 8<<10)).Decode(&body)
	return signin.SafeReturn(body.Continue)
}

func (s *Server) ceremonyStarted(c *gin.Context, ch *passkey.Challenge, err error) {
	if err != nil {
		s.cfg.Log.Error("passkey ceremony", "err", err)
		jsonProblem(c, http.StatusInternalServerError, "The identity provider could not start the passkey request. Try again in a moment.")
		return
	}
	s.op.Sessions.Put(c.Request.Context(), sessionCeremony, string(ch.Session))
	c.JSON(http.StatusOK, ch.Options)
}

// ceremony takes the kept half of a ceremony, once.
func (s *Server) ceremony(ctx context.Context) []byte {
	return []byte(s.op.Sessions.PopString(ctx, sessionCeremony))
}

func (s *Server) refused(c *gin.Context, err error) {
	var r *passkey.Refusal
	if errors.As(err, &r) {
		s.cfg.Log.Warn("passkey refused", "err", err)
		jsonProblem(c, http.StatusBadRequest, "Your passkey was not accepted. Try again, or use another passkey. ("+r.Err.Error()+")")
		return
	}
	s.cfg.Log.Error("passkey", "err", err)
	jsonProblem(c, http.StatusInternalServerError, "The identity provider could not check your passkey. Try again in a moment.")
}

// registration is who adds a passkey now: the signed-in person, or one
// whose organisation requires a passkey before their sign-in completes
// (pending, with how they had signed in).
type registration struct {
	person     passkey.Person
	pending    bool
	pendingAMR []string
}

// registrant finds who may add a passkey now, or answers why no one may:
// noOne when there is no sign-in. A sign-in held for its passkey may add
// one only when the person has none yet: a password alone (perhaps a
// stolen one) must not add the passkey that completes it.
func (s *Server) registrant(c *gin.Context, noOne string) (registration, bool) {
	ctx := c.Request.Context()
	var r registration
	uid, amr := s.pending(ctx)
	r.pending, r.pendingAMR = uid != "", amr
	if !r.pending {
		uid, _ = s.op.SignedIn(ctx)
	}
	if uid == "" {
		jsonProblem(c, http.StatusUnauthorized, noOne)
		return r, false
	}
	var ok bool
	if r.person, ok = s.passkeyPersonOr(c, uid); !ok || !r.pending {
		return r, ok
	}
	n, err := s.passkeys.Count(ctx, uid)
	if err != nil {
		jsonProblem(c, http.StatusInternalServerError, "The identity provider could not read your passkeys. Try again in a moment.")
		return r, false
	}
	if n > 0 {
		jsonProblem(c, http.StatusForbidden, "You already have a passkey: confirm your sign-in with it. If you lost it, ask your administrator.")
		return r, false
	}
	return r, true
}

func (s *Server) serveRegisterOptions(c *gin.Context) {
	r, ok := s.registrant(c, "Sign in first: a passkey is added to an account the identity provider knows.")
	if !ok {
		return
	}
	ch, err := s.passkeys.BeginRegistration(c.Request.Context(), r.person)
	s.ceremonyStarted(c, ch, err)
}

func (s *Server) serveRegister(c *gin.Context) {
	ctx := c.Request.Context()
	r, ok := s.registrant(c, "Your sign-in ended before the passkey was added. Sign in again.")
	if !ok {
		return
	}
	if err := s.passkeys.FinishRegistration(ctx, r.person, s.ceremony(ctx), c.Request); err != nil {
		s.refused(c, err)
		return
	}
	s.cfg.Log.Info("passkey added", "user", r.person.ID)
	if r.pending {
		// Made with the person verified on the authenticator, just after
		// their password: the sign-in their organisation asks for.
		s.finishSignIn(c, r.person.ID, withPasskey(r.pendingAMR))
		return
	}
	c.JSON(http.StatusOK, gin.H{"next": pathAccount + "?added=1"})
}

func (s *Server) servePasskeyOptions(c *gin.Context) {
	ctx := c.Request.Context()
	if uid, _ := s.pending(ctx); uid != "" {
		p, ok := s.passkeyPersonOr(c, uid)
		if !ok {
			return
		}
		ch, err := s.passkeys.BeginLogin(ctx, &p)
		s.ceremonyStarted(c, ch, err)
		return
	}
	s.op.Sessions.Put(ctx, sessionContinue, continueTo(c))
	ch, err := s.passkeys.BeginLogin(ctx, nil)
	s.ceremonyStarted(c, ch, err)
}

func (s *Server) servePasskeyLogin(c *gin.Context) {
	ctx := c.Request.Context()
	pendingUID, pendingAMR := s.pending(ctx)
	var want *passkey.Person
	if pendingUID != "" {
		p, ok := s.passkeyPersonOr(c, pendingUID)
		if !ok {
			return
		}
		want = &p
	}
	uid, err := s.passkeys.FinishLogin(ctx, want, s.ceremony(ctx), c.Request)
	if err != nil {
		s.refused(c, err)
		return
	}
	if u, err := s.store.User(ctx, uid); err != nil || u.Disabled {
		jsonProblem(c, http.StatusForbidden, "This account is disabled. Ask your administrator to enable it.")
		return
	}
	s.finishSignIn(c, uid, withPasskey(pendingAMR))
}

// serveAccount is the signed-in person's page: their passkeys.
func (s *Server) serveAccount(c *gin.Context) {
	ctx := c.Request.Context()
	uid, _ := s.op.SignedIn(ctx)
	u, err := s.store.User(ctx, uid)
	if uid == "" || err != nil {
		c.Redirect(http.StatusFound, pathLogin+"?next="+pathAccount)
		return
	}
	n, err := s.passkeys.Count(ctx, uid)
	if err != nil {
		web.RenderError(c, http.StatusInternalServerError, "Account unavailable", "Your passkeys could not be read. Try again in a moment.")
		return
	}
	org, _ := s.store.Org(ctx, u.OrgID)
	m := s.meta()
	m.Title, m.Scripts, m.User, m.SignOut = "Your account", []string{pathPasskeyScript}, u.Name, "/logout"
	web.Render(c, http.StatusOK, web.Layout(m, accountPage(accountView{
		User: u, Org: org, Passkeys: n, Added: c.Query("added") == "1", Methods: s.op.Methods(ctx), Off: s.passkeys.Off,
	})))
}

// methodWords says how a session signed in, for the person.
func methodWords(amr []string) string {
	switch {
	case slices.Contains(amr, "mfa"):
		return "password and passkey (amr " + strings.Join(amr, " ") + ")"
	case slices.Contains(amr, "hwk"):
		return "passkey (amr " + strings.Join(amr, " ") + ")"
	case slices.Contains(amr, "pwd"):
		return "password (amr pwd)"
	}
	return "not recorded"
}
