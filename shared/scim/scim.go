package scim

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

	escim "github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
	filter "github.com/scim2/filter-parser/v2"

	"xaa.example/shared/maildomain"
)

const (
	// MaxResults bounds a page of a list (ServiceProviderConfig says so).
	MaxResults = 200
	// scanLimit bounds the accounts a filter other than an equality on
	// userName, externalId or id reads to test each in turn.
	scanLimit = 10000
	// A filter longer or more nested than these is refused before it is
	// parsed: the lookups IdPs send are one or two comparisons.
	maxFilter      = 2048
	maxFilterDepth = 8
)

// Service is the SCIM endpoint of one authorization server.
type Service struct {
	// BaseURL is where the service is served, for resources' locations.
	BaseURL  string
	Clients  []Client
	Accounts Accounts
	// Log, if set, hears of accounts provisioned, deactivated and deleted.
	Log interface {
		Info(msg string, args ...any)
	}
}

type clientKey struct{}

// Handler serves SCIM under BaseURL's path (mount it at that path with the
// path left on the request), behind the bearer token check.
func (s *Service) Handler() (http.Handler, error) {
	server, err := escim.NewServer(&escim.ServerArgs{
		ServiceProviderConfig: &escim.ServiceProviderConfig{
			DocumentationURI: optional.NewString("https://datatracker.ietf.org/doc/html/rfc7644"),
			SupportFiltering: true,
			SupportPatch:     true,
			MaxResults:       MaxResults,
			AuthenticationSchemes: []escim.AuthenticationScheme{{
				Type: escim.AuthenticationTypeOauthBearerToken, Name: "Bearer token",
				Description: "The token this server gave the IdP's provisioning (SCIM_TOKEN).", Primary: true,
				// Real URIs, never empty strings: a strict client refuses
				// the whole document for one (RFC 7643 §5, type reference).
				SpecURI:          optional.NewString("https://www.rfc-editor.org/rfc/rfc6750"),
				DocumentationURI: optional.NewString("https://www.rfc-editor.org/rfc/rfc7644#section-2"),
			}},
		},
		ResourceTypes: []escim.ResourceType{{
			ID: optional.NewString("User"), Name: "User", Endpoint: "/Users",
			Description: optional.NewString("An account of this authorization server"),
			Schema:      schema.CoreUserSchema(),
			Handler:     users{s},
		}},
	}, escim.WithBaseURL(s.BaseURL))
	if err != nil {
		return nil, err
	}
	// The library routes on the path after /v2.
	return http.StripPrefix(strings.TrimSuffix(pathOf(s.BaseURL), "/v2"), s.auth(guard(server))), nil
}

// pathOf is a URL's path.
func pathOf(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
		if j := strings.IndexByte(u, '/'); j >= 0 {
			return u[j:]
		}
		return ""
	}
	return u
}

// MaxBody bounds a request's body: a user is a few kilobytes.
const MaxBody = 64 << 10

// guard is what the library is not asked: the discovery documents take GET
// alone (405); a body over MaxBody is refused (413); filters too long or
// too nested to be an IdP's lookup are refused before the library parses
// them; the booleans Entra ID sends as strings in a PATCH ("active":
// "False") are read as booleans, which the schema otherwise refuses; and
// the attributes and excludedAttributes parameters choose what a
// resource's answer holds (RFC 7644 §3.4.2.5, §3.9). Every refusal is in
// SCIM's error format.
func guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if discovery(r.URL.Path) && r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			writeError(w, scimerrors.ScimError{Status: http.StatusMethodNotAllowed,
				Detail: "The service's discovery documents are read with GET; nothing else is done with them."})
			return
		}
		if f := r.URL.Query().Get("filter"); len(f) > maxFilter || nesting(f) > maxFilterDepth {
			writeError(w, scimerrors.ScimError{ScimType: scimerrors.ScimTypeInvalidFilter, Status: http.StatusBadRequest,
				Detail: fmt.Sprintf("The filter is longer than %d characters or nested deeper than %d levels.", maxFilter, maxFilterDepth)})
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
			if err != nil || len(body) > MaxBody {
				// The rest is not read: the connection closes after this.
				w.Header().Set("Connection", "close")
				writeError(w, scimerrors.ScimError{Status: http.StatusRequestEntityTooLarge,
					Detail: fmt.Sprintf("The request is larger than this service takes (%d KiB at most).", MaxBody>>10)})
				return
			}
			if r.Method == http.MethodPatch {
				body = entraBooleans(body)
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		h, q := next, r.URL.Query()
		if q.Has("attributes") || q.Has("excludedAttributes") {
			h = chooseAttributes(next, q.Get("attributes"), q.Get("excludedAttributes"))
		}
		h.ServeHTTP(w, r)
	})
}

// discovery reports whether path is one of the discovery endpoints (RFC
// 7644 §4).
func discovery(path string) bool {
	for _, d := range []string{"/ServiceProviderConfig", "/Schemas", "/ResourceTypes"} {
		if strings.HasSuffix(path, d) || strings.Contains(path, d+"/") {
			return true
		}
	}
	return false
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

// auth lets through the client whose token the request bears (RFC 7644
// §2: OAuth bearer tokens), and answers anyone else 401 in SCIM's format.
func (s *Service) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The scheme is case-insensitive (RFC 7235 §2.1).
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		ok := strings.EqualFold(scheme, "Bearer")
		for i := range s.Clients {
			c := &s.Clients[i]
			if ok && token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(c.Token)) == 1 {
				next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientKey{}, c)))
				return
			}
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="scim"`)
		writeError(w, scimerrors.ScimError{Status: http.StatusUnauthorized,
			Detail: "A bearer token this server gave for provisioning is required (Authorization: Bearer ...)."})
	})
}

func writeError(w http.ResponseWriter, e scimerrors.ScimError) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(e)
}

// users is the Users resource: escim.ResourceHandler over the Accounts.
type users struct{ s *Service }

func clientOf(r *http.Request) *Client { return r.Context().Value(clientKey{}).(*Client) }

func (s *Service) log(msg string, args ...any) {
	if s.Log != nil {
		s.Log.Info(msg, args...)
	}
}

// account is what SCIM attributes say of an account here.
type account struct {
	Email, Name, ExternalID string
	// Active is nil when the attributes do not say: a new account is
	// active, an existing one keeps its state. Only active true grants
	// access, never its absence (a PATCH that removes it, a PUT without
	// it).
	Active     *bool
	Attributes escim.ResourceAttributes
}

// readAccount takes the account's fields from validated attributes: the
// email is the primary (or first) email, else the userName when it is one.
func readAccount(attrs escim.ResourceAttributes) (account, error) {
	a := account{Attributes: escim.ResourceAttributes{}}
	for k, v := range attrs {
		switch strings.ToLower(k) {
		case "password":
			continue // never kept: this server signs no one in by password
		case "externalid":
			a.ExternalID, _ = v.(string)
			continue
		case "active":
			active := truthy(v)
			a.Active = &active
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

func displayName(attrs escim.ResourceAttributes, email string) string {
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

// checkDomain refuses an email outside the domains the client provisions:
// it would give the client an account of another organisation's person.
func checkDomain(c *Client, email string) error {
	if maildomain.List(c.Domains).Has(email) {
		return nil
	}
	return scimerrors.ScimError{Status: http.StatusForbidden,
		Detail: "The email " + email + " is not at a domain this provisioning client is trusted for (" + strings.Join(c.Domains, ", ") + ")."}
}

// errorOf turns Accounts' errors into SCIM's.
func errorOf(err error, id string) error {
	var taken *Taken
	switch {
	case errors.Is(err, ErrNotFound):
		return scimerrors.ScimErrorResourceNotFound(id)
	case errors.As(err, &taken):
		return scimerrors.ScimError{ScimType: scimerrors.ScimTypeUniqueness, Status: http.StatusConflict, Detail: taken.Error() + "."}
	case errors.Is(err, ErrTaken):
		return scimerrors.ScimErrorUniqueness
	}
	return err
}

// resource is the account as SCIM shows it.
func resource(a *Account) escim.Resource {
	attrs := escim.ResourceAttributes{}
	if a.Attributes != nil {
		for k, v := range a.Attributes {
			attrs[k] = v
		}
	} else {
		// Not provisioned (seeded, or made at sign-in): its own fields.
		attrs["userName"] = a.Email
		attrs["displayName"] = a.Name
		attrs["emails"] = []any{map[string]any{"value": a.Email, "primary": true, "type": "work"}}
	}
	attrs["active"] = a.Active
	created := a.Created
	res := escim.Resource{ID: a.ID, Attributes: attrs, Meta: escim.Meta{Created: &created, Version: `W/"` + strconv.Itoa(a.Version) + `"`}}
	if a.ExternalID != "" {
		res.ExternalID = optional.NewString(a.ExternalID)
	}
	if !a.Modified.IsZero() {
		modified := a.Modified
		res.Meta.LastModified = &modified
	}
	return res
}

func (h users) Create(r *http.Request, attrs escim.ResourceAttributes) (escim.Resource, error) {
	ctx, c := r.Context(), clientOf(r)
	in, err := readAccount(attrs)
	if err != nil {
		return escim.Resource{}, err
	}
	if err := checkDomain(c, in.Email); err != nil {
		return escim.Resource{}, err
	}
	a := &Account{Email: in.Email, Name: in.Name, Active: in.Active == nil || *in.Active, ExternalID: in.ExternalID, Attributes: in.Attributes}
	if err := h.s.Accounts.Create(ctx, c, a); err != nil {
		return escim.Resource{}, errorOf(err, "")
	}
	h.s.log("SCIM: account provisioned", "user", a.ID, "active", a.Active)
	return resource(a), nil
}

func (h users) Get(r *http.Request, id string) (escim.Resource, error) {
	a, err := h.s.Accounts.Get(r.Context(), clientOf(r), id)
	if err != nil {
		return escim.Resource{}, errorOf(err, id)
	}
	return resource(a), nil
}

func (h users) GetAll(r *http.Request, params escim.ListRequestParams) (escim.Page, error) {
	ctx, c := r.Context(), clientOf(r)
	count := min(max(params.Count, 0), MaxResults)
	start := max(params.StartIndex, 1)
	var f filter.Expression
	if params.FilterValidator != nil {
		f = params.FilterValidator.GetFilter()
	}
	page := escim.Page{Resources: []escim.Resource{}}
	field, value, isEquality := equality(f)
	if f == nil || isEquality {
		// Every account, or the lookups IdPs make before creating one: the
		// store pages them.
		list, total, err := h.s.Accounts.List(ctx, c, Query{Field: field, Value: value, Offset: start - 1, Limit: count})
		if err != nil {
			return escim.Page{}, err
		}
		page.TotalResults = total
		for i := range list {
			page.Resources = append(page.Resources, resource(&list[i]))
		}
		return page, nil
	}
	// Any other filter: each account tested in turn, up to scanLimit.
	list, _, err := h.s.Accounts.List(ctx, c, Query{Limit: scanLimit})
	if err != nil {
		return escim.Page{}, err
	}
	for i := range list {
		res := resource(&list[i])
		attrs := escim.ResourceAttributes{"id": res.ID}
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
// field to look in (Query.Field).
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
		return "externalId", value, true
	case name == "id" && sub == "":
		return "id", value, true
	}
	return "", "", false
}

func (h users) Replace(r *http.Request, id string, attrs escim.ResourceAttributes) (escim.Resource, error) {
	ctx, c := r.Context(), clientOf(r)
	current, err := h.s.Accounts.Get(ctx, c, id)
	if err != nil {
		return escim.Resource{}, errorOf(err, id)
	}
	return h.replace(ctx, c, current, attrs)
}

// replace reads the account's new attributes (a Replace's, or a Patch's
// once applied), writes them, and answers the resource as it now is.
func (h users) replace(ctx context.Context, c *Client, current *Account, attrs escim.ResourceAttributes) (escim.Resource, error) {
	in, err := readAccount(attrs)
	if err != nil {
		return escim.Resource{}, err
	}
	if err := checkDomain(c, in.Email); err != nil {
		return escim.Resource{}, err
	}
	a := *current
	a.Email, a.Name, a.ExternalID, a.Attributes = in.Email, in.Name, in.ExternalID, in.Attributes
	if in.Active != nil {
		a.Active = *in.Active
	}
	if err := h.s.Accounts.Update(ctx, c, &a); err != nil {
		return escim.Resource{}, errorOf(err, a.ID)
	}
	if current.Active && !a.Active {
		h.s.log("SCIM: account deactivated", "user", a.ID)
	}
	return resource(&a), nil
}

func (h users) Delete(r *http.Request, id string) error {
	if err := h.s.Accounts.Delete(r.Context(), clientOf(r), id); err != nil {
		return errorOf(err, id)
	}
	h.s.log("SCIM: account deleted", "user", id)
	return nil
}

// Patch applies the operations to the account's attributes as SCIM shows
// them (RFC 7644 §3.5.2), then saves the result as a replace would.
func (h users) Patch(r *http.Request, id string, ops []escim.PatchOperation) (escim.Resource, error) {
	ctx, c := r.Context(), clientOf(r)
	current, err := h.s.Accounts.Get(ctx, c, id)
	if err != nil {
		return escim.Resource{}, errorOf(err, id)
	}
	shown := resource(current)
	attrs := escim.ResourceAttributes{}
	for k, v := range shown.Attributes {
		attrs[k] = v
	}
	if shown.ExternalID.Present() {
		attrs["externalId"] = shown.ExternalID.Value()
	}
	for _, op := range ops {
		before := primaries(attrs)
		if err := applyPatch(attrs, op); err != nil {
			return escim.Resource{}, err
		}
		onePrimary(attrs, before)
	}
	return h.replace(ctx, c, current, attrs)
}

// applyPatch applies one operation: with no path, its value's attributes
// (Okta's {"op":"replace","value":{"active":false}}; Entra's dotted keys
// such as "name.givenName"); with a path, that attribute, sub-attribute, or
// the members of a multi-valued attribute its filter selects (Entra's
// emails[type eq "work"].value).
func applyPatch(attrs escim.ResourceAttributes, op escim.PatchOperation) error {
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
		case op.Op == escim.PatchOperationRemove && target == "":
			continue // the member goes
		case op.Op == escim.PatchOperationRemove:
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
	if !matched && op.Op != escim.PatchOperationRemove {
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
func setAttribute(attrs escim.ResourceAttributes, op, name, sub string, value any) {
	key := findKey(attrs, name)
	if key == "" {
		key = name
	}
	if sub == "" {
		if op == escim.PatchOperationRemove {
			delete(attrs, key)
			return
		}
		if existing, ok := attrs[key].([]any); ok && op == escim.PatchOperationAdd {
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
	if op == escim.PatchOperationRemove {
		delete(m, subKey)
	} else {
		m[subKey] = value
	}
	attrs[key] = m
}

func findKey(attrs escim.ResourceAttributes, name string) string {
	for k := range attrs {
		if strings.EqualFold(k, name) {
			return k
		}
	}
	return ""
}

// primaries are the members of emails marked primary, by value.
func primaries(attrs escim.ResourceAttributes) map[any]bool {
	out := map[any]bool{}
	list, _ := attrs[findKey(attrs, "emails")].([]any)
	for _, e := range list {
		if m, _ := e.(map[string]any); m != nil && truthy(m["primary"]) {
			out[m["value"]] = true
		}
	}
	return out
}

// onePrimary keeps the primary value "true" on one member of emails at
// most (RFC 7643 §2.4): when an operation made another primary, the ones
// that were before are primary no more; if several are still, the last.
func onePrimary(attrs escim.ResourceAttributes, before map[any]bool) {
	list, _ := attrs[findKey(attrs, "emails")].([]any)
	var marked, fresh []map[string]any
	for _, e := range list {
		if m, _ := e.(map[string]any); m != nil && truthy(m["primary"]) {
			marked = append(marked, m)
			if !before[m["value"]] {
				fresh = append(fresh, m)
			}
		}
	}
	if len(marked) < 2 {
		return
	}
	keep := marked[len(marked)-1]
	if len(fresh) > 0 {
		keep = fresh[len(fresh)-1]
	}
	for _, m := range marked {
		m["primary"] = false
	}
	keep["primary"] = true
}
