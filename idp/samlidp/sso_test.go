package samlidp

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml"
	"github.com/gin-gonic/gin"

	"xaa.example/shared/replay/replaydb"
	"xaa.example/shared/samlcred"
	"xaa.example/shared/storage"
	"xaa.example/shared/storage/storagetest"
)

// foo is the one person of the test IdP's directory, signed in there, of
// the organisation that signs in to the service provider with SAML.
var foo = Person{ID: "00ufoo", Email: "foo@tables.fake3", Name: "Foo Tables", OrgID: "00othree"}

type directory struct{}

func (directory) Person(_ context.Context, id string) (*Person, error) {
	if id != foo.ID {
		return nil, storage.ErrNotFound
	}
	p := foo
	return &p, nil
}

func (directory) OrgName(context.Context, string) (string, error) { return "Tables Three", nil }

type signedIn struct{}

func (signedIn) SignedIn(context.Context) (string, time.Time) {
	return foo.ID, time.Now().Add(-time.Minute)
}
func (signedIn) Forget(context.Context) {}

type noBag struct{}

func (noBag) Put(context.Context, string, any)     {}
func (noBag) PopBool(context.Context, string) bool { return false }

// ssoFixture is the SAML IdP on a test server with one registered service
// provider, and a real AuthnRequest of that service provider (crewjam's
// ServiceProvider, as the authorization servers' connector makes them).
type ssoFixture struct {
	idp     *httptest.Server
	sp      *saml.ServiceProvider
	request []byte // the AuthnRequest's XML
	sso     *url.URL
}

func newSSOFixture(t *testing.T) *ssoFixture {
	t.Helper()
	ctx := context.Background()
	db := storagetest.SQLite(t)
	replays, err := replaydb.New(db)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(nil)
	t.Cleanup(srv.Close)
	i, err := New(ctx, Config{
		Issuer: srv.URL, LoginPath: "/login", DB: db, Directory: directory{}, Sessions: signedIn{}, Bag: noBag{},
		Replay: samlcred.ReplayCache{Store: replays},
		ErrorPage: func(w http.ResponseWriter, _ *http.Request, status int, title, message string) {
			w.WriteHeader(status)
			fmt.Fprintf(w, "<h1>%s</h1><p>%s</p>", title, message)
		},
		Now: time.Now, Log: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	i.Routes(r)
	srv.Config.Handler = r

	spURL := "https://wiki-as.example"
	if err := i.Configured(ctx, []App{{EntityID: spURL + "/saml/metadata", ACSURL: spURL + "/saml/acs", ClientID: "wiki-as", OrgIDs: foo.OrgID}}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(srv.URL + PathMetadata)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var md saml.EntityDescriptor
	if err := xml.Unmarshal(raw, &md); err != nil {
		t.Fatalf("the IdP's metadata: %v", err)
	}
	entity, _ := url.Parse(spURL + "/saml/metadata")
	acs, _ := url.Parse(spURL + "/saml/acs")
	sp := &saml.ServiceProvider{EntityID: entity.String(), MetadataURL: *entity, AcsURL: *acs, IDPMetadata: &md}
	sso, err := sp.MakeRedirectAuthenticationRequest("relay")
	if err != nil {
		t.Fatal(err)
	}
	compressed, _ := base64.StdEncoding.DecodeString(sso.Query().Get("SAMLRequest"))
	request, err := io.ReadAll(flate.NewReader(bytes.NewReader(compressed)))
	if err != nil {
		t.Fatal(err)
	}
	return &ssoFixture{idp: srv, sp: sp, request: request, sso: sso}
}

func deflate(b []byte) string {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	_, _ = w.Write(b)
	_ = w.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

// TestSSOHostile: what a browser may bring to /saml/sso instead of a
// service provider's AuthnRequest is refused with a page that says why,
// without reading more than a request's worth: a deflate bomb is not
// inflated whole.
func TestSSOHostile(t *testing.T) {
	f := newSSOFixture(t)
	// 200 MB of zeros, about 200 KB deflated.
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	zeros := make([]byte, 1<<20)
	for range 200 {
		_, _ = w.Write(zeros)
	}
	_ = w.Close()
	bomb := base64.StdEncoding.EncodeToString(buf.Bytes())

	entity, acs := f.sp.EntityID, f.sp.AcsURL.String()
	for _, row := range []struct{ name, samlRequest, why string }{
		{"a deflate bomb (200 MB of zeros)", bomb, "could not be read"},
		{"not base64", "%%%", "could not be read"},
		{"not deflated", base64.StdEncoding.EncodeToString(f.request), "could not be read"},
		{"not XML", deflate([]byte("hello")), "could not be read"},
		{"a DTD with an external entity", deflate(append([]byte(`<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>`), f.request...)), "could not be read"},
		{"a service provider the IdP does not know", deflate(bytes.ReplaceAll(f.request, []byte(entity), []byte("https://sp.evil.example/saml/metadata"))), "not registered"},
		{"an ACS address the service provider has not registered", deflate(bytes.ReplaceAll(f.request, []byte(acs), []byte("https://evil.example/saml/acs"))), "has not registered here"},
	} {
		t.Run(row.name, func(t *testing.T) {
			q := url.Values{"SAMLRequest": {row.samlRequest}, "RelayState": {"relay"}}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			resp, err := http.Get(f.idp.URL + PathSSO + "?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			runtime.ReadMemStats(&after)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "Sign-in request refused") || !strings.Contains(string(body), row.why) {
				t.Fatalf("got %d, want 400 saying %q\n%.1500s", resp.StatusCode, row.why, body)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 32<<20 {
				t.Errorf("answering it allocated %d MB", grew>>20)
			}
		})
	}
	// The request itself, as made, is answered with the signed response.
	resp, err := http.Get(f.sso.String())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `name="SAMLResponse"`) {
		t.Errorf("the real AuthnRequest: %d\n%.1500s", resp.StatusCode, body)
	}
}
