package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"gorm.io/gorm"

	"xaa.example/apps/todo/todoapp"
	"xaa.example/idp/provider"
	"xaa.example/idp/transmitter"
	"xaa.example/shared/authserver"
	"xaa.example/shared/demo"
	"xaa.example/shared/idjag"
	"xaa.example/shared/keys"
	"xaa.example/shared/numericdate"
	"xaa.example/shared/oauth"
	"xaa.example/shared/scim"
	"xaa.example/shared/ssf"
	"xaa.example/shared/storage/storagetest"
)

// The seam matrix's second IdP, its people, and the credentials of the
// second provisioning client and stream receiver.
const (
	idp2Domain        = "idp2.test"
	idp2StreamToken   = "idp2-ssf-stream-token"
	tenantBDomain     = "tenantb.test"
	tenantBSCIMToken  = "tenant-b-scim-token"
	otherReceiverName = "Other receiver"
	otherStreamToken  = "other-receiver-ssf-token"
)

// TestSeamMatrix (issue 31): every authority reaches only its own people.
// The stack has a second trusted IdP beside the local one (trusted by the
// wiki AS for idp2.test, by the todo AS for ID-JAGs about idp2.test, by the
// todo app for Shared Signals about idp2.test), an organisation's own SAML
// IdP (samlify, from npm) trusted by the wiki AS for tables.fake3, two
// provisioning clients of the local IdP (no tenant, tables.fake...; and
// tenantB, tenantb.test), two stream receivers at the local IdP, and a
// client registered at the todo AS whose id is a URL.
//
// Each row is one authority trying to reach another's person. It asserts
// the refusal (the right error, a readable page) and that nothing changed:
// no session, link, account, token, revocation or stream (the tables that
// hold them, in every service, are compared before and after). Positive
// controls follow: each authority still reaches its own people.
func TestSeamMatrix(t *testing.T) {
	t.Parallel()
	dir := installForeignSAMLIdP(t)
	t.Run("SQLite", func(t *testing.T) { runSeamMatrix(t, dir, sqliteDB) })
	t.Run("MariaDB", func(t *testing.T) {
		runSeamMatrix(t, dir, func(t testing.TB, _ string) *gorm.DB { return storagetest.MariaDB(t) })
	})
}

// seamRow is one authority trying to reach another's person.
type seamRow struct {
	name string
	// plant, if set, puts the stack in the state the row needs (as an
	// earlier configuration might have left it) and returns its undoing.
	plant func() (undo func())
	// try makes the attempt and fails t unless it was refused as it must be.
	try func(t *testing.T)
}

func runSeamMatrix(t *testing.T, samlifyDir string, open openDB) {
	ctx := context.Background()
	// The second IdP, known before the stack starts: the stack's services
	// are configured with its URL.
	idp2 := &swappable{}
	idp2Server := httptest.NewServer(idp2)
	t.Cleanup(idp2Server.Close)
	idp2DB := open(t, "idp2")

	// A vendor's site, where Client ID Metadata Documents are published.
	var pagesMu sync.Mutex
	pages := map[string]string{}
	vendor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pagesMu.Lock()
		body, ok := pages[r.URL.Path]
		pagesMu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(vendor.Close)
	registeredURLClient := vendor.URL + "/registered-client.json"

	var foreign *foreignSAMLIdP
	s := startStack(t, open, func(c *configs) {
		topo := c.topology
		cfg2 := provider.DefaultConfig(demo.Topology{IdP: idp2Server.URL, WikiAS: topo.WikiAS, TodoAS: topo.TodoAS, Wiki: topo.Wiki, Todo: topo.Todo})
		// Its own organisation, and one it claims that is not its own.
		cfg2.Orgs = []demo.Org{{Domain: idp2Domain, Name: "Second Corp"}, {Domain: "tables.fake", Name: "Tables, as IdP 2 claims it"}}
		cfg2.Users = []demo.User{{Email: "carol@" + idp2Domain, Name: "Carol Second"}, {Email: "bob@tables.fake", Name: "Not Bob"}}
		cfg2.SAMLServiceProviders, cfg2.Provisioning, cfg2.Trace = nil, nil, nil
		cfg2.SSFReceivers = []transmitter.Receiver{{Name: "Todo app", Token: idp2StreamToken}}
		cfg2.DB, cfg2.Log = idp2DB, slog.New(slog.DiscardHandler)
		p2, err := provider.New(ctx, cfg2)
		if err != nil {
			t.Fatalf("start IdP 2: %v", err)
		}
		t.Cleanup(p2.Close)
		idp2.set(p2.Handler())

		// The wiki AS: tables.fake3 signs in with the organisation's own
		// SAML IdP; idp2.test with IdP 2.
		foreign = startForeignSAMLIdP(t, samlifyDir, topo.WikiAS+"/saml/metadata")
		c.wikiAS.Tenants[1].IdP.Issuer = foreign.Metadata()
		// The organisation's own IdP is no OAuth server: no token issuer.
		c.wikiAS.Tenants[1].IdP.TokenIssuer = ""
		c.wikiAS.Tenants = append(c.wikiAS.Tenants, authserver.Tenant{Domains: []string{idp2Domain},
			IdP: authserver.Upstream{Issuer: idp2Server.URL, ClientID: demo.WikiASClientAtIdP, ClientSecret: demo.WikiASSecretAtIdP}})

		// The todo AS: IdP 2's ID-JAGs, for idp2.test; tenantB's
		// provisioning; a registered client whose id is a URL.
		c.todoAS.IDJAGs.Trusted = append(c.todoAS.IDJAGs.Trusted, &idjag.TrustedIssuer{Issuer: idp2Server.URL,
			JIT: idjag.JITPolicy{Enabled: true, EmailDomains: []string{idp2Domain}}})
		c.todoAS.SCIM = append(c.todoAS.SCIM, scim.Client{Token: tenantBSCIMToken, Issuer: topo.IdP, Tenant: "tenantB", Domains: []string{tenantBDomain}})
		c.todoAS.Server.Clients = append(c.todoAS.Server.Clients, oauth.Client{ID: registeredURLClient, Secret: "registered-url-client-secret",
			GrantTypes: []string{oauth.GrantJWTBearer}, Scopes: []string{demo.ScopeTodosRead}})
		c.todoAS.IDJAGs.ClientMetadataLocalHosts = []string{strings.TrimPrefix(vendor.URL, "http://")}

		// The todo app: IdP 2's Shared Signals, about idp2.test.
		c.todo.Signals.Transmitters = append(c.todo.Signals.Transmitters, todoapp.Transmitter{Issuer: idp2Server.URL, StreamToken: idp2StreamToken, Domains: []string{idp2Domain}})
		// The local IdP: a second stream receiver.
		c.idp.SSFReceivers = append(c.idp.SSFReceivers, transmitter.Receiver{Name: otherReceiverName, Token: otherStreamToken})
	})
	idp1Keys, err := keys.LoadOrCreate(ctx, s.dbs["idp"])
	if err != nil {
		t.Fatal(err)
	}
	idp2Keys, err := keys.LoadOrCreate(ctx, idp2DB)
	if err != nil {
		t.Fatal(err)
	}
	dbs := map[string]*gorm.DB{"idp2": idp2DB}
	for name, db := range s.dbs {
		dbs[name] = db
	}
	idOf := func(db *gorm.DB, email string) string {
		t.Helper()
		var id string
		if err := db.Table("users").Select("id").Where("email = ?", email).Row().Scan(&id); err != nil {
			t.Fatalf("no user %s: %v", email, err)
		}
		return id
	}

	// --- What every row compares: the tables that hold sessions, links,
	// accounts, provisioned people, held tokens, revocations, streams and
	// connections, in every service. (An IdP's session for its own person,
	// who did sign in there, is not another's person reached.)
	watched := map[string][]string{
		"idp":     {"SELECT id, email, disabled FROM users ORDER BY id", "SELECT id, requesting_client_id, resource_audience, resource, allowed_scopes, client_id_at_resource, enabled FROM connections ORDER BY id", "SELECT id, receiver, audience, endpoint, events FROM ssf_streams ORDER BY id"},
		"idp2":    {"SELECT id, email, disabled FROM users ORDER BY id", "SELECT id, receiver, audience, endpoint, events FROM ssf_streams ORDER BY id"},
		"wiki-as": {"SELECT id, email, deactivated FROM users ORDER BY id", "SELECT issuer, tenant, subject, user_id FROM links ORDER BY issuer, tenant, subject", "SELECT user_id, id_p_issuer FROM upstream_sessions ORDER BY user_id", "SELECT token, expiry FROM web_sessions ORDER BY token"},
		"todo-as": {"SELECT id, email, deactivated FROM users ORDER BY id", "SELECT issuer, tenant, subject, user_id FROM links ORDER BY issuer, tenant, subject", "SELECT user_id, issuer, tenant, external_id, version FROM scim_users ORDER BY user_id", "SELECT token, expiry FROM web_sessions ORDER BY token"},
		"todo":    {"SELECT issuer, kind, value FROM revocations ORDER BY id", "SELECT id, owner_id, title, done FROM todos ORDER BY id"},
		"wiki":    {"SELECT token, expiry FROM web_sessions ORDER BY token"},
	}
	state := func() string {
		t.Helper()
		var out strings.Builder
		for _, name := range []string{"idp", "idp2", "wiki-as", "todo-as", "todo", "wiki"} {
			for _, q := range watched[name] {
				fmt.Fprintf(&out, "== %s: %s\n%s", name, q, dump(t, dbs[name], q))
			}
		}
		return out.String()
	}

	// --- The people. Bob signs in from the local IdP and reads his todos
	// through the chain (linked at the wiki AS and the todo AS).
	bob := newBrowser(t)
	if home := bob.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password); signedInAs(home.Body) != "Bobby Tables" {
		t.Fatalf("Bob's sign-in: %d\n%.1500s", home.Status, home.Body)
	}
	if todos := bob.get(s.topology.Wiki + "/todos"); !strings.Contains(todos.Body, demo.BobTodos[0]) {
		t.Fatalf("Bob's todos: %d\n%.1500s", todos.Status, todos.Body)
	}
	bobSub := idOf(s.dbs["idp"], "bob@tables.fake")
	bobAtWikiAS := idOf(s.dbs["wiki-as"], "bob@tables.fake")
	carolSub := idOf(idp2DB, "carol@"+idp2Domain)

	scim := func(token, method, path, body string) (int, map[string]any) {
		t.Helper()
		return scimAs(t, s, token, method, path, body)
	}
	scimUser := func(email, externalID string) string {
		return fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":%q,"emails":[{"value":%q,"primary":true}],"displayName":%q,"externalId":%q,"active":true}`,
			email, email, email, externalID)
	}
	// Each provisioning client provisions one person of its own.
	status, hal := scim(demo.TodoSCIMToken, http.MethodPost, "/Users", scimUser("hal@tables.fake", "00u-hal"))
	if status != http.StatusCreated {
		t.Fatalf("the tenant-less client's person: %d %v", status, hal)
	}
	status, ida := scim(tenantBSCIMToken, http.MethodPost, "/Users", scimUser("ida@"+tenantBDomain, "00u-ida"))
	if status != http.StatusCreated {
		t.Fatalf("tenantB's person: %d %v", status, ida)
	}
	halID, idaID := hal["id"].(string), ida["id"].(string)
	bobAtTodoAS := idOf(s.dbs["todo-as"], "bob@tables.fake")

	// --- ID-JAGs, signed with an IdP's own key: what that IdP could send.
	idjagOf := func(signer *keys.Set, claims map[string]any) string {
		t.Helper()
		raw, err := signer.Sign(oauth.TypIDJAG, claims)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	claims := func(iss, sub, email, tenant string) map[string]any {
		now := time.Now()
		c := map[string]any{"iss": iss, "sub": sub, "aud": s.topology.TodoAS, "client_id": demo.WikiAtTodoClient, "jti": rand.Text(),
			"iat": now.Unix(), "exp": now.Add(4 * time.Minute).Unix(), "scope": "todos.read", "resource": s.topology.TodoAPI()}
		if email != "" {
			c["email"] = email
		}
		if tenant != "" {
			c["tenant"] = tenant
		}
		return c
	}
	token := func(form url.Values, user, password string) (int, map[string]any) {
		t.Helper()
		return postForm(t, s.topology.TodoAS+"/token", form, user, password)
	}
	grant := func(assertion string) (int, map[string]any) {
		t.Helper()
		return token(url.Values{"grant_type": {oauth.GrantJWTBearer}, "assertion": {assertion}}, demo.WikiAtTodoClient, demo.WikiAtTodoSecret)
	}
	refusedGrant := func(t *testing.T, assertion string, status int, code string) {
		t.Helper()
		got, body := grant(assertion)
		if got != status || body["error"] != code || body["error_description"] == "" || body["access_token"] != nil {
			t.Errorf("got %d %v, want %d %s with a description and no token", got, body, status, code)
		}
	}
	// Access tokens of each IdP's people, for the Shared Signals rows.
	tokenOf := func(signer *keys.Set, iss, sub, email string) string {
		t.Helper()
		status, body := grant(idjagOf(signer, claims(iss, sub, email, "")))
		if status != 200 {
			t.Fatalf("an access token for %s: %d %v", email, status, body)
		}
		return body["access_token"].(string)
	}
	bobToken := tokenOf(idp1Keys, s.topology.IdP, bobSub, "bob@tables.fake")
	carolToken := tokenOf(idp2Keys, idp2Server.URL, carolSub, "carol@"+idp2Domain)
	apiWorks := func(accessToken string) bool {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, s.topology.TodoAPI()+"/todos", nil)
		req.Header.Set("Authorization", "Bearer "+accessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	// A revocation covers the tokens issued before its event, to the
	// millisecond: events from here on come after the tokens above.
	time.Sleep(2 * time.Millisecond)

	// --- Shared Signals: each IdP's push credential, as it holds it.
	pushAuth := func(db *gorm.DB) string {
		t.Helper()
		var auth string
		if err := db.Table("ssf_streams").Select("authorization").Where("receiver = ?", "Todo app").Row().Scan(&auth); err != nil {
			t.Fatalf("no stream of the todo app: %v", err)
		}
		return auth
	}
	idp1Push, idp2Push := pushAuth(s.dbs["idp"]), pushAuth(idp2DB)
	setOf := func(signer *keys.Set, iss string, subject ssf.Subject) string {
		t.Helper()
		now := time.Now()
		raw, err := ssf.Sign(signer, ssf.SET{Issuer: iss, Audience: jwt.Audience{s.topology.Todo}, IssuedAt: jwt.NewNumericDate(now), ID: rand.Text(),
			Subject: subject, Events: map[string]ssf.Event{ssf.EventSessionRevoked: {Timestamp: numericdate.New(now)}}})
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	push := func(auth, set string) (int, string) {
		t.Helper()
		return callRaw(t, http.MethodPost, s.topology.Todo+"/ssf/events", ssf.MediaType, set, "Authorization", auth)
	}
	refusedPush := func(t *testing.T, auth, set, code string) {
		t.Helper()
		if status, body := push(auth, set); status != 400 || !strings.Contains(body, `"err":"`+code+`"`) || !strings.Contains(body, `"description":"`) {
			t.Errorf("got %d %s, want 400 %s with a description", status, body, code)
		}
		if !apiWorks(bobToken) || !apiWorks(carolToken) {
			t.Error("a refused SET ended a token")
		}
	}
	bobByEmail := ssf.Subject{Format: "email", Email: "bob@tables.fake"}
	wikiApp := ssf.Subject{Format: "complex", Application: &ssf.Subject{Format: "opaque", ID: demo.WikiAtTodoClient}}

	// --- The sign-in rows: a page that says why, no session.
	refusedPage := func(t *testing.T, b *browser, p page, status int, words string) {
		t.Helper()
		if p.Status != status || !strings.Contains(p.Body, words) || !strings.Contains(p.Body, `class="card error"`) {
			t.Errorf("got %d, want %d and a page saying %q:\n%s", p.Status, status, words, mainText(p.Body))
		}
		if who := signedInAs(b.get(s.topology.Wiki + "/").Body); who != "" {
			t.Errorf("the browser is signed in to the wiki as %q", who)
		}
	}
	foreignSignIn := func(t *testing.T, nameID, mail string, status int, words string) {
		t.Helper()
		foreign.assertNext(nameID, mail, "Someone")
		b := newBrowser(t)
		refusedPage(t, b, foreign.signIn(b, s.topology.Wiki, "someone@tables.fake3"), status, words)
	}
	// idp2SignIn picks IdP 2 with an idp2.test address, then signs in
	// there as email.
	idp2SignIn := func(b *browser, email string) page {
		t.Helper()
		login := b.get(s.topology.Wiki + "/login?login_hint=" + urlEscape("carol@"+idp2Domain))
		m := formAction.FindStringSubmatch(login.Body)
		if m == nil || !strings.HasPrefix(login.URL, idp2Server.URL) {
			t.Fatalf("the sign-in did not reach IdP 2's form (%s):\n%.1000s", login.URL, login.Body)
		}
		fields := formFields(login.Body)
		fields["email"], fields["password"] = email, demo.Password
		return b.post(idp2Server.URL+htmlUnescape(m[1]), fields)
	}
	plantLink := func(db *gorm.DB, issuer, subject, userID string) func() (undo func()) {
		return func() func() {
			if err := db.Exec("INSERT INTO links (issuer, tenant, subject, user_id, created_at) VALUES (?, '', ?, ?, ?)", issuer, subject, userID, time.Now()).Error; err != nil {
				t.Fatal(err)
			}
			return func() { db.Exec("DELETE FROM links WHERE issuer = ? AND subject = ?", issuer, subject) }
		}
	}

	// IdP 2's administrator puts its "bob@tables.fake" in its own
	// organisation, so that it signs him in for idp2.test and says so in
	// its ID token.
	bobInIdP2sOrg := func() func() {
		move := func(domain string) {
			if err := idp2DB.Exec("UPDATE users SET org_id = (SELECT id FROM orgs WHERE domain = ?) WHERE email = ?", domain, "bob@tables.fake").Error; err != nil {
				t.Fatal(err)
			}
		}
		move(idp2Domain)
		return func() { move("tables.fake") }
	}

	// --- The IdP's token exchange.
	exchange := func(clientID, secret, subjectToken, resource string) (int, map[string]any) {
		t.Helper()
		form := url.Values{"grant_type": {oauth.GrantTokenExchange}, "requested_token_type": {oauth.TokenTypeIDJAG},
			"subject_token": {subjectToken}, "subject_token_type": {oauth.TokenTypeIDToken},
			"audience": {s.topology.TodoAS}, "resource": {resource}, "scope": {"todos.read"}}
		return postForm(t, s.topology.IdP+"/oauth2/v1/token", form, clientID, secret)
	}
	agentIDTok := agentIDToken(t, s, "bob@tables.fake")
	var wikiASIDToken string // Bob's ID token at the IdP, issued to the wiki AS
	if err := s.dbs["wiki-as"].Table("upstream_sessions").Select("id_token").Where("user_id = ?", bobAtWikiAS).Row().Scan(&wikiASIDToken); err != nil || wikiASIDToken == "" {
		t.Fatalf("the wiki AS holds no IdP ID token for Bob: %v", err)
	}
	refusedExchange := func(t *testing.T, status int, body map[string]any, codes ...string) {
		t.Helper()
		code, _ := body["error"].(string)
		if status < 400 || status >= 500 || body["access_token"] != nil || body["error_description"] == "" || !slices.Contains(codes, code) {
			t.Errorf("got %d %v, want one of %v with a description and no ID-JAG", status, body, codes)
		}
	}

	// --- Client ID Metadata Documents: a key of the caller's, and the
	// client assertion it signs.
	attackerKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	attackerJWK := jose.JSONWebKey{Key: &attackerKey.PublicKey, KeyID: "attacker", Algorithm: "ES256", Use: "sig"}
	publish := func(path, clientID string) {
		doc, _ := json.Marshal(map[string]any{"client_id": clientID, "client_name": "Attacker", "token_endpoint_auth_method": oauth.AuthPrivateKeyJWT,
			"grant_types": []string{oauth.GrantJWTBearer}, "jwks": jose.JSONWebKeySet{Keys: []jose.JSONWebKey{attackerJWK}}})
		pagesMu.Lock()
		pages[path] = string(doc)
		pagesMu.Unlock()
	}
	clientAssertion := func(clientID string) string {
		t.Helper()
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: attackerKey, KeyID: "attacker"}}, (&jose.SignerOptions{}).WithType("JWT"))
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		raw, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: clientID, Subject: clientID, Audience: jwt.Audience{s.topology.TodoAS},
			ID: rand.Text(), IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Minute))}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	cimdGrant := func(clientID string) (int, map[string]any) {
		t.Helper()
		c := claims(s.topology.IdP, bobSub, "bob@tables.fake", "")
		c["client_id"] = clientID
		return token(url.Values{"grant_type": {oauth.GrantJWTBearer}, "assertion": {idjagOf(idp1Keys, c)}, "client_id": {clientID},
			"client_assertion_type": {oauth.ClientAssertionType}, "client_assertion": {clientAssertion(clientID)}}, "", "")
	}
	publish("/registered-client.json", registeredURLClient)
	publish("/not-its-url.json", vendor.URL+"/elsewhere.json")

	streamCall := func(method, query string) (int, string) {
		t.Helper()
		return callRaw(t, method, s.topology.IdP+"/ssf/streams"+query, "", "", "Authorization", "Bearer "+otherStreamToken)
	}
	var todoStream string
	if err := s.dbs["idp"].Table("ssf_streams").Select("id").Where("receiver = ?", "Todo app").Row().Scan(&todoStream); err != nil {
		t.Fatal(err)
	}
	mallory := func(email string) string {
		return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"userName":"` + email +
			`","emails":[{"value":"` + email + `","primary":true}],"active":false}}]}`
	}
	scimRefused := func(t *testing.T, token, method, path, body string, status int) {
		t.Helper()
		got, out := scim(token, method, path, body)
		if got != status || out["detail"] == nil || !strings.Contains(fmt.Sprint(out["schemas"]), "urn:ietf:params:scim:api:messages:2.0:Error") {
			t.Errorf("got %d %v, want a SCIM error %d with a detail", got, out, status)
		}
	}
	scimFinds := func(t *testing.T, token, filter string, want float64) {
		t.Helper()
		if got, out := scim(token, http.MethodGet, "/Users?filter="+url.QueryEscape(filter), ""); got != 200 || out["totalResults"] != want {
			t.Errorf("%s: got %d %v, want %v results", filter, got, out, want)
		}
	}

	rows := []seamRow{
		// The organisation's own SAML IdP (tables.fake3) at the wiki AS.
		{name: "SAML: NameID of IdP 1's Bob, mail of Bob", try: func(t *testing.T) {
			foreignSignIn(t, bobSub, "bob@tables.fake", 403, "Another organisation")
		}},
		{name: "SAML: a NameID of its own, mail of Bob", try: func(t *testing.T) {
			foreignSignIn(t, "f-"+rand.Text(), "bob@tables.fake", 403, "Another organisation")
		}},
		{name: "SAML: a NameID of its own, mail of IdP 2's Carol", try: func(t *testing.T) {
			foreignSignIn(t, "f-"+rand.Text(), "carol@"+idp2Domain, 403, "Another organisation")
		}},
		{name: "SAML: NameID of IdP 1's Bob, no mail", try: func(t *testing.T) {
			foreignSignIn(t, bobSub, "", 400, "did not share your email")
		}},
		{name: "SAML: its own link, left pointing at Bob's account", plant: plantLink(s.dbs["wiki-as"], foreign.Metadata(), "planted", bobAtWikiAS), try: func(t *testing.T) {
			foreignSignIn(t, "planted", "someone@tables.fake3", 403, "Another organisation")
		}},
		// IdP 2 at the wiki AS (OpenID Connect, idp2.test).
		{name: "OIDC: IdP 2's ID token asserts Bob's address", plant: bobInIdP2sOrg, try: func(t *testing.T) {
			b := newBrowser(t)
			refusedPage(t, b, idp2SignIn(b, "bob@tables.fake"), 403, "Another organisation")
		}},
		{name: "OIDC: IdP 2's own link, left pointing at Bob's account", plant: plantLink(s.dbs["wiki-as"], idp2Server.URL, carolSub, bobAtWikiAS), try: func(t *testing.T) {
			b := newBrowser(t)
			refusedPage(t, b, idp2SignIn(b, "carol@"+idp2Domain), 403, "Another organisation")
		}},
		// ID-JAGs at the todo AS.
		{name: "ID-JAG: IdP 2 names IdP 1's Bob by sub", try: func(t *testing.T) {
			refusedGrant(t, idjagOf(idp2Keys, claims(idp2Server.URL, bobSub, "", "")), 400, "invalid_grant")
		}},
		{name: "ID-JAG: IdP 2 names IdP 1's Bob by sub and email", try: func(t *testing.T) {
			refusedGrant(t, idjagOf(idp2Keys, claims(idp2Server.URL, bobSub, "bob@tables.fake", "")), 400, "invalid_grant")
		}},
		{name: "ID-JAG: IdP 2 names the tenant-less client's person by email", try: func(t *testing.T) {
			refusedGrant(t, idjagOf(idp2Keys, claims(idp2Server.URL, "00u-"+rand.Text(), "hal@tables.fake", "")), 400, "invalid_grant")
		}},
		{name: "ID-JAG: IdP 2 names tenantB's person by sub, tenant and email", try: func(t *testing.T) {
			refusedGrant(t, idjagOf(idp2Keys, claims(idp2Server.URL, "00u-ida", "ida@"+tenantBDomain, "tenantB")), 400, "invalid_grant")
		}},
		{name: "ID-JAG: signed by IdP 2 as IdP 1", try: func(t *testing.T) {
			refusedGrant(t, idjagOf(idp2Keys, claims(s.topology.IdP, bobSub, "bob@tables.fake", "")), 400, "invalid_grant")
		}},
		{name: "ID-JAG: an IdP the todo AS does not trust", try: func(t *testing.T) {
			refusedGrant(t, idjagOf(idp2Keys, claims(vendor.URL, bobSub, "bob@tables.fake", "")), 400, "invalid_grant")
		}},
		{name: "ID-JAG: IdP 1, tenant tenantB, about Bob (no tenant)", try: func(t *testing.T) {
			refusedGrant(t, idjagOf(idp1Keys, claims(s.topology.IdP, bobSub, "", "tenantB")), 400, "invalid_grant")
		}},
		{name: "ID-JAG: IdP 1, tenant tenantB, about the tenant-less client's person", try: func(t *testing.T) {
			refusedGrant(t, idjagOf(idp1Keys, claims(s.topology.IdP, "00u-hal", "", "tenantB")), 400, "invalid_grant")
		}},
		{name: "ID-JAG: IdP 1, no tenant, about tenantB's person", try: func(t *testing.T) {
			refusedGrant(t, idjagOf(idp1Keys, claims(s.topology.IdP, "00u-ida", "", "")), 400, "invalid_grant")
		}},
		// Provisioning at the todo AS.
		{name: "SCIM: tenantB reads the tenant-less client's person", try: func(t *testing.T) {
			scimRefused(t, tenantBSCIMToken, http.MethodGet, "/Users/"+halID, "", 404)
		}},
		{name: "SCIM: tenantB replaces the tenant-less client's person", try: func(t *testing.T) {
			scimRefused(t, tenantBSCIMToken, http.MethodPut, "/Users/"+halID, scimUser("mallory@"+tenantBDomain, "00u-mallory"), 404)
		}},
		{name: "SCIM: tenantB patches the tenant-less client's person", try: func(t *testing.T) {
			scimRefused(t, tenantBSCIMToken, http.MethodPatch, "/Users/"+halID, mallory("mallory@"+tenantBDomain), 404)
		}},
		{name: "SCIM: tenantB deletes the tenant-less client's person", try: func(t *testing.T) {
			scimRefused(t, tenantBSCIMToken, http.MethodDelete, "/Users/"+halID, "", 404)
		}},
		{name: "SCIM: tenantB patches Bob (signed in from IdP 1, no tenant)", try: func(t *testing.T) {
			scimRefused(t, tenantBSCIMToken, http.MethodPatch, "/Users/"+bobAtTodoAS, mallory("mallory@"+tenantBDomain), 404)
		}},
		{name: "SCIM: tenantB looks Bob and the tenant-less client's person up", try: func(t *testing.T) {
			scimFinds(t, tenantBSCIMToken, `userName eq "bob@tables.fake"`, 0)
			scimFinds(t, tenantBSCIMToken, `externalId eq "00u-hal"`, 0)
		}},
		{name: "SCIM: tenantB creates a person at tables.fake", try: func(t *testing.T) {
			scimRefused(t, tenantBSCIMToken, http.MethodPost, "/Users", scimUser("kim@tables.fake", "00u-kim"), 403)
		}},
		{name: "SCIM: the tenant-less client patches tenantB's person", try: func(t *testing.T) {
			scimRefused(t, demo.TodoSCIMToken, http.MethodPatch, "/Users/"+idaID, mallory("ida@tables.fake"), 404)
		}},
		{name: "SCIM: the tenant-less client moves its person to tenantB's domain", try: func(t *testing.T) {
			scimRefused(t, demo.TodoSCIMToken, http.MethodPatch, "/Users/"+halID, mallory("hal@"+tenantBDomain), 403)
		}},
		{name: "SCIM: a token no IdP was given", try: func(t *testing.T) {
			scimRefused(t, "not-a-scim-token", http.MethodGet, "/Users/"+halID, "", 401)
		}},
		// Shared Signals at the todo app.
		{name: "SSF: IdP 2 names IdP 1's Bob", try: func(t *testing.T) {
			refusedPush(t, idp2Push, setOf(idp2Keys, idp2Server.URL, bobByEmail), ssf.ErrAccessDenied)
		}},
		{name: "SSF: IdP 2 names IdP 1's Bob as a complex subject's user", try: func(t *testing.T) {
			refusedPush(t, idp2Push, setOf(idp2Keys, idp2Server.URL, ssf.Subject{Format: "complex", User: &bobByEmail}), ssf.ErrAccessDenied)
		}},
		{name: "SSF: IdP 2 signs as IdP 1", try: func(t *testing.T) {
			refusedPush(t, idp2Push, setOf(idp2Keys, s.topology.IdP, wikiApp), ssf.ErrInvalidIssuer)
		}},
		{name: "SSF: IdP 2's SET pushed with IdP 1's credential", try: func(t *testing.T) {
			refusedPush(t, idp1Push, setOf(idp2Keys, idp2Server.URL, wikiApp), ssf.ErrInvalidKey)
		}},
		// Stream configuration at the local IdP.
		{name: "Streams: another receiver reads the todo app's stream", try: func(t *testing.T) {
			if status, body := streamCall(http.MethodGet, "?stream_id="+todoStream); status != 404 || strings.Contains(body, s.topology.Todo) || !strings.Contains(body, `"error_description"`) {
				t.Errorf("got %d %s, want 404 and nothing of the todo app's stream", status, body)
			}
		}},
		{name: "Streams: another receiver deletes the todo app's stream", try: func(t *testing.T) {
			if status, body := streamCall(http.MethodDelete, "?stream_id="+todoStream); status != 404 || !strings.Contains(body, `"error_description"`) {
				t.Errorf("got %d %s, want 404", status, body)
			}
		}},
		// Client ID Metadata Documents at the todo AS.
		{name: "CIMD: a document at the URL that is a registered client's id", try: func(t *testing.T) {
			if status, body := cimdGrant(registeredURLClient); status != 401 || body["error"] != "invalid_client" || body["access_token"] != nil {
				t.Errorf("got %d %v, want 401 invalid_client", status, body)
			}
		}},
		{name: "CIMD: a document that names another client_id", try: func(t *testing.T) {
			if status, body := cimdGrant(vendor.URL + "/not-its-url.json"); status != 401 || body["error"] != "invalid_client" || body["access_token"] != nil {
				t.Errorf("got %d %v, want 401 invalid_client", status, body)
			}
		}},
		// The IdP's token exchange: each client reaches its own connection.
		{name: "Exchange: the agent's client asks for the wiki's connection", try: func(t *testing.T) {
			status, body := exchange(demo.AgentClientAtIdP, demo.AgentSecretAtIdP, agentIDTok, s.topology.TodoAPI())
			refusedExchange(t, status, body, "invalid_target", "access_denied")
		}},
		{name: "Exchange: the agent's client presents the wiki AS's ID token", try: func(t *testing.T) {
			status, body := exchange(demo.AgentClientAtIdP, demo.AgentSecretAtIdP, wikiASIDToken, s.topology.TodoMCP())
			refusedExchange(t, status, body, "invalid_grant")
		}},
		{name: "Exchange: the wiki AS asks for the agent's connection", try: func(t *testing.T) {
			status, body := exchange(demo.WikiASClientAtIdP, demo.WikiASSecretAtIdP, wikiASIDToken, s.topology.TodoMCP())
			refusedExchange(t, status, body, "invalid_target", "access_denied")
		}},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			if row.plant != nil {
				t.Cleanup(row.plant())
			}
			before := state()
			row.try(t)
			if after := state(); after != before {
				t.Errorf("the refused attempt changed something:\n%s", diffLines(before, after))
			}
		})
	}
	if t.Failed() {
		return
	}

	// --- Positive controls: each authority still reaches its own people.
	t.Run("control: Bob reads his todos", func(t *testing.T) {
		if todos := bob.get(s.topology.Wiki + "/todos"); !strings.Contains(todos.Body, demo.BobTodos[0]) {
			t.Errorf("Bob's todos: %d\n%.1500s", todos.Status, todos.Body)
		}
	})
	t.Run("control: the organisation's SAML IdP signs its own person in", func(t *testing.T) {
		foreign.assertNext("f-foo", "foo@tables.fake3", "Foo of Tables3")
		b := newBrowser(t)
		if who := signedInAs(foreign.signIn(b, s.topology.Wiki, "foo@tables.fake3").Body); who != "Foo of Tables3" {
			t.Errorf("signed in as %q", who)
		}
	})
	t.Run("control: IdP 2 signs Carol in, and she reads her todos", func(t *testing.T) {
		b := newBrowser(t)
		if who := signedInAs(idp2SignIn(b, "carol@"+idp2Domain).Body); who != "Carol Second" {
			t.Fatalf("signed in as %q", who)
		}
		if todos := b.get(s.topology.Wiki + "/todos"); todos.Status != 200 || strings.Contains(todos.Body, `class="alert bad"`) || !strings.Contains(todos.Body, `id="held-token"`) {
			t.Errorf("Carol's todos: %d\n%.2000s", todos.Status, todos.Body)
		}
	})
	t.Run("control: ID-JAGs of each authority for its own people", func(t *testing.T) {
		for _, c := range []struct {
			who    string
			signer *keys.Set
			claims map[string]any
		}{
			{"IdP 2's Carol", idp2Keys, claims(idp2Server.URL, carolSub, "carol@"+idp2Domain, "")},
			{"IdP 1's tenantB person", idp1Keys, claims(s.topology.IdP, "00u-ida", "", "tenantB")},
			{"IdP 1's tenant-less provisioned person", idp1Keys, claims(s.topology.IdP, "00u-hal", "", "")},
		} {
			if status, body := grant(idjagOf(c.signer, c.claims)); status != 200 {
				t.Errorf("%s: %d %v", c.who, status, body)
			}
		}
	})
	t.Run("control: each provisioning client reads its own person", func(t *testing.T) {
		if status, got := scim(demo.TodoSCIMToken, http.MethodGet, "/Users/"+halID, ""); status != 200 || got["userName"] != "hal@tables.fake" {
			t.Errorf("the tenant-less client: %d %v", status, got)
		}
		if status, got := scim(tenantBSCIMToken, http.MethodGet, "/Users/"+idaID, ""); status != 200 || got["userName"] != "ida@"+tenantBDomain {
			t.Errorf("tenantB: %d %v", status, got)
		}
	})
	t.Run("control: a registered client whose id is a URL uses its secret", func(t *testing.T) {
		c := claims(s.topology.IdP, bobSub, "bob@tables.fake", "")
		c["client_id"] = registeredURLClient
		if status, body := token(url.Values{"grant_type": {oauth.GrantJWTBearer}, "assertion": {idjagOf(idp1Keys, c)}},
			url.QueryEscape(registeredURLClient), "registered-url-client-secret"); status != 200 { // RFC 6749 §2.3.1: the id form-encoded
			t.Errorf("%d %v", status, body)
		}
	})
	t.Run("control: the agent's client reaches its own connection", func(t *testing.T) {
		if status, body := exchange(demo.AgentClientAtIdP, demo.AgentSecretAtIdP, agentIDTok, s.topology.TodoMCP()); status != 200 || body["access_token"] == nil {
			t.Errorf("%d %v", status, body)
		}
	})
	t.Run("control: each IdP's events end its own people's tokens", func(t *testing.T) {
		if status, body := push(idp2Push, setOf(idp2Keys, idp2Server.URL, wikiApp)); status != http.StatusAccepted {
			t.Fatalf("IdP 2 ends the wiki's access: %d %s", status, body)
		}
		if apiWorks(carolToken) || !apiWorks(bobToken) {
			t.Errorf("after IdP 2 ended the wiki's access: Carol's token works %v, Bob's %v; want false, true", apiWorks(carolToken), apiWorks(bobToken))
		}
		if status, body := push(idp1Push, setOf(idp1Keys, s.topology.IdP, bobByEmail)); status != http.StatusAccepted {
			t.Fatalf("IdP 1 ends Bob's access: %d %s", status, body)
		}
		if apiWorks(bobToken) {
			t.Error("IdP 1's event about Bob did not end his token")
		}
	})
}

// diffLines is the lines of after that before lacks, and the reverse.
func diffLines(before, after string) string {
	in := func(text string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(text, "\n") {
			m[l] = true
		}
		return m
	}
	b, a := in(before), in(after)
	var out strings.Builder
	for _, l := range strings.Split(before, "\n") {
		if !a[l] {
			out.WriteString("- " + l + "\n")
		}
	}
	for _, l := range strings.Split(after, "\n") {
		if !b[l] {
			out.WriteString("+ " + l + "\n")
		}
	}
	return out.String()
}

// mainText is a page's main content without its markup, for messages.
func mainText(body string) string {
	if i := strings.Index(body, "<main>"); i >= 0 {
		body = body[i:]
	}
	return strings.Join(strings.Fields(htmlTag.ReplaceAllString(body, " ")), " ")
}

var htmlTag = regexp.MustCompile(`<[^>]*>`)
