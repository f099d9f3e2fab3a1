package e2e

import (
	"html"
	"regexp"
	"strings"
	"testing"

	"xaa.example/shared/demo"
)

// TestForeignSAMLIdPReachesOnlyItsOrganisation (issue 31, takeover 1): an
// organisation's own SAML IdP (samlify), trusted for tables.fake3 alone,
// asserts as NameID the local IdP's id for Bob, who signed in before from
// tables.fake. Its NameIDs are its own, not the local IdP's subjects: the
// browser is not signed in as Bob, and Bob's account and links are as
// they were. Asserting Bob's address itself is refused outright.
func TestForeignSAMLIdPReachesOnlyItsOrganisation(t *testing.T) {
	t.Parallel()
	dir := installForeignSAMLIdP(t)
	var foreign *foreignSAMLIdP
	s := startStack(t, sqliteDB, func(c *configs) {
		foreign = startForeignSAMLIdP(t, dir, c.wikiAS.Issuer+"/saml/metadata")
		c.wikiAS.Tenants[1].IdP.Issuer = foreign.Metadata()
		// The organisation's own IdP is no OAuth server: no token issuer.
		c.wikiAS.Tenants[1].IdP.TokenIssuer = ""
	})
	bob := newBrowser(t)
	if home := bob.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password); signedInAs(home.Body) != "Bobby Tables" {
		t.Fatalf("Bob's own sign-in: %d\n%.1000s", home.Status, home.Body)
	}
	var bobSub string
	if err := s.dbs["idp"].Table("users").Select("id").Where("email = ?", "bob@tables.fake").Row().Scan(&bobSub); err != nil {
		t.Fatal(err)
	}
	links := func() string {
		return dump(t, s.dbs["wiki-as"], "SELECT issuer, tenant, subject, user_id FROM links ORDER BY issuer, subject")
	}
	before := links()

	foreign.assertNext(bobSub, "foo@tables.fake3", "Foo of Tables3")
	b := newBrowser(t)
	landed := foreign.signIn(b, s.topology.Wiki, "foo@tables.fake3")
	if who := signedInAs(landed.Body); who == "Bobby Tables" || strings.Contains(b.get(s.topology.WikiAS+"/").Body, "bob@tables.fake") {
		t.Fatalf("the organisation's own SAML IdP signed the browser in as Bob:\n%.1500s", landed.Body)
	}
	if who := signedInAs(landed.Body); who != "Foo of Tables3" {
		t.Errorf("signed in as %q, want its own person: %d\n%.1500s", who, landed.Status, landed.Body)
	}
	// Its people get no ID-JAGs (their IdP issues none), and the wiki
	// says so, not "sign in again".
	if todos := b.get(s.topology.Wiki + "/todos"); !strings.Contains(todos.Body, "Your identity provider cannot vouch for you here") {
		t.Errorf("My todos for a person of the organisation's own SAML IdP: %d\n%.1500s", todos.Status, todos.Body)
	}
	// Bob's link stands as it was; the one new link is under the IdP's
	// entity ID, to another account.
	after := links()
	var added []string
	for _, line := range strings.Split(strings.TrimSpace(after), "\n") {
		if !strings.Contains(before, line+"\n") {
			added = append(added, line)
		}
	}
	bobAccount := strings.TrimSpace(before[strings.LastIndex(strings.TrimSpace(before), " "):])
	if len(strings.Split(strings.TrimSpace(after), "\n")) != len(added)+1 || len(added) != 1 ||
		!strings.HasPrefix(added[0], "issuer="+foreign.Metadata()+" ") || strings.HasSuffix(added[0], " "+bobAccount) {
		t.Errorf("links before:\n%s\nafter:\n%s\nwant one new link under the IdP's entity ID, to another account than Bob's (%s)", before, after, bobAccount)
	}

	foreign.assertNext(bobSub, "bob@tables.fake", "Bobby Tables")
	before = links()
	refused := foreign.signIn(newBrowser(t), s.topology.Wiki, "foo@tables.fake3")
	if refused.Status != 403 || !strings.Contains(refused.Body, "Another organisation") {
		t.Errorf("Bob's own address from the organisation's SAML IdP: %d\n%.1500s", refused.Status, refused.Body)
	}
	if after := links(); after != before {
		t.Errorf("the refused sign-in changed the links:\n%s\n→\n%s", before, after)
	}
}

var whoIsSignedIn = regexp.MustCompile(`<div class="who"><span>([^<]*)</span>`)

// signedInAs is the name an app's page shows as signed in, or "".
func signedInAs(body string) string {
	if m := whoIsSignedIn.FindStringSubmatch(body); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}
