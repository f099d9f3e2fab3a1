package todoapp

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
	"gorm.io/gorm"

	"xaa.example/shared/accesstoken"
	"xaa.example/shared/demo"
	"xaa.example/shared/keys"
	"xaa.example/shared/numericdate"
	"xaa.example/shared/ssf"
	"xaa.example/shared/storage/storagetest"
)

// TestRevocationFor: what each event revokes; an event type the receiver
// does not act on, or a subject it cannot match, revokes nothing (SSF:
// accepted and ignored).
func TestRevocationFor(t *testing.T) {
	at := time.Unix(1_800_000_000, 0)
	set := func(sub ssf.Subject) *ssf.SET {
		return &ssf.SET{ID: "s1", IssuedAt: jwt.NewNumericDate(at), Subject: sub}
	}
	email := ssf.Subject{Format: "email", Email: "Bob@Tables.fake"}
	app := ssf.Subject{Format: "complex", Application: &ssf.Subject{Format: "opaque", ID: "wiki-at-todo"}}
	rows := []struct {
		name      string
		eventType string
		subject   ssf.Subject
		kind      string // "" when nothing is revoked
		value     string
	}{
		{"account disabled, by email", ssf.EventAccountDisabled, email, revocationKindPerson, "bob@tables.fake"},
		{"session revoked, complex user", ssf.EventSessionRevoked, ssf.Subject{Format: "complex", User: &email}, revocationKindPerson, "bob@tables.fake"},
		{"session revoked for an app", ssf.EventSessionRevoked, app, revocationKindApp, "wiki-at-todo"},
		{"claims changed for an app", ssf.EventTokenClaimsChange, app, revocationKindApp, "wiki-at-todo"},
		{"an unknown event type", "https://example.com/event-type/unknown", email, "", ""},
		{"a subject it cannot match (iss_sub)", ssf.EventAccountDisabled, ssf.Subject{Format: "iss_sub", Iss: "https://idp", Sub: "00u1"}, "", ""},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			got, ok := revocationFor(row.eventType, ssf.Event{Timestamp: numericdate.New(at)}, set(row.subject))
			if row.kind == "" {
				if ok {
					t.Fatalf("revoked %+v", got)
				}
				return
			}
			if !ok || got.Kind != row.kind || got.Value != row.value || !got.Before.Equal(at) {
				t.Fatalf("got %+v %v", got, ok)
			}
		})
	}
}

// fakeTransmitter is an IdP as a receiver sees it: its discovery and key
// set, and its key to sign SETs with.
type fakeTransmitter struct {
	*httptest.Server
	keys *keys.Set
}

func newFakeTransmitter(t *testing.T) *fakeTransmitter {
	t.Helper()
	ks, err := keys.LoadOrCreate(context.Background(), storagetest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeTransmitter{Server: httptest.NewServer(http.NotFoundHandler()), keys: ks}
	t.Cleanup(f.Close)
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": f.URL, "jwks_uri": f.URL + "/jwks"})
	})
	mux.Handle("/jwks", ks)
	f.Config.Handler = mux
	return f
}

// set signs a SET of this transmitter (or claiming iss) about subject,
// whose event is now.
func (f *fakeTransmitter) set(t *testing.T, iss, audience string, subject ssf.Subject) string {
	return f.setAt(t, iss, audience, subject, numericdate.New(time.Now()))
}

// setAt signs a SET whose event happened at event.
func (f *fakeTransmitter) setAt(t *testing.T, iss, audience string, subject ssf.Subject, event *numericdate.Date) string {
	t.Helper()
	raw, err := ssf.Sign(f.keys, ssf.SET{Issuer: iss, Audience: jwt.Audience{audience}, IssuedAt: jwt.NewNumericDate(time.Now()), ID: rand.Text(),
		Subject: subject, Events: map[string]ssf.Event{ssf.EventSessionRevoked: {Timestamp: event}}})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// push delivers a SET to the app's receiver as a transmitter does.
func (f *mcpFixture) push(t *testing.T, auth, set string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.app.URL+"/ssf/events", strings.NewReader(set))
	req.Header.Set("Content-Type", ssf.MediaType)
	req.Header.Set("Authorization", auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// works reports whether the todo API takes token.
func (f *mcpFixture) works(t *testing.T, token string) bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.app.URL+"/api/todos", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

// TestATokenIssuedAfterTheEventWorks: an event ends the tokens issued
// before it and no other. A token issued after it in the same second
// works: the presenter's "Save, then My todos at once" got the new token
// revoked with the old ones (iat and event_timestamp had whole seconds).
// An event known to the second only (another transmitter's) ends every
// token of its second, as any may predate it.
func TestATokenIssuedAfterTheEventWorks(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		idp := newFakeTransmitter(t)
		f := newMCPFixtureEdited(t, db, func(c *Config) {
			c.Signals = &SignalsConfig{Transmitters: []Transmitter{{Issuer: idp.URL, Domains: []string{"tables.fake"}}}}
		})
		stream := f.appState.receiver.streams[0]
		tokenAt := func(email string, issued time.Time) string { return f.tokenIssuedAt(t, idp.URL, email, issued) }
		second := time.Now().Add(-10 * time.Second).Truncate(time.Second)
		event := second.Add(500 * time.Millisecond)

		// Bob: an event to the millisecond.
		before, after := tokenAt("bob@tables.fake", event.Add(-200*time.Millisecond)), tokenAt("bob@tables.fake", event.Add(200*time.Millisecond))
		bob := ssf.Subject{Format: "email", Email: "bob@tables.fake"}
		if status, body := f.push(t, stream.pushAuth, idp.setAt(t, idp.URL, f.app.URL, bob, numericdate.New(event))); status != http.StatusAccepted {
			t.Fatalf("push: %d %s", status, body)
		}
		if f.works(t, before) {
			t.Error("a token issued 200 ms before the event still works")
		}
		if !f.works(t, after) {
			t.Error("a token issued 200 ms after the event, in its second, was revoked")
		}

		// Admin: an event known to the second only.
		var whole numericdate.Date
		if err := json.Unmarshal([]byte(strconv.FormatInt(second.Unix(), 10)), &whole); err != nil {
			t.Fatal(err)
		}
		inSecond, nextSecond := tokenAt("admin@tables.fake", event.Add(200*time.Millisecond)), tokenAt("admin@tables.fake", second.Add(time.Second))
		admin := ssf.Subject{Format: "email", Email: "admin@tables.fake"}
		if status, body := f.push(t, stream.pushAuth, idp.setAt(t, idp.URL, f.app.URL, admin, &whole)); status != http.StatusAccepted {
			t.Fatalf("push: %d %s", status, body)
		}
		if f.works(t, inSecond) {
			t.Error("an event known to the second left a token of that second working")
		}
		if !f.works(t, nextSecond) {
			t.Error("an event known to the second revoked a token of the next second")
		}
	})
}

// TestEachTransmitterReachesOnlyItsPeople (issue 31): the app takes Shared
// Signals from two IdPs. Each IdP's events end only the tokens granted on
// its own ID-JAGs (the access token's idp claim), and a SET that names a
// person outside its domains is refused whole; a SET signed by one IdP
// and pushed with the other's credential, or claiming the other as its
// issuer, is refused. Nothing is revoked by a refused push.
func TestEachTransmitterReachesOnlyItsPeople(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		idp1, idp2 := newFakeTransmitter(t), newFakeTransmitter(t)
		f := newMCPFixtureEdited(t, db, func(c *Config) {
			c.Signals = &SignalsConfig{Transmitters: []Transmitter{
				{Issuer: idp1.URL, Domains: []string{"tables.fake"}},
				{Issuer: idp2.URL, Domains: []string{"idp2.test"}},
			}}
		})
		streams := f.appState.receiver.streams
		push := func(auth, set string) (int, string) { return f.push(t, auth, set) }
		revocations := func() string {
			var rows []Revocation
			db.Order("id").Find(&rows)
			return fmt.Sprint(len(rows))
		}
		// Bob's token was granted on IdP 1's ID-JAG, Carol's on IdP 2's;
		// both by the same app.
		bob := f.tokenFrom(t, idp1.URL, "bob@tables.fake")
		carol := f.tokenFrom(t, idp2.URL, "carol@idp2.test")
		works := func(token string) bool { return f.works(t, token) }
		bobSubject := ssf.Subject{Format: "email", Email: "bob@tables.fake"}
		theApp := ssf.Subject{Format: "complex", Application: &ssf.Subject{Format: "opaque", ID: "agent-at-todo"}}
		for _, row := range []struct {
			name      string
			auth, set string
			status    int
			code      string
		}{
			{"IdP 2 names IdP 1's person", streams[1].pushAuth, idp2.set(t, idp2.URL, f.app.URL, bobSubject), 400, ssf.ErrAccessDenied},
			{"IdP 2 signs as IdP 1, pushed with IdP 2's credential", streams[1].pushAuth, idp2.set(t, idp1.URL, f.app.URL, bobSubject), 400, ssf.ErrInvalidIssuer},
			{"IdP 2 signs as IdP 1, pushed with IdP 1's credential", streams[0].pushAuth, idp2.set(t, idp1.URL, f.app.URL, bobSubject), 400, ssf.ErrInvalidKey},
			{"IdP 2's SET pushed with IdP 1's credential", streams[0].pushAuth, idp2.set(t, idp2.URL, f.app.URL, theApp), 400, ssf.ErrInvalidKey},
		} {
			t.Run(row.name, func(t *testing.T) {
				before := revocations()
				status, body := push(row.auth, row.set)
				if status != row.status || !strings.Contains(body, `"err":"`+row.code+`"`) {
					t.Fatalf("got %d %s, want %d %s", status, body, row.status, row.code)
				}
				if after := revocations(); after != before {
					t.Errorf("revocations %s → %s", before, after)
				}
				if !works(bob) || !works(carol) {
					t.Error("a refused SET ended a token")
				}
			})
		}
		// IdP 2 ends the app's access: Carol's token ends, Bob's (IdP 1's
		// person, same app) does not.
		if status, body := push(streams[1].pushAuth, idp2.set(t, idp2.URL, f.app.URL, theApp)); status != http.StatusAccepted {
			t.Fatalf("IdP 2's own event: %d %s", status, body)
		}
		if works(carol) || !works(bob) {
			t.Errorf("after IdP 2 ended the app's access: Carol's token works %v, Bob's %v; want false, true", works(carol), works(bob))
		}
		// IdP 1 ends Bob's: his tokens end, at the API and at the MCP
		// server alike (a bearer token there was not checked before).
		bobAtMCP, _, err := accesstoken.Issue(f.keys, accesstoken.Claims{Issuer: f.as.URL, Subject: demo.AccountID("bob@tables.fake"),
			Audience: jwt.Audience{f.app.URL + "/mcp"}, ClientID: "agent-at-todo", Scope: "todos.read", Email: "bob@tables.fake", IdP: idp1.URL},
			time.Now().Add(-2*time.Second), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if resp, body := f.rpc(t, bobAtMCP, toolsList); resp.StatusCode != 200 {
			t.Fatalf("Bob's MCP token before the event: %d %s", resp.StatusCode, body)
		}
		if status, body := push(streams[0].pushAuth, idp1.set(t, idp1.URL, f.app.URL, bobSubject)); status != http.StatusAccepted {
			t.Fatalf("IdP 1's own event: %d %s", status, body)
		}
		if works(bob) {
			t.Error("IdP 1's event about Bob did not end his token")
		}
		if resp, body := f.rpc(t, bobAtMCP, toolsList); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "revoked") {
			t.Errorf("Bob's MCP token after the event: %d %s", resp.StatusCode, body)
		}
	})
}

// TestConfigRefusesWildcardTransmitter: beside another transmitter, one
// with no email domains would end that one's people's access (issue 31).
func TestConfigRefusesWildcardTransmitter(t *testing.T) {
	c := DefaultConfig(demo.Local())
	c.DB = &gorm.DB{}
	if err := c.Validate(); err != nil {
		t.Fatalf("the demo's configuration: %v", err)
	}
	c.Signals.Transmitters = append(c.Signals.Transmitters, Transmitter{Issuer: "https://idp2.test"})
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "https://idp2.test: with several transmitters, each must name its email domains") {
		t.Errorf("got %v", err)
	}
}
