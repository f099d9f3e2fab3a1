package authserver

import (
	"strings"
	"testing"

	"xaa.example/shared/jwtbearer"
)

// TestAudSubHostile (issue 35, item 5): an ID-JAG's aud_sub, this
// server's own id for the person as the IdP's provisioning learned it, is
// read first; it must be the account the IdP's subject is linked to here.
// An aud_sub of another person, of no one, for a subject never linked or
// for another tenant's subject is refused, with nothing stored, even where
// just-in-time accounts would otherwise be made.
func TestAudSubHostile(t *testing.T) {
	r := newResourceAS(t)
	wiki := [2]string{"wiki-at-todo", "wiki-secret"}
	// Two people known here, linked by earlier grants.
	account := func(sub, email string) string {
		c := r.claims()
		c["sub"], c["email"] = sub, email
		status, body, _ := r.post(t, wiki, bearerForm(r.idjag(t, c)))
		if status != 200 {
			t.Fatalf("linking %s: %d %v", email, status, body)
		}
		return accountOf(t, r, sub)
	}
	bob, john := account("00u-bob", "bob@tables.fake"), account("00u-john", "john@tables.fake")
	withAudSub := func(sub, tenant, audSub string) map[string]any {
		c := r.claims()
		c["sub"], c["email"], c["aud_sub"] = sub, "bob@tables.fake", audSub
		if tenant != "" {
			c["tenant"] = tenant
		}
		return c
	}
	for _, row := range []struct {
		name   string
		claims map[string]any
		ok     bool
	}{
		{"control: bob's own id here", withAudSub("00u-bob", "", bob), true},
		{"john's id in bob's ID-JAG", withAudSub("00u-bob", "", john), false},
		{"an id of no one", withAudSub("00u-bob", "", "no-such-account"), false},
		{"a subject never linked, naming bob's account (JIT would allow the email)", withAudSub("00u-stranger", "", bob), false},
		{"bob's account, for another tenant's subject", withAudSub("00u-bob", "another-tenant", bob), false},
	} {
		before := r.stored(t)
		status, body, _ := r.post(t, wiki, bearerForm(r.idjag(t, row.claims)))
		switch {
		case row.ok && status != 200:
			t.Errorf("%s: %d %v", row.name, status, body)
		case row.ok && !strings.Contains(subjectDetail(r), "found by aud_sub"):
			t.Errorf("%s: the console does not say aud_sub found the account: %q", row.name, subjectDetail(r))
		case !row.ok && (status != 400 || body["error"] != "invalid_grant" || r.failedCheck() != jwtbearer.CheckSubject):
			t.Errorf("%s: %d %v (refused by %q), want invalid_grant at R12", row.name, status, body, r.failedCheck())
		case !row.ok && r.stored(t) != before:
			t.Errorf("%s: a refused grant stored something: %v → %v", row.name, before, r.stored(t))
		}
	}
}

// accountOf is the account the subject is linked to here.
func accountOf(t *testing.T, r *resourceAS, sub string) string {
	t.Helper()
	var l Link
	if err := r.db.Take(&l, "issuer = ? AND subject = ?", testIdP, sub).Error; err != nil {
		t.Fatal(err)
	}
	return l.UserID
}

// subjectDetail is what check R12 said of the last grant.
func subjectDetail(r *resourceAS) string {
	for _, step := range r.server.cfg.Trace.Steps(r.lastTrace) {
		for _, c := range step.Checks {
			if c.ID == jwtbearer.CheckSubject {
				return c.Detail
			}
		}
	}
	return ""
}
