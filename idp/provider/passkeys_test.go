package provider

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"xaa.example/idp/passkey"
	"xaa.example/shared/demo"
	"xaa.example/shared/op"
)

// browser carries one person's cookies from answer to request, in process.
type browser struct {
	t       *testing.T
	s       *Server
	cookies map[string]*http.Cookie
}

func (b *browser) do(method, target string, form url.Values) *httptest.ResponseRecorder {
	b.t.Helper()
	var req *http.Request
	if form != nil {
		req = httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.s.cfg.Issuer)
	} else {
		req = httptest.NewRequest(method, target, nil)
	}
	for _, c := range b.cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	b.s.Handler().ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		b.cookies[c.Name] = c
	}
	return rec
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signInWithPassword asks for a code for the wiki AS and gives bob's
// password on the page that answers.
func (b *browser) signInWithPassword(verifier string) *httptest.ResponseRecorder {
	b.t.Helper()
	ar := op.AuthRequest{ClientID: demo.WikiASClientAtIdP, RedirectURI: testTopology.WikiAS + "/federation/callback", ResponseType: "code",
		State: "st", Nonce: "n", Scope: "openid email", Challenge: s256(verifier), Method: "S256"}
	page := b.do(http.MethodGet, pathAuthorize+"?"+ar.Query().Encode(), nil)
	m := csrfField.FindStringSubmatch(page.Body.String())
	if page.Code != http.StatusOK || m == nil {
		b.t.Fatalf("the sign-in page: %d %s", page.Code, page.Body)
	}
	form := ar.Query()
	form.Set("csrf", m[1])
	form.Set("email", "bob@tables.fake")
	form.Set("password", demo.Password)
	return b.do(http.MethodPost, pathLogin, form)
}

// TestPasskeyRequiredHoldsPasswordSignIn: when bob's organisation requires
// a passkey, his right password gets no code, and no session either (the
// next request asks again); without the requirement it does, and the ID
// token says truthfully how he signed in (amr pwd, acr for a password).
func TestPasskeyRequiredHoldsPasswordSignIn(t *testing.T) {
	s := newTestIdP(t)
	bob := s.bob(t)
	if err := s.store.SetPasskeyRequired(t.Context(), bob.OrgID, true); err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, s: s, cookies: map[string]*http.Cookie{}}
	held := b.signInWithPassword("a-verifier-of-at-least-forty-three-characters-0001")
	if held.Code != http.StatusOK || !strings.Contains(held.Body.String(), "Confirm with your passkey") || held.Header().Get("Location") != "" {
		t.Fatalf("a password alone where a passkey is required: %d %s %s", held.Code, held.Header().Get("Location"), held.Body)
	}
	again := b.signInWithPassword("a-verifier-of-at-least-forty-three-characters-0002")
	if strings.Contains(again.Header().Get("Location"), "code=") {
		t.Fatalf("the held sign-in got a code on the next request: %s", again.Header().Get("Location"))
	}

	if err := s.store.SetPasskeyRequired(t.Context(), bob.OrgID, false); err != nil {
		t.Fatal(err)
	}
	verifier := "a-verifier-of-at-least-forty-three-characters-0003"
	signedIn := b.signInWithPassword(verifier)
	back, _ := url.Parse(signedIn.Header().Get("Location"))
	code := back.Query().Get("code")
	if signedIn.Code != http.StatusFound || code == "" {
		t.Fatalf("a password sign-in: %d %s", signedIn.Code, signedIn.Body)
	}
	status, tokens := s.exchange(t, demo.WikiASClientAtIdP, demo.WikiASSecretAtIdP, url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
		"redirect_uri": {testTopology.WikiAS + "/federation/callback"},
	}.Encode())
	idt, _ := tokens["id_token"].(string)
	if status != http.StatusOK || idt == "" {
		t.Fatalf("the code: %d %v", status, tokens)
	}
	c, e := s.op.VerifyIDToken(idt, demo.WikiASClientAtIdP)
	if e != nil || strings.Join(c.AMR, " ") != "pwd" || c.ACR != ACRPassword {
		t.Fatalf("the ID token of a password sign-in: %+v %v", c, e)
	}
}

// TestHeldSignInCannotAddASecondPasskey: a password sign-in held for the
// passkey bob already has cannot add another one to complete itself (a
// stolen password would then be enough); without a passkey, it may.
func TestHeldSignInCannotAddASecondPasskey(t *testing.T) {
	s := newTestIdP(t)
	bob := s.bob(t)
	if err := s.store.SetPasskeyRequired(t.Context(), bob.OrgID, true); err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, s: s, cookies: map[string]*http.Cookie{}}
	b.signInWithPassword("a-verifier-of-at-least-forty-three-characters-0001")
	if got := b.do(http.MethodPost, pathRegisterOptions, url.Values{}); got.Code != http.StatusOK {
		t.Fatalf("bob, with no passkey yet, may enrol one: %d %s", got.Code, got.Body)
	}
	if err := s.cfg.DB.Create(&passkey.Credential{ID: "bobs-phone", UserID: bob.ID, Data: []byte("{}")}).Error; err != nil {
		t.Fatal(err)
	}
	b.signInWithPassword("a-verifier-of-at-least-forty-three-characters-0002")
	for _, path := range []string{pathRegisterOptions, pathRegister} {
		if got := b.do(http.MethodPost, path, url.Values{}); got.Code != http.StatusForbidden || !strings.Contains(got.Body.String(), "already have a passkey") {
			t.Errorf("%s, held for bob's own passkey: %d %s", path, got.Code, got.Body)
		}
	}
	if n, _ := s.passkeys.Count(t.Context(), bob.ID); n != 1 {
		t.Errorf("bob has %d passkeys", n)
	}
}
