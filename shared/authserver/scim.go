package authserver

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
	filter "github.com/scim2/filter-parser/v2"
	"gorm.io/gorm"

	"xaa.example/shared/maildomain"
	"xaa.example/shared/storage"
)

// SCIM 2.0 provisioning (RFC 7643, RFC 7644): an IdP creates accounts here
// ahead of time, with externalId = its user id, the sub of its ID-JAGs, and
// deactivates them when a person leaves. A resource with no sign-in page
// (an MCP server) then knows who an ID-JAG is about with no email in it and
// no earlier sign-in.
//
// github.com/elimity-com/scim speaks the protocol: routing, the discovery
// documents, schema validation of every body, filter parsing (through
// github.com/scim2/filter-parser), the PATCH forms Okta and Entra ID send
// (lower- or capitalised ops, a path or a value object) and SCIM's error
// format. This file is the storage behind it.

const (
	// scimMaxResults bounds a page of a list (ServiceProviderConfig says so).
	scimMaxResults = 200
	// scimScanLimit bounds the accounts a filter other than an equality on
	// userName, externalId or id reads to test each in turn.
	scimScanLimit = 10000
	// A filter longer or more nested than these is refused before it is
	// parsed: the lookups IdPs send are one or two comparisons.
	scimMaxFilter      = 2048
	scimMaxFilterDepth = 8
)

// SCIMClient is an IdP allowed to provision accounts here: the bearer token
// it presents, and whose people it provisions.
type SCIMClient struct {
	Token string
	// Issuer is the IdP's issuer: an account's externalId is the sub its
	// ID-JAGs carry, so provisioning links (Issuer, Tenant, externalId).
	Issuer string
	// Tenant is the ID-JAG tenant claim of its people ("" when it sends
	// none: a tenant of its own, not every tenant).
	Tenant string
	// Domains are the email domains of the people it may provision: every
	// account it creates or changes has its email there, and an account no
	// IdP has claimed yet is one it may adopt only there. None: any
	// address (a server provisioned by one IdP alone).
	Domains []string
}

// SCIMUser is an account as an IdP provisioned it: its attributes as sent
// (never a password), for SCIM's answers.
type SCIMUser struct {
	UserID     string `gorm:"primaryKey;size:32"`
	Issuer     string `gorm:"index:idx_scim_client;size:255;not null"`
	Tenant     string `gorm:"index:idx_scim_client;size:64;not null"`
	ExternalID string `gorm:"size:255"`
	Attributes string `gorm:"type:text;not null"`
	Version    int
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

type scimClientKey struct{}

// scimHandler is the SCIM service provider mounted at /scim/v2, behind the
// bearer token check.
func (s *Server) scimHandler() (http.Handler, error) {
	server, err := scim.NewServer(&scim.ServerArgs{
		ServiceProviderConfig: &scim.ServiceProviderConfig{
			DocumentationURI: optional.NewString("https://datatracker.ietf.org/doc/html/rfc7644"),
			SupportFiltering: true,
			SupportPatch:     true,
			MaxResults:       scimMaxResults,
			AuthenticationSchemes: []scim.AuthenticationScheme{{
				Type: scim.AuthenticationTypeOauthBearerToken, Name: "Bearer token",
				Description: "The token this server gave the IdP's provisioning (SCIM_TOKEN).", Primary: true,
			}},
		},
		ResourceTypes: []scim.ResourceType{{
			ID: optional.NewString("User"), Name: "User", Endpoint: "/Users",
			Description: optional.NewString("An account of this authorization server"),
			Schema:      schema.CoreUserSchema(),
			Handler:     scimUsers{s},
		}},
	}, scim.WithBaseURL(s.cfg.Issuer+"/scim/v2"))
	if err != nil {
		return nil, err
	}
	return http.StripPrefix("/scim", s.scimAuth(scimGuard(server))), nil
}

// scimGuard refuses filters too long or too nested to be an IdP's lookup,
// before the library parses them, and reads the booleans Entra ID sends as
// strings in a PATCH ("active": "False") as booleans, which the schema
// otherwise refuses.
func scimGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f := r.URL.Query().Get("filter"); len(f) > scimMaxFilter || nesting(f) > scimMaxFilterDepth {
			writeSCIMError(w, scimerrors.ScimError{ScimType: scimerrors.ScimTypeInvalidFilter, Status: http.StatusBadRequest,
				Detail: fmt.Sprintf("The filter is longer than %d characters or nested deeper than %d levels.", scimMaxFilter, scimMaxFilterDepth)})
			return
		}
		if r.Method == http.MethodPatch {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				writeSCIMError(w, scimerrors.ScimError{Status: http.StatusRequestEntityTooLarge, Detail: "The request is too large."})
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(entraBooleans(body)))
		}
		next.ServeHTTP(w, r)
	})
}

// nesting is how deep the parentheses and brackets of a filter go,
// outside its quoted strings.
func nesting(filter string) int {
	depth, deepest, quoted, escaped := 0, 0, false, false
	for _, c := range filter {
		switch {
		case escaped:
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '(' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == ')' || c == ']':
			depth--
		}
	}
	return deepest
}

// entraBooleans rewrites "True"/"False" strings given for active in PATCH
// operations, with a path or in a value object, as JSON booleans; any
// other body is returned as it came.
func entraBooleans(body []byte) []byte {
	var req map[string]any
	if json.Unmarshal(body, &req) != nil {
		return body
	}
	ops, _ := req["Operations"].([]any)
	changed := false
	fix := func(v any) (any, bool) {
		s, ok := v.(string)
		if !ok {
			return v, false
		}
		b, err := strconv.ParseBool(strings.ToLower(s))
		if err != nil {
			return v, false
		}
		return b, true
	}
	for _, o := range ops {
		op, _ := o.(map[string]any)
		if op == nil {
			continue
		}
		if path, _ := op["path"].(string); strings.EqualFold(path, "active") {
			if v, ok := fix(op["value"]); ok {
				op["value"], changed = v, true
			}
		}
		if values, _ := op["value"].(map[string]any); values != nil {
			for k, x := range values {
				if strings.EqualFold(k, "active") {
					if v, ok := fix(x); ok {
						values[k], changed = v, true
					}
				}
			}
		}
	}
	if !changed {
		return body
	}
	out, err := json.Marshal(req)
	if err != nil {
		return body
	}
	return out
}

// scimAuth lets through the IdP whose token the request bears (RFC 7644
// §2: OAuth bearer tokens), and answers anyone else 401 in SCIM's format.
func (s *Server) scimAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		for i := range s.cfg.SCIM {
			c := &s.cfg.SCIM[i]
			if ok && token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(c.Token)) == 1 {
				next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), scimClientKey{}, c)))
				return
			}
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="scim"`)
		writeSCIMError(w, scimerrors.ScimError{Status: http.StatusUnauthorized,
			Detail: "A bearer token this server gave for provisioning is required (Authorization: Bearer ...)."})
	})
}

func writeSCIMError(w http.ResponseWriter, e scimerrors.ScimError) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(e)
}

// scimUsers is the Users resource: scim.ResourceHandler over the accounts.
type scimUsers struct{ s *Server }

func clientOf(r *http.Request) *SCIMClient { return r.Context().Value(scimClientKey{}).(*SCIMClient) }

// account is what SCIM attributes say of an account here.
type account struct {
	Email, Name, ExternalID string
	Active                  bool
	Attributes              scim.ResourceAttributes
}

// readAccount takes the account's fields from validated attributes: the
// email is the primary (or first) email, else the userName when it is one.
func readAccount(attrs scim.ResourceAttributes) (account, error) {
	a := account{Active: true, Attributes: scim.ResourceAttributes{}}
	for k, v := range attrs {
		switch strings.ToLower(k) {
		case "password":
			continue // never kept: this server signs no one in by password
		case "externalid":
			a.ExternalID, _ = v.(string)
			continue
		case "active":
			a.Active = truthy(v)
			continue
		case "id", "meta", "schemas":
			continue
		}
		a.Attributes[k] = v
	}
	userName, _ := attrs["userName"].(string)
	a.Email = primaryEmail(attrs["emails"])
	if a.Email == "" && strings.Contains(userName, "@") {
		a.Email = userName
	}
	a.Email = strings.ToLower(strings.TrimSpace(a.Email))
	if a.Email == "" || len(a.Email) > 255 {
		return a, scimerrors.ScimError{ScimType: scimerrors.ScimTypeInvalidValue, Status: http.StatusBadRequest,
			Detail: "An email address is needed: send emails (primary) or a userName that is an email address."}
	}
	if len(a.ExternalID) > 255 {
		return a, scimerrors.ScimError{ScimType: scimerrors.ScimTypeInvalidValue, Status: http.StatusBadRequest, Detail: "externalId is longer than 255 characters."}
	}
	a.Name = displayName(attrs, a.Email)
	return a, nil
}

// truthy reads a boolean as Okta sends it (true) and as Entra ID sometimes
// does ("True", "False").
func truthy(v any) bool {
	switch b := v.(type) {
	case bool:
		return b
	case string:
		ok, _ := strconv.ParseBool(strings.ToLower(b))
		return ok
	}
	return false
}

func primaryEmail(v any) string {
	list, _ := v.([]any)
	if l, ok := v.([]map[string]any); ok {
		for _, m := range l {
			list = append(list, m)
		}
	}
	first := ""
	for _, e := range list {
		m, _ := e.(map[string]any)
		value, _ := m["value"].(string)
		if value == "" {
			continue
		}
		if truthy(m["primary"]) {
			return value
		}
		if first == "" {
			first = value
		}
	}
	return first
}

func displayName(attrs scim.ResourceAttributes, email string) string {
	if d, _ := attrs["displayName"].(string); d != "" {
		return d
	}
	if n, ok := attrs["name"].(map[string]any); ok {
		if f, _ := n["formatted"].(string); f != "" {
			return f
		}
		given, _ := n["givenName"].(string)
		family, _ := n["familyName"].(string)
		if full := strings.TrimSpace(given + " " + family); full != "" {
			return full
		}
	}
	return email
}

// visible is the accounts a client may see: those it provisioned, those
// linked under its IdP and tenant exactly (people who signed in from
// there), and those no IdP has claimed yet (seeded) at its domains, which
// it may match by userName and adopt. Another IdP's or another tenant's
// accounts are not there (404); "no tenant" is a tenant of its own.
func visible(db *gorm.DB, c *SCIMClient) *gorm.DB {
	unclaimed := db.Where("id NOT IN (?) AND id NOT IN (?)",
		db.Model(&Link{}).Select("user_id"),
		db.Model(&SCIMUser{}).Select("user_id"))
	if len(c.Domains) > 0 {
		atDomain := db
		for i, d := range c.Domains {
			like := "%@" + likeEscaper.Replace(strings.ToLower(d))
			if i == 0 {
				atDomain = atDomain.Where("email LIKE ? ESCAPE '!'", like)
			} else {
				atDomain = atDomain.Or("email LIKE ? ESCAPE '!'", like)
			}
		}
		unclaimed = unclaimed.Where(atDomain)
	}
	return db.Model(&User{}).Where(
		db.Where("id IN (?)", db.Model(&SCIMUser{}).Select("user_id").Where("issuer = ? AND tenant = ?", c.Issuer, c.Tenant)).
			Or("id IN (?)", db.Model(&Link{}).Select("user_id").Where("issuer = ? AND tenant = ?", c.Issuer, c.Tenant)).
			Or(unclaimed),
	)
}

// likeEscaper escapes LIKE's wildcards with '!'.
var likeEscaper = strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")

// checkDomain refuses an email outside the domains the client provisions:
// it would give the client an account of another organisation's person.
func checkDomain(c *SCIMClient, email string) error {
	if maildomain.List(c.Domains).Has(email) {
		return nil
	}
	return scimerrors.ScimError{Status: http.StatusForbidden,
		Detail: "The email " + email + " is not at a domain this provisioning client is trusted for (" + strings.Join(c.Domains, ", ") + ")."}
}

func (h scimUsers) find(ctx context.Context, c *SCIMClient, id string) (*User, error) {
	var u User
	err := visible(h.s.cfg.DB.WithContext(ctx), c).Where("id = ?", id).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, scimerrors.ScimErrorResourceNotFound(id)
	}
	return &u, err
}

// resource is the account as SCIM shows it.
func (h scimUsers) resource(ctx context.Context, u *User) (scim.Resource, error) {
	var row SCIMUser
	err := h.s.cfg.DB.WithContext(ctx).Take(&row, "user_id = ?", u.ID).Error
	attrs := scim.ResourceAttributes{}
	switch {
	case err == nil:
		if err := json.Unmarshal([]byte(row.Attributes), &attrs); err != nil {
			return scim.Resource{}, err
		}
	case errors.Is(err, gorm.ErrRecordNotFound):
		// Not provisioned (seeded, or made at sign-in): its own fields.
		attrs["userName"] = u.Email
		attrs["displayName"] = u.Name
		attrs["emails"] = []any{map[string]any{"value": u.Email, "primary": true, "type": "work"}}
	default:
		return scim.Resource{}, err
	}
	attrs["active"] = !u.Deactivated
	res := scim.Resource{ID: u.ID, Attributes: attrs, Meta: scim.Meta{Created: &u.CreatedAt, Version: `W/"` + strconv.Itoa(row.Version) + `"`}}
	if row.ExternalID != "" {
		res.ExternalID = optional.NewString(row.ExternalID)
	}
	if !row.UpdatedAt.IsZero() {
		res.Meta.LastModified = &row.UpdatedAt
	}
	return res, nil
}

func (h scimUsers) Create(r *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	ctx, c := r.Context(), clientOf(r)
	a, err := readAccount(attrs)
	if err != nil {
		return scim.Resource{}, err
	}
	if err := checkDomain(c, a.Email); err != nil {
		return scim.Resource{}, err
	}
	u := User{ID: newID(), Email: a.Email, Name: a.Name, Deactivated: !a.Active}
	err = h.s.cfg.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := uniqueEmail(tx, a.Email, ""); err != nil {
			return err
		}
		if err := tx.Create(&u).Error; err != nil {
			return err
		}
		return h.save(tx, c, &u, a, 0)
	})
	if err != nil {
		return scim.Resource{}, scimError(err)
	}
	h.s.cfg.Log.Info("SCIM: account provisioned", "user", u.ID, "active", a.Active)
	return h.resource(ctx, &u)
}

// save writes what the client provisioned: its attributes and the link
// from (issuer, tenant, externalId) to the account, the one an ID-JAG's sub
// finds.
func (h scimUsers) save(tx *gorm.DB, c *SCIMClient, u *User, a account, version int) error {
	b, err := json.Marshal(a.Attributes)
	if err != nil {
		return err
	}
	row := SCIMUser{UserID: u.ID, Issuer: c.Issuer, Tenant: c.Tenant, ExternalID: a.ExternalID, Attributes: string(b), Version: version + 1}
	if err := tx.Save(&row).Error; err != nil {
		return err
	}
	if err := tx.Where("user_id = ? AND issuer = ? AND tenant = ?", u.ID, c.Issuer, c.Tenant).Delete(&Link{}).Error; err != nil {
		return err
	}
	if a.ExternalID == "" {
		return nil
	}
	var taken int64
	if err := tx.Model(&Link{}).Where("issuer = ? AND tenant = ? AND subject = ?", c.Issuer, c.Tenant, a.ExternalID).Count(&taken).Error; err != nil {
		return err
	}
	if taken > 0 {
		return scimerrors.ScimError{ScimType: scimerrors.ScimTypeUniqueness, Status: http.StatusConflict,
			Detail: "externalId " + a.ExternalID + " is already another account's here."}
	}
	return tx.Create(&Link{Issuer: c.Issuer, Tenant: c.Tenant, Subject: a.ExternalID, UserID: u.ID}).Error
}

func uniqueEmail(tx *gorm.DB, email, except string) error {
	var n int64
	if err := tx.Model(&User{}).Where("email = ? AND id <> ?", email, except).Count(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return scimerrors.ScimError{ScimType: scimerrors.ScimTypeUniqueness, Status: http.StatusConflict,
			Detail: "An account with the email " + email + " exists here already."}
	}
	return nil
}

// scimError passes SCIM errors on, and turns a unique-key race into one.
func scimError(err error) error {
	var se scimerrors.ScimError
	if errors.As(err, &se) {
		return se
	}
	if errors.Is(storage.Translate(err), storage.ErrAlreadyExists) {
		return scimerrors.ScimErrorUniqueness
	}
	return err
}

func (h scimUsers) Get(r *http.Request, id string) (scim.Resource, error) {
	u, err := h.find(r.Context(), clientOf(r), id)
	if err != nil {
		return scim.Resource{}, err
	}
	return h.resource(r.Context(), u)
}

func (h scimUsers) GetAll(r *http.Request, params scim.ListRequestParams) (scim.Page, error) {
	ctx, c := r.Context(), clientOf(r)
	db := h.s.cfg.DB.WithContext(ctx)
	count := min(max(params.Count, 0), scimMaxResults)
	start := max(params.StartIndex, 1)
	q := visible(db, c)
	var f filter.Expression
	if params.FilterValidator != nil {
		f = params.FilterValidator.GetFilter()
	}
	if column, value, ok := equality(f); ok {
		// The lookups IdPs make before creating an account, in SQL.
		switch column {
		case "email":
			q = q.Where("email = ?", strings.ToLower(value))
		case "id":
			q = q.Where("id = ?", value)
		case "external_id":
			q = q.Where("id IN (?)", db.Model(&SCIMUser{}).Select("user_id").Where("issuer = ? AND tenant = ? AND external_id = ?", c.Issuer, c.Tenant, value))
		}
		f = nil
	}
	var users []User
	if f == nil {
		var total int64
		if err := q.Count(&total).Error; err != nil {
			return scim.Page{}, err
		}
		if err := q.Order("created_at, id").Offset(start - 1).Limit(count).Find(&users).Error; err != nil {
			return scim.Page{}, err
		}
		page := scim.Page{TotalResults: int(total), Resources: []scim.Resource{}}
		for i := range users {
			res, err := h.resource(ctx, &users[i])
			if err != nil {
				return scim.Page{}, err
			}
			page.Resources = append(page.Resources, res)
		}
		return page, nil
	}
	// Any other filter: each account tested in turn, up to scimScanLimit.
	if err := q.Order("created_at, id").Limit(scimScanLimit).Find(&users).Error; err != nil {
		return scim.Page{}, err
	}
	page := scim.Page{Resources: []scim.Resource{}}
	for i := range users {
		res, err := h.resource(ctx, &users[i])
		if err != nil {
			return scim.Page{}, err
		}
		attrs := scim.ResourceAttributes{"id": res.ID}
		for k, v := range res.Attributes {
			attrs[k] = v
		}
		if res.ExternalID.Present() {
			attrs["externalId"] = res.ExternalID.Value()
		}
		if params.FilterValidator.PassesFilter(attrs) != nil {
			continue
		}
		page.TotalResults++
		if page.TotalResults >= start && len(page.Resources) < count {
			page.Resources = append(page.Resources, res)
		}
	}
	return page, nil
}

// equality recognises `userName eq "x"`, `externalId eq "x"`, `id eq "x"`
// and `emails.value eq "x"` (or `emails[value eq "x"]`), and names the
// column to look in.
func equality(e filter.Expression) (column, value string, ok bool) {
	var path filter.AttributePath
	var compare any
	switch x := e.(type) {
	case *filter.AttributeExpression:
		if x.Operator != filter.EQ {
			return "", "", false
		}
		path, compare = x.AttributePath, x.CompareValue
	case *filter.ValuePath:
		inner, isAttr := x.ValueFilter.(*filter.AttributeExpression)
		if !isAttr || inner.Operator != filter.EQ || inner.AttributePath.AttributeName != "value" {
			return "", "", false
		}
		path = filter.AttributePath{AttributeName: x.AttributePath.AttributeName, SubAttribute: &inner.AttributePath.AttributeName}
		compare = inner.CompareValue
	default:
		return "", "", false
	}
	value, isString := compare.(string)
	if !isString {
		return "", "", false
	}
	name, sub := strings.ToLower(path.AttributeName), strings.ToLower(path.SubAttributeName())
	switch {
	case name == "username" && sub == "", name == "emails" && sub == "value":
		return "email", value, true
	case name == "externalid" && sub == "":
		return "external_id", value, true
	case name == "id" && sub == "":
		return "id", value, true
	}
	return "", "", false
}

func (h scimUsers) Replace(r *http.Request, id string, attrs scim.ResourceAttributes) (scim.Resource, error) {
	ctx, c := r.Context(), clientOf(r)
	u, err := h.find(ctx, c, id)
	if err != nil {
		return scim.Resource{}, err
	}
	return h.replace(ctx, c, u, attrs)
}

// replace reads the account's new attributes (a Replace's, or a Patch's
// once applied), writes them, and answers the resource as it now is.
func (h scimUsers) replace(ctx context.Context, c *SCIMClient, u *User, attrs scim.ResourceAttributes) (scim.Resource, error) {
	a, err := readAccount(attrs)
	if err != nil {
		return scim.Resource{}, err
	}
	if err := checkDomain(c, a.Email); err != nil {
		return scim.Resource{}, err
	}
	if err := h.update(ctx, c, u, a); err != nil {
		return scim.Resource{}, scimError(err)
	}
	return h.resource(ctx, u)
}

// update writes a replaced or patched account: its email, name and state,
// and what the client provisioned.
func (h scimUsers) update(ctx context.Context, c *SCIMClient, u *User, a account) error {
	return h.s.cfg.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := uniqueEmail(tx, a.Email, u.ID); err != nil {
			return err
		}
		var version int
		if err := tx.Model(&SCIMUser{}).Select("version").Where("user_id = ?", u.ID).Scan(&version).Error; err != nil {
			return err
		}
		wasActive := !u.Deactivated
		u.Email, u.Name, u.Deactivated = a.Email, a.Name, !a.Active
		if err := tx.Model(u).Select("email", "name", "deactivated").Updates(u).Error; err != nil {
			return err
		}
		if wasActive && !a.Active {
			h.s.cfg.Log.Info("SCIM: account deactivated", "user", u.ID)
		}
		return h.save(tx, c, u, a, version)
	})
}

func (h scimUsers) Delete(r *http.Request, id string) error {
	ctx, c := r.Context(), clientOf(r)
	u, err := h.find(ctx, c, id)
	if err != nil {
		return err
	}
	err = h.s.cfg.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, m := range []any{&Link{}, &SCIMUser{}, &UpstreamSession{}} {
			if err := tx.Where("user_id = ?", u.ID).Delete(m).Error; err != nil {
				return err
			}
		}
		return tx.Delete(&User{}, "id = ?", u.ID).Error
	})
	if err == nil {
		h.s.cfg.Log.Info("SCIM: account deleted", "user", u.ID)
	}
	return err
}

// Patch applies the operations to the account's attributes as SCIM shows
// them (RFC 7644 §3.5.2), then saves the result as a replace would.
func (h scimUsers) Patch(r *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	ctx, c := r.Context(), clientOf(r)
	u, err := h.find(ctx, c, id)
	if err != nil {
		return scim.Resource{}, err
	}
	current, err := h.resource(ctx, u)
	if err != nil {
		return scim.Resource{}, err
	}
	attrs := scim.ResourceAttributes{}
	for k, v := range current.Attributes {
		attrs[k] = v
	}
	if current.ExternalID.Present() {
		attrs["externalId"] = current.ExternalID.Value()
	}
	for _, op := range ops {
		if err := applyPatch(attrs, op); err != nil {
			return scim.Resource{}, err
		}
	}
	return h.replace(ctx, c, u, attrs)
}

// applyPatch applies one operation: with no path, its value's attributes
// (Okta's {"op":"replace","value":{"active":false}}; Entra's dotted keys
// such as "name.givenName"); with a path, that attribute, sub-attribute, or
// the members of a multi-valued attribute its filter selects (Entra's
// emails[type eq "work"].value).
func applyPatch(attrs scim.ResourceAttributes, op scim.PatchOperation) error {
	if op.Path == nil {
		values, ok := op.Value.(map[string]any)
		if !ok {
			return scimerrors.ScimErrorInvalidValue
		}
		for k, v := range values {
			name, sub, _ := strings.Cut(k, ".")
			setAttribute(attrs, op.Op, name, sub, v)
		}
		return nil
	}
	name := op.Path.AttributePath.AttributeName
	sub := op.Path.AttributePath.SubAttributeName()
	if op.Path.ValueExpression == nil {
		setAttribute(attrs, op.Op, name, sub, op.Value)
		return nil
	}
	// A multi-valued attribute, filtered: emails[type eq "work"].value.
	want, ok := op.Path.ValueExpression.(*filter.AttributeExpression)
	if !ok || want.Operator != filter.EQ {
		return scimerrors.ScimError{ScimType: scimerrors.ScimTypeInvalidFilter, Status: http.StatusBadRequest,
			Detail: "Only an equality filter is supported in a PATCH path, such as emails[type eq \"work\"]."}
	}
	key := findKey(attrs, name)
	list, _ := attrs[key].([]any)
	target := ""
	if op.Path.SubAttribute != nil {
		target = *op.Path.SubAttribute
	}
	matched := false
	kept := list[:0:0]
	for _, e := range list {
		m, _ := e.(map[string]any)
		if m == nil || fmt.Sprint(m[want.AttributePath.AttributeName]) != fmt.Sprint(want.CompareValue) {
			kept = append(kept, e)
			continue
		}
		matched = true
		switch {
		case op.Op == scim.PatchOperationRemove && target == "":
			continue // the member goes
		case op.Op == scim.PatchOperationRemove:
			delete(m, target)
		case target == "":
			if v, ok := op.Value.(map[string]any); ok {
				for k, x := range v {
					m[k] = x
				}
			}
		default:
			m[target] = op.Value
		}
		kept = append(kept, m)
	}
	if !matched && op.Op != scim.PatchOperationRemove {
		m := map[string]any{want.AttributePath.AttributeName: want.CompareValue}
		if target != "" {
			m[target] = op.Value
		} else if v, ok := op.Value.(map[string]any); ok {
			for k, x := range v {
				m[k] = x
			}
		}
		kept = append(kept, m)
	}
	if key == "" {
		key = name
	}
	attrs[key] = kept
	return nil
}

// setAttribute sets (add, replace) or removes attrs[name] or its sub
// attribute; names match case-insensitively (RFC 7643 §2.1).
func setAttribute(attrs scim.ResourceAttributes, op, name, sub string, value any) {
	key := findKey(attrs, name)
	if key == "" {
		key = name
	}
	if sub == "" {
		if op == scim.PatchOperationRemove {
			delete(attrs, key)
			return
		}
		if existing, ok := attrs[key].([]any); ok && op == scim.PatchOperationAdd {
			if more, ok := value.([]any); ok {
				attrs[key] = append(slices.Clone(existing), more...)
				return
			}
		}
		attrs[key] = value
		return
	}
	m, _ := attrs[key].(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	subKey := sub
	for k := range m {
		if strings.EqualFold(k, sub) {
			subKey = k
		}
	}
	if op == scim.PatchOperationRemove {
		delete(m, subKey)
	} else {
		m[subKey] = value
	}
	attrs[key] = m
}

func findKey(attrs scim.ResourceAttributes, name string) string {
	for k := range attrs {
		if strings.EqualFold(k, name) {
			return k
		}
	}
	return ""
}
