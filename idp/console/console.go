// Package console is the IdP's admin console: the managed connections,
// people, provisioning, SAML apps, audit log and signing keys, for
// signed-in administrators only. Every change is a POST carrying the
// session's CSRF token, is read by the next token exchange (nothing is
// cached), and is told to the parts that act on it as a Change.
package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/bcrypt"

	"xaa.example/idp/audit"
	"xaa.example/idp/provisioning"
	"xaa.example/idp/samlidp"
	"xaa.example/idp/store"
	"xaa.example/idp/throttle"
	"xaa.example/shared/demo"
	"xaa.example/shared/keys"
	"xaa.example/shared/oauth"
	"xaa.example/shared/rar"
	"xaa.example/shared/storage"
	"xaa.example/shared/web"
)

const (
	sessionAdminCSRF = "admin_csrf"
	adminKey         = "idp.admin"
)

// Sessions is the IdP's sign-in: who is signed in.
type Sessions interface {
	SignedIn(ctx context.Context) (userID string, authTime time.Time)
}

// Session holds values of the signed-in browser's session (the console's
// CSRF token).
type Session interface {
	GetString(ctx context.Context, key string) string
	Put(ctx context.Context, key string, value any)
}

// Config is what the console works on.
type Config struct {
	Store        *store.Store
	Audit        *audit.Log
	Provisioning *provisioning.Provisioner
	SAML         *samlidp.IdP
	Throttle     *throttle.Throttle
	Passkeys     Passkeys
	Keys         *keys.Set
	// Clients are the IdP's registered OAuth clients, shown under Apps.
	Clients  []oauth.Client
	Sessions Sessions
	Session  Session
	// LoginPath is the IdP's sign-in page, which takes next.
	LoginPath string
	// ConsoleURL is the debug console an audit entry links to; empty
	// hides the link.
	ConsoleURL string
	// Signals: an app takes the IdP's Shared Signals, so that a change
	// ends the access tokens issued before it.
	Signals bool
	// Reactions act on every change, in order.
	Reactions []Reaction
	Meta      func() web.Meta
	Now       func() time.Time
	Log       *slog.Logger
}

// Passkeys are the people's passkeys, as the console shows and removes them.
type Passkeys interface {
	// Counts is how many passkeys each person who has one has, by id.
	Counts(ctx context.Context) (map[string]int, error)
	// Remove deletes a person's passkeys.
	Remove(ctx context.Context, userID string) error
	// Unavailable says why passkeys cannot work at this IdP, "" when
	// they can: then no organisation may require one.
	Unavailable() string
}

// Console is the admin console.
type Console struct{ cfg Config }

// New returns the console cfg describes.
func New(cfg Config) *Console { return &Console{cfg: cfg} }

// Routes mounts the console at /admin.
func (s *Console) Routes(r *gin.Engine) {
	admin := r.Group("/admin", s.requireAdmin)
	admin.GET("", func(c *gin.Context) { c.Redirect(http.StatusFound, "/admin/connections") })
	admin.GET("/connections", s.adminConnections)
	admin.POST("/connections/:id", s.adminUpdateConnection)
	admin.GET("/users", s.adminUsers)
	admin.POST("/users", s.adminCreateUser)
	admin.POST("/users/:id/toggle", s.adminToggleUser)
	admin.POST("/users/:id/delete", s.adminDeleteUser)
	admin.POST("/users/:id/unlock", s.adminUnlockUser)
	admin.POST("/orgs/:id/passkey", s.adminRequirePasskey)
	admin.GET("/provisioning", s.adminProvisioning)
	admin.POST("/provisioning/:id", s.adminUpdateProvisioning)
	admin.GET("/apps", s.adminApps)
	admin.POST("/apps/sign-in-protocol", s.adminSignInProtocol)
	admin.POST(strings.TrimPrefix(PathSAMLApps, "/admin"), s.adminAddSAMLApp)
	admin.POST("/apps/saml/remove", s.adminRemoveSAMLApp)
	admin.GET("/audit", s.adminAudit)
	admin.GET("/audit/:id", s.adminAuditEntry)
	admin.POST("/keys/rotate", s.adminRotateKeys)
}

// requireAdmin lets signed-in admins through, sends others to sign in, and
// refuses signed-in people who are not admins. A POST must carry the CSRF
// token of the session.
func (s *Console) requireAdmin(c *gin.Context) {
	ctx := c.Request.Context()
	uid, _ := s.cfg.Sessions.SignedIn(ctx)
	if uid == "" {
		c.Redirect(http.StatusFound, s.cfg.LoginPath+"?next="+c.Request.URL.Path)
		c.Abort()
		return
	}
	u, err := s.cfg.Store.User(ctx, uid)
	if err != nil || u.Disabled || !u.Admin {
		c.Abort()
		m := s.cfg.Meta()
		m.Title = "Administrators only"
		web.Render(c, http.StatusForbidden, web.Layout(m, notAdminPage(u.Email, s.cfg.LoginPath+"?next="+c.Request.URL.Path)))
		return
	}
	if c.Request.Method == http.MethodPost {
		want := s.cfg.Session.GetString(ctx, sessionAdminCSRF)
		if want == "" || subtle.ConstantTimeCompare([]byte(want), []byte(c.PostForm("csrf"))) != 1 {
			c.Abort()
			web.RenderError(c, http.StatusForbidden, "Change refused", "This form was not sent from the admin console (its security token is missing or stale), so nothing was changed. Reload the page and try again.")
			return
		}
	}
	c.Set(adminKey, u)
	c.Next()
}

func (s *Console) adminCSRF(c *gin.Context) string {
	ctx := c.Request.Context()
	token := s.cfg.Session.GetString(ctx, sessionAdminCSRF)
	if token == "" {
		token = rand.Text()
		s.cfg.Session.Put(ctx, sessionAdminCSRF, token)
	}
	return token
}

func (s *Console) renderAdmin(c *gin.Context, status int, tab string, body func(adminView) templComponent, flash, problem string) {
	u, _ := c.Get(adminKey)
	m := s.cfg.Meta()
	m.Title = "Admin · " + tab
	m.User = u.(*store.User).Name
	m.SignOut = "/logout"
	v := adminView{Signals: s.cfg.Signals, Tab: tab, CSRF: s.adminCSRF(c), Flash: flash, Problem: problem}
	web.Render(c, status, web.Layout(m, adminPage(v, body(v))))
}

func (s *Console) adminConnections(c *gin.Context) {
	s.renderConnections(c, http.StatusOK, c.Query("done"), "")
}

func (s *Console) renderConnections(c *gin.Context, status int, flash, problem string) {
	conns, err := s.cfg.Store.Connections(c.Request.Context())
	if err != nil {
		web.RenderError(c, http.StatusInternalServerError, "Connections unavailable", "The connections could not be loaded.")
		return
	}
	s.renderAdmin(c, status, "Connections", func(v adminView) templComponent { return connectionsTab(v, conns) }, flash, problem)
}

// scopeToken is RFC 6749 §3.3's scope-token.
var scopeToken = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]+$`)

func (s *Console) adminUpdateConnection(c *gin.Context) {
	ctx := c.Request.Context()
	id, _ := strconv.ParseUint(c.Param("id"), 10, 32)
	conn, err := s.cfg.Store.Connection(ctx, uint(id))
	if err != nil {
		web.RenderError(c, http.StatusNotFound, "No such connection", "That connection does not exist.")
		return
	}
	admin, _ := c.Get(adminKey)
	before := describeConnection(conn)
	wasEnabled, wasAllowed := conn.Enabled, conn.AllowedScopes
	var flash string
	switch c.PostForm("action") {
	case "enable", "disable":
		conn.Enabled = c.PostForm("action") == "enable"
		flash = conn.Name() + " is enabled: the next token exchange for it may get an ID-JAG."
		if !conn.Enabled {
			flash = conn.Name() + " is disabled: the next token exchange for it is refused (access_denied). " + demo.AfterAdminChange(s.cfg.Signals)
		}
	case "save":
		scopes := append(c.PostFormArray("scope"), strings.Fields(c.PostForm("scopes"))...)
		for _, sc := range scopes {
			if !scopeToken.MatchString(sc) {
				s.renderConnections(c, http.StatusBadRequest, "", fmt.Sprintf("%q is not a valid scope name.", sc))
				return
			}
			if offered := conn.Offered(); len(offered) > 0 && !slices.Contains(offered, sc) {
				s.renderConnections(c, http.StatusBadRequest, "", fmt.Sprintf("%s offers no scope %q; it offers %s. Nothing was saved.", conn.Name(), sc, strings.Join(offered, ", ")))
				return
			}
		}
		clientID := strings.TrimSpace(c.PostForm("client_id_at_resource"))
		if clientID == "" || len(clientID) > 255 {
			s.renderConnections(c, http.StatusBadRequest, "", "The client id at the resource server is required (at most 255 characters).")
			return
		}
		actions := c.PostFormArray("todo_action")
		for _, a := range actions {
			if !slices.Contains(rar.TodoActions, a) {
				s.renderConnections(c, http.StatusBadRequest, "", fmt.Sprintf("%q is not an action of the todo type (%s). Nothing was saved.", a, strings.Join(rar.TodoActions, ", ")))
				return
			}
		}
		conn.AllowedActions = strings.Join(actions, " ")
		conn.AllowedScopes, conn.ClientIDAtResource = oauth.ParseScopes(strings.Join(scopes, " ")).String(), clientID
		flash = conn.Name() + " now allows " + orNone(conn.AllowedScopes) + ", with client id " + clientID + " at the resource."
		if conn.Enabled && narrowed(wasAllowed, conn.AllowedScopes) {
			flash += " " + demo.AfterAdminChange(s.cfg.Signals)
		}
	case "step-up":
		guarded := c.PostFormArray("step_up_scope")
		for _, sc := range guarded {
			if !conn.Allows(sc) && !slices.Contains(conn.Offered(), sc) {
				s.renderConnections(c, http.StatusBadRequest, "", fmt.Sprintf("%s offers no scope %q. Nothing was saved.", conn.Name(), sc))
				return
			}
		}
		minutes, err := strconv.Atoi(strings.TrimSpace(c.DefaultPostForm("step_up_minutes", "0")))
		if err != nil || minutes < 0 || minutes > 24*60 {
			s.renderConnections(c, http.StatusBadRequest, "", "The step-up's recency is a number of minutes from 0 (any age) to 1440. Nothing was saved.")
			return
		}
		passkey := c.PostForm("step_up_passkey") == "on"
		if len(guarded) > 0 && !passkey && minutes == 0 {
			s.renderConnections(c, http.StatusBadRequest, "", "A step-up asks for a passkey, a recent sign-in, or both. Nothing was saved.")
			return
		}
		if off := s.cfg.Passkeys.Unavailable(); passkey && off != "" {
			s.renderConnections(c, http.StatusConflict, "", off+" Nothing was saved.")
			return
		}
		conn.StepUpScopes, conn.StepUpPasskey, conn.StepUpMaxAge = oauth.ParseScopes(strings.Join(guarded, " ")).String(), passkey, minutes*60
		flash = conn.Name() + ": " + stepUpWords(conn) + "."
	default:
		s.renderConnections(c, http.StatusBadRequest, "", "Unknown action.")
		return
	}
	if err := s.cfg.Store.SaveConnection(ctx, &conn); err != nil {
		s.cfg.Log.Error("save connection", "err", err)
		s.renderConnections(c, http.StatusInternalServerError, "", "The connection could not be saved.")
		return
	}
	s.changed(ctx, Change{Admin: admin.(*store.User), Event: audit.ConnectionUpdated, Target: conn.Name(), Before: before, After: describeConnection(conn),
		Connection: &ConnectionChange{Conn: conn, Disabled: wasEnabled && !conn.Enabled, Narrowed: conn.Enabled && narrowed(wasAllowed, conn.AllowedScopes)}})
	c.Redirect(http.StatusSeeOther, "/admin/connections?done="+url.QueryEscape(flash))
}

// stepUpWords says what sign-in a connection's guarded scopes need.
func stepUpWords(c store.Connection) string {
	if c.StepUpScopes == "" {
		return "no scope needs a step-up"
	}
	var need []string
	if c.StepUpPasskey {
		need = append(need, "a passkey")
	}
	if c.StepUpMaxAge > 0 {
		need = append(need, fmt.Sprintf("a sign-in within %d minutes", c.StepUpMaxAge/60))
	}
	return c.StepUpScopes + " needs " + strings.Join(need, " and ")
}

// describeConnection is a connection's settings, for the audit log.
func describeConnection(c store.Connection) string {
	state := "disabled"
	if c.Enabled {
		state = "enabled"
	}
	return state + "; scopes " + orNone(c.AllowedScopes) + "; todo actions " + orNone(c.AllowedActions) + "; client id at resource " + c.ClientIDAtResource + "; " + stepUpWords(c)
}

func orNone(scopes string) string {
	if scopes == "" {
		return "no scope"
	}
	return scopes
}

func (s *Console) adminUsers(c *gin.Context) {
	s.renderUsers(c, http.StatusOK, c.Query("done"), "")
}

func (s *Console) renderUsers(c *gin.Context, status int, flash, problem string) {
	users, orgs, err := s.cfg.Store.UsersAndOrgs(c.Request.Context())
	if err != nil {
		web.RenderError(c, http.StatusInternalServerError, "Users unavailable", "The users could not be loaded.")
		return
	}
	names := map[string]string{}
	for _, o := range orgs {
		names[o.ID] = o.Name + " (" + o.Domain + ")"
	}
	locked, err := s.cfg.Throttle.LockedAccounts(c.Request.Context(), s.cfg.Now())
	if err != nil {
		s.cfg.Log.Error("locked accounts", "err", err)
	}
	passkeys, err := s.cfg.Passkeys.Counts(c.Request.Context())
	if err != nil {
		s.cfg.Log.Error("passkey counts", "err", err)
	}
	uv := usersView{Users: users, Orgs: orgs, OrgNames: names, Locked: locked, Self: adminOf(c).ID, Passkeys: passkeys, PasskeysOff: s.cfg.Passkeys.Unavailable()}
	s.renderAdmin(c, status, "Users", func(v adminView) templComponent { return usersTab(v, uv) }, flash, problem)
}

// adminCreateUser adds a person, in the organisation of their email's
// domain, and provisions them to the apps provisioning is on for.
func (s *Console) adminCreateUser(c *gin.Context) {
	ctx := c.Request.Context()
	name, email, password := strings.TrimSpace(c.PostForm("name")), strings.ToLower(strings.TrimSpace(c.PostForm("email"))), c.PostForm("password")
	refuse := func(problem string) { s.renderUsers(c, http.StatusBadRequest, "", problem+" Nobody was added.") }
	switch {
	case name == "" || len(name) > 255:
		refuse("A name is required (at most 255 characters).")
		return
	case !strings.Contains(email, "@") || len(email) > 255:
		refuse(fmt.Sprintf("%q is not an email address.", email))
		return
	case len(password) < 8 || len(password) > 72:
		refuse("The first password must be 8 to 72 characters long.")
		return
	}
	org, err := s.cfg.Store.OrgByEmail(ctx, email)
	if err != nil {
		refuse("No organisation here has the domain of " + email + ".")
		return
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		web.RenderError(c, http.StatusInternalServerError, "Not saved", "The person could not be added.")
		return
	}
	u := &store.User{OrgID: org.ID, Email: email, Name: name, PasswordHash: hash}
	if err := s.cfg.Store.CreateUser(ctx, u); errors.Is(err, storage.ErrAlreadyExists) {
		refuse("Someone with the email " + email + " exists already.")
		return
	} else if err != nil {
		s.cfg.Log.Error("create user", "err", err)
		web.RenderError(c, http.StatusInternalServerError, "Not saved", "The person could not be added.")
		return
	}
	s.changed(ctx, Change{Admin: adminOf(c), Event: audit.UserCreated, Target: email, After: "active in " + org.Name,
		Person: &PersonChange{User: u, State: "created"}})
	c.Redirect(http.StatusSeeOther, "/admin/users?done="+url.QueryEscape(name+" ("+email+") is added to "+org.Name+"."))
}

// adminDeleteUser deletes a person: they can no longer sign in or be
// vouched for, their accounts at the apps provisioning is on for are
// deleted, and the apps' access tokens for them end (Shared Signals).
func (s *Console) adminDeleteUser(c *gin.Context) {
	ctx := c.Request.Context()
	admin, u, ok := s.adminAndUser(c)
	if !ok {
		return
	}
	if u.ID == admin.ID {
		web.RenderError(c, http.StatusBadRequest, "Not allowed", "You cannot delete your own account.")
		return
	}
	if err := errors.Join(s.cfg.Passkeys.Remove(ctx, u.ID), s.cfg.Store.DeleteUser(ctx, u.ID)); err != nil {
		s.cfg.Log.Error("delete user", "err", err)
		web.RenderError(c, http.StatusInternalServerError, "Not deleted", "The person could not be deleted.")
		return
	}
	s.changed(ctx, Change{Admin: admin, Event: audit.UserDeleted, Target: u.Email, Before: "exists", After: "deleted",
		Person: &PersonChange{User: u, State: "deleted"}})
	c.Redirect(http.StatusSeeOther, "/admin/users?done="+url.QueryEscape(u.Email+" is deleted."))
}

// provisioningView is the Provisioning tab: the apps and the latest pushes.
type provisioningView struct {
	Targets []provisioning.Target
	Jobs    []provisioning.Push
	Names   map[uint]string // target names by id
}

func (s *Console) adminProvisioning(c *gin.Context) {
	s.renderProvisioning(c, http.StatusOK, c.Query("done"), "")
}

func (s *Console) renderProvisioning(c *gin.Context, status int, flash, problem string) {
	ctx := c.Request.Context()
	targets, err := s.cfg.Provisioning.Targets(ctx)
	if err != nil {
		web.RenderError(c, http.StatusInternalServerError, "Provisioning unavailable", "The apps could not be loaded.")
		return
	}
	jobs, err := s.cfg.Provisioning.Recent(ctx, 50)
	if err != nil {
		web.RenderError(c, http.StatusInternalServerError, "Provisioning unavailable", "The pushes could not be loaded.")
		return
	}
	pv := provisioningView{Targets: targets, Jobs: jobs, Names: map[uint]string{}}
	for _, t := range targets {
		pv.Names[t.ID] = t.Name
	}
	s.renderAdmin(c, status, "Provisioning", func(v adminView) templComponent { return provisioningTab(v, pv, s.cfg.Now()) }, flash, problem)
}

// adminUpdateProvisioning saves an app's SCIM URL and token, and switches
// its provisioning on (every person is pushed) or off.
func (s *Console) adminUpdateProvisioning(c *gin.Context) {
	ctx := c.Request.Context()
	id, _ := strconv.ParseUint(c.Param("id"), 10, 32)
	t, err := s.cfg.Provisioning.Target(ctx, uint(id))
	if err != nil {
		web.RenderError(c, http.StatusNotFound, "No such app", "That app is not one the IdP can provision.")
		return
	}
	before := t.Describe()
	if base := strings.TrimSpace(c.PostForm("base_url")); base != "" {
		if u, err := url.Parse(base); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(base) > 1024 {
			s.renderProvisioning(c, http.StatusBadRequest, "", fmt.Sprintf("%q is not an http(s) URL. Nothing was saved.", base))
			return
		}
		t.BaseURL = strings.TrimSuffix(base, "/")
	}
	if token := c.PostForm("token"); token != "" {
		if len(token) > 1024 {
			s.renderProvisioning(c, http.StatusBadRequest, "", "The token is longer than 1,024 characters. Nothing was saved.")
			return
		}
		t.Token = token
	}
	flash := t.Name + ": saved."
	switch c.PostForm("action") {
	case "enable":
		t.Enabled = true
		flash = "Provisioning to " + t.Name + " is on: every person is being pushed, and each change from now on."
	case "disable":
		t.Enabled = false
		flash = "Provisioning to " + t.Name + " is off: changes are no longer pushed there."
	case "save":
	default:
		s.renderProvisioning(c, http.StatusBadRequest, "", "Unknown action.")
		return
	}
	if err := s.cfg.Provisioning.SaveTarget(ctx, t); err != nil {
		s.cfg.Log.Error("save provisioning", "err", err)
		web.RenderError(c, http.StatusInternalServerError, "Not saved", "The app could not be updated.")
		return
	}
	ch := Change{Admin: adminOf(c), Event: audit.ProvisioningChanged, Target: t.Name, Before: before, After: t.Describe()}
	if c.PostForm("action") == "enable" {
		ch.Provisioning = t
	}
	s.changed(ctx, ch)
	c.Redirect(http.StatusSeeOther, "/admin/provisioning?done="+url.QueryEscape(flash))
}

// adminUnlockUser forgets an account's failed sign-ins, so its owner may
// try again at once.
func (s *Console) adminUnlockUser(c *gin.Context) {
	ctx := c.Request.Context()
	admin, u, ok := s.adminAndUser(c)
	if !ok {
		return
	}
	if err := s.cfg.Throttle.Forget(ctx, u.Email); err != nil {
		web.RenderError(c, http.StatusInternalServerError, "Not saved", "The account could not be unlocked.")
		return
	}
	s.changed(ctx, Change{Admin: admin, Event: audit.SignInUnlocked, Target: u.Email, Before: "locked after failed sign-ins", After: "unlocked"})
	c.Redirect(http.StatusSeeOther, "/admin/users?done="+url.QueryEscape(u.Email+" is unlocked: they may sign in again now."))
}

// adminOf is the signed-in admin requireAdmin let through.
func adminOf(c *gin.Context) *store.User {
	a, _ := c.Get(adminKey)
	return a.(*store.User)
}

// adminAndUser returns the signed-in admin and the user the request names,
// or shows that there is no such user.
func (s *Console) adminAndUser(c *gin.Context) (admin, u *store.User, ok bool) {
	a, _ := c.Get(adminKey)
	u, err := s.cfg.Store.User(c.Request.Context(), c.Param("id"))
	if err != nil {
		web.RenderError(c, http.StatusNotFound, "No such user", "That user does not exist.")
		return nil, nil, false
	}
	return a.(*store.User), u, true
}

func (s *Console) adminToggleUser(c *gin.Context) {
	ctx := c.Request.Context()
	admin, u, ok := s.adminAndUser(c)
	if !ok {
		return
	}
	if u.ID == admin.ID {
		web.RenderError(c, http.StatusBadRequest, "Not allowed", "You cannot disable your own account.")
		return
	}
	u.Disabled = !u.Disabled
	if err := s.cfg.Store.SetDisabled(ctx, u); err != nil {
		web.RenderError(c, http.StatusInternalServerError, "Not saved", "The user could not be updated.")
		return
	}
	state := "enabled"
	if u.Disabled {
		state = "disabled"
	}
	event, before := audit.UserDeactivated, "active"
	if !u.Disabled {
		event, before = audit.UserActivated, "disabled"
	}
	s.changed(ctx, Change{Admin: admin, Event: event, Target: u.Email, Before: before, After: state,
		Person: &PersonChange{User: u, State: state}})
	c.Redirect(http.StatusSeeOther, "/admin/users?done="+url.QueryEscape(u.Email+" is "+state+"."))
}

func (s *Console) adminApps(c *gin.Context) {
	ctx := c.Request.Context()
	apps, err := s.cfg.SAML.Apps(ctx)
	if err != nil {
		web.RenderError(c, http.StatusInternalServerError, "Apps unavailable", "The SAML apps could not be loaded.")
		return
	}
	orgs, err := s.cfg.Store.Orgs(ctx)
	if err != nil {
		web.RenderError(c, http.StatusInternalServerError, "Apps unavailable", "The organisations could not be loaded.")
		return
	}
	s.renderAdmin(c, http.StatusOK, "Apps", func(v adminView) templComponent {
		return appsTab(v, s.cfg.Clients, apps, orgs, s.cfg.Keys.Keys())
	}, c.Query("done"), "")
}

// adminSignInProtocol sets how one organisation's people sign in to a SAML
// app: with SAML 2.0, or with OpenID Connect. The next sign-in follows it;
// a session at the app already started is left alone.
func (s *Console) adminSignInProtocol(c *gin.Context) {
	ctx := c.Request.Context()
	app, err := s.cfg.SAML.App(ctx, c.PostForm("entity_id"))
	if err != nil {
		web.RenderError(c, http.StatusNotFound, "No such app", "That SAML app is not registered here.")
		return
	}
	org, err := s.cfg.Store.Org(ctx, c.PostForm("org_id"))
	if err != nil {
		web.RenderError(c, http.StatusNotFound, "No such organisation", "That organisation does not exist.")
		return
	}
	protocol := c.PostForm("protocol")
	if protocol != "saml" && protocol != "oidc" {
		web.RenderError(c, http.StatusBadRequest, "Unknown protocol", "Choose SAML 2.0 or OpenID Connect.")
		return
	}
	name := protocolName
	if app.ClientID == "" {
		// No OpenID Connect client speaks for the app: an organisation is
		// assigned to it (SAML) or not.
		name = assignedName
	}
	before := name(app.SignsInBySAML(org.ID))
	ids := slices.DeleteFunc(strings.Fields(app.OrgIDs), func(id string) bool { return id == org.ID })
	if protocol == "saml" {
		ids = append(ids, org.ID)
	}
	app.OrgIDs = strings.Join(ids, " ")
	if err := s.cfg.SAML.SaveApp(ctx, app); err != nil {
		s.cfg.Log.Error("save SAML app", "err", err)
		web.RenderError(c, http.StatusInternalServerError, "Not saved", "The app could not be updated.")
		return
	}
	after := name(protocol == "saml")
	s.changed(ctx, Change{Admin: adminOf(c), Event: audit.SignInProtocolChanged, Target: app.Title() + " for " + org.Domain, Before: before, After: after})
	flash := org.Name + " now signs in to " + app.Title() + " with " + after + ", from the next sign-in. The app's own settings must agree (SAML_DOMAINS)."
	if app.ClientID == "" {
		flash = org.Name + " is now " + strings.ToLower(after) + " " + app.Title() + ", from the next sign-in."
	}
	c.Redirect(http.StatusSeeOther, "/admin/apps?done="+url.QueryEscape(flash))
}

func assignedName(saml bool) string {
	if saml {
		return "Assigned to"
	}
	return "Not assigned to"
}

func protocolName(saml bool) string {
	if saml {
		return "SAML 2.0"
	}
	return "OpenID Connect"
}

// adminAuditEntry shows one audit event whole, and links it to its run in
// the debug console when it was part of one.
func (s *Console) adminAuditEntry(c *gin.Context) {
	id, _ := strconv.ParseUint(c.Param("id"), 10, 32)
	e, err := s.cfg.Audit.Get(c.Request.Context(), uint(id))
	if err != nil {
		web.RenderError(c, http.StatusNotFound, "No such event", "The audit log has no such entry.")
		return
	}
	run := ""
	if e.Trace != "" && s.cfg.ConsoleURL != "" {
		run = s.cfg.ConsoleURL + "?" + url.Values{"all": {"1"}, "pin": {e.Trace}}.Encode() + "#run-" + e.Trace
	}
	s.renderAdmin(c, http.StatusOK, "Audit log", func(v adminView) templComponent { return auditEntry(*e, run) }, "", "")
}

// auditRows are an event's fields, named for people.
func auditRows(e audit.Event) [][2]string {
	return [][2]string{
		{"administrator", e.Actor}, {"changed", e.Target}, {"before", e.Before}, {"after", e.After},
		{"user", strings.TrimSpace(e.UserEmail + " " + e.UserID)}, {"requesting app", e.ClientID}, {"audience", e.Audience},
		{"resource", e.Resource}, {"scope asked for", e.Requested}, {"scope granted", e.Scope}, {"jti", e.JTI},
		{"reason", e.Reason}, {"console run", e.Trace},
	}
}

func (s *Console) adminAudit(c *gin.Context) {
	q := audit.Query{Text: c.Query("q"), Outcome: c.Query("outcome")}
	events, err := s.cfg.Audit.Search(c.Request.Context(), q)
	if err != nil {
		web.RenderError(c, http.StatusInternalServerError, "Audit log unavailable", "The audit log could not be searched.")
		return
	}
	s.renderAdmin(c, http.StatusOK, "Audit log", func(v adminView) templComponent { return auditTab(v, q, events) }, "", "")
}

// adminRotateKeys publishes a new signing key; it signs once relying
// parties have had time to see it (keys.DefaultPrePublish).
func (s *Console) adminRotateKeys(c *gin.Context) {
	kid, err := s.cfg.Keys.Rotate(c.Request.Context())
	if err != nil {
		s.cfg.Log.Error("rotate keys", "err", err)
		web.RenderError(c, http.StatusInternalServerError, "Key not rotated", "A new signing key could not be created.")
		return
	}
	admin, _ := c.Get(adminKey)
	s.changed(c.Request.Context(), Change{Admin: admin.(*store.User), Event: audit.KeyRotated, Target: "the IdP's signing keys", After: "new key " + kid + " published"})
	flash := "New signing key " + kid + " is published; it signs from " + s.cfg.Now().Add(s.cfg.Keys.PrePublish).UTC().Format("15:04:05") + " UTC."
	c.Redirect(http.StatusSeeOther, "/admin/apps?done="+url.QueryEscape(flash))
}

// narrowed reports whether a scope allowed before is not allowed now.
func narrowed(before, after string) bool {
	now := oauth.ParseScopes(after)
	for _, sc := range oauth.ParseScopes(before) {
		if !now.Has(sc) {
			return true
		}
	}
	return false
}

// adminRequirePasskey says whether an organisation's people must sign in
// with a passkey. It acts at their next sign-in, and at an app's next
// request to the IdP: a session made with a password alone is asked for
// the passkey before it answers again.
func (s *Console) adminRequirePasskey(c *gin.Context) {
	ctx := c.Request.Context()
	org, err := s.cfg.Store.Org(ctx, c.Param("id"))
	if err != nil {
		web.RenderError(c, http.StatusNotFound, "No such organisation", "This organisation does not exist (any more).")
		return
	}
	required := c.PostForm("required") == "true"
	if off := s.cfg.Passkeys.Unavailable(); required && off != "" {
		s.renderUsers(c, http.StatusConflict, "", off+" Nothing was changed.")
		return
	}
	if err := s.cfg.Store.SetPasskeyRequired(ctx, org.ID, required); err != nil {
		s.cfg.Log.Error("require passkey", "err", err)
		web.RenderError(c, http.StatusInternalServerError, "Not saved", "The organisation's sign-in policy could not be saved.")
		return
	}
	before, after, done := "password or passkey", "passkey required", org.Name+" now requires a passkey: its people confirm their next sign-in with one, or add one then."
	if !required {
		before, after, done = after, before, org.Name+" no longer requires a passkey."
	}
	s.changed(ctx, Change{Admin: adminOf(c), Event: audit.SignInPolicyUpdated, Target: org.Name + " (" + org.Domain + ")", Before: before, After: after})
	c.Redirect(http.StatusSeeOther, "/admin/users?done="+url.QueryEscape(done))
}
