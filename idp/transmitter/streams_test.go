package transmitter

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/idp/audit"
	"xaa.example/idp/outbox"
	"xaa.example/shared/ssf"
	"xaa.example/shared/storage/storagetest"
)

// testSigner signs SETs with a key of the test's own.
type testSigner struct{ key *rsa.PrivateKey }

func (s testSigner) SignWith(alg jose.SignatureAlgorithm, typ string, claims any) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: s.key}, (&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

const (
	testIssuer     = "https://idp.test"
	myToken        = "todo-receiver-token"
	otherToken     = "other-receiver-token"
	todoReceiverID = "Todo app"
)

// newTestTransmitter is a transmitter of two receivers on a database of
// its own, and its routes.
func newTestTransmitter(t *testing.T) (*Transmitter, http.Handler) {
	t.Helper()
	db := storagetest.SQLite(t)
	log := slog.New(slog.DiscardHandler)
	ob, err := outbox.Open(db, time.Now, log)
	if err != nil {
		t.Fatal(err)
	}
	al, err := audit.Open(db, log)
	if err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := New(Config{Issuer: testIssuer, JWKSURI: testIssuer + "/keys", Keys: testSigner{key},
		Receivers: []Receiver{{Name: todoReceiverID, Token: myToken}, {Name: "Other", Token: otherToken}},
		DB:        db, Outbox: ob, Audit: al, Now: time.Now, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	tr.Routes(r)
	return tr, r
}

// call sends one stream management request as the receiver whose token it
// bears, and returns the status and the body.
func call(t *testing.T, h http.Handler, token, method, path, body string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// TestStreamManagement (issue 33, items 8 and 9): the transmitter's stream
// configuration as OpenID Shared Signals 1.0 §8.1 has it: create (one per
// receiver: a second is 409 and changes nothing), read one by stream_id or
// list them ([] when none), update (PATCH) and replace (PUT), delete by
// stream_id; status read and set (paused holds events); verification
// pushes an RS256 SET carrying the receiver's state. Another receiver
// finds none of it.
func TestStreamManagement(t *testing.T) {
	var mu sync.Mutex
	var pushed []string
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		pushed = append(pushed, string(b))
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(receiver.Close)
	received := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), pushed...)
	}
	tr, h := newTestTransmitter(t)
	mine, other := myToken, otherToken
	config := `{"aud":"https://todo.test","delivery":{"method":"urn:ietf:rfc:8935","endpoint_url":"` + receiver.URL + `/events","authorization_header":"Bearer push"},"events_requested":["` + ssf.EventSessionRevoked + `"],"description":"first"}`

	status, body := call(t, h, mine, http.MethodGet, PathStreams, "")
	if status != 200 || strings.TrimSpace(body) != "[]" {
		t.Fatalf("the list before any stream: %d %s", status, body)
	}
	status, body = call(t, h, mine, http.MethodPost, PathStreams, config)
	var created struct {
		StreamID string   `json:"stream_id"`
		Events   []string `json:"events_delivered"`
	}
	if status != http.StatusCreated || json.Unmarshal([]byte(body), &created) != nil || created.StreamID == "" {
		t.Fatalf("create: %d %s", status, body)
	}
	id := created.StreamID
	checks := []struct {
		name, token, method, path, body string
		status                          int
		has                             string
	}{
		{"a second create", mine, http.MethodPost, PathStreams, strings.Replace(config, "/events", "/elsewhere", 1), http.StatusConflict, "conflict"},
		{"the list", mine, http.MethodGet, PathStreams, "", 200, `"stream_id":"` + id + `"`},
		{"one by stream_id", mine, http.MethodGet, PathStreams + "?stream_id=" + id, "", 200, receiver.URL + "/events"},
		{"an unknown stream_id", mine, http.MethodGet, PathStreams + "?stream_id=nope", "", 404, "not_found"},
		{"another receiver reads it", other, http.MethodGet, PathStreams + "?stream_id=" + id, "", 404, "not_found"},
		{"another receiver's list", other, http.MethodGet, PathStreams, "", 200, "[]"},
		{"another receiver deletes it", other, http.MethodDelete, PathStreams + "?stream_id=" + id, "", 404, "not_found"},
		{"another receiver updates it", other, http.MethodPatch, PathStreams, `{"stream_id":"` + id + `","description":"mine now"}`, 404, "not_found"},
		{"an update without stream_id", mine, http.MethodPatch, PathStreams, `{"description":"x"}`, 400, "stream_id is required"},
		{"an update", mine, http.MethodPatch, PathStreams, `{"stream_id":"` + id + `","description":"second"}`, 200, `"description":"second"`},
		{"the update kept the rest", mine, http.MethodGet, PathStreams + "?stream_id=" + id, "", 200, ssf.EventSessionRevoked},
		{"a replace without aud", mine, http.MethodPut, PathStreams, `{"stream_id":"` + id + `","delivery":{"method":"urn:ietf:rfc:8935","endpoint_url":"` + receiver.URL + `/events"}}`, 400, "aud and delivery are required"},
		{"a replace", mine, http.MethodPut, PathStreams, `{"stream_id":"` + id + `","aud":"https://todo.test","delivery":{"method":"urn:ietf:rfc:8935","endpoint_url":"` + receiver.URL + `/events","authorization_header":"Bearer push"},"events_requested":["` + ssf.EventAccountDisabled + `"]}`, 200, ssf.EventAccountDisabled},
		{"the status", mine, http.MethodGet, PathStatus + "?stream_id=" + id, "", 200, `"status":"enabled"`},
		{"another receiver's status", other, http.MethodGet, PathStatus + "?stream_id=" + id, "", 404, "not_found"},
		{"an unknown status", mine, http.MethodPost, PathStatus, `{"stream_id":"` + id + `","status":"asleep"}`, 400, "enabled, paused or disabled"},
		{"paused", mine, http.MethodPost, PathStatus, `{"stream_id":"` + id + `","status":"paused","reason":"maintenance"}`, 200, `"status":"paused"`},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			status, body := call(t, h, c.token, c.method, c.path, c.body)
			if status != c.status || !strings.Contains(body, c.has) {
				t.Errorf("got %d %s, want %d with %q", status, body, c.status, c.has)
			}
		})
	}
	if st, err := tr.streamOf(t.Context(), todoReceiverID); err != nil || st.ID != id || st.Endpoint != receiver.URL+"/events" {
		t.Fatalf("the stream after the others tried: %+v %v", st, err)
	}

	// Verification: held while the stream is paused, pushed once enabled.
	if status, body := call(t, h, mine, http.MethodPost, PathVerify, `{"stream_id":"`+id+`","state":"are you there"}`); status != http.StatusNoContent {
		t.Fatalf("verify while paused: %d %s", status, body)
	}
	if got := received(); len(got) != 0 {
		t.Errorf("pushed while paused: %v", got)
	}
	call(t, h, mine, http.MethodPost, PathStatus, `{"stream_id":"`+id+`","status":"enabled"}`)
	if status, body := call(t, h, mine, http.MethodPost, PathVerify, `{"stream_id":"`+id+`","state":"still there?"}`); status != http.StatusNoContent {
		t.Fatalf("verify: %d %s", status, body)
	}
	got := received()
	if len(got) != 1 {
		t.Fatalf("verification SETs pushed: %d", len(got))
	}
	parts := strings.Split(got[0], ".")
	header, _ := base64.RawURLEncoding.DecodeString(parts[0])
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if !strings.Contains(string(header), `"alg":"RS256"`) || !strings.Contains(string(payload), ssf.EventVerification) ||
		!strings.Contains(string(payload), `"state":"still there?"`) || !strings.Contains(string(payload), `"id":"`+id+`"`) {
		t.Errorf("the verification SET: %s %s", header, payload)
	}

	// Delete: by stream_id alone.
	if status, body := call(t, h, mine, http.MethodDelete, PathStreams, ""); status != 400 {
		t.Errorf("delete without stream_id: %d %s", status, body)
	}
	if status, body := call(t, h, mine, http.MethodDelete, PathStreams+"?stream_id="+id, ""); status != http.StatusNoContent {
		t.Errorf("delete: %d %s", status, body)
	}
	if status, body := call(t, h, mine, http.MethodGet, PathStreams, ""); status != 200 || strings.TrimSpace(body) != "[]" {
		t.Errorf("the list after the delete: %d %s", status, body)
	}
}

// TestTransmitterMetadata: the transmitter names its status and
// verification endpoints beside its configuration endpoint (SSF §7.1).
func TestTransmitterMetadata(t *testing.T) {
	_, h := newTestTransmitter(t)
	req := httptest.NewRequest(http.MethodGet, "/.well-known/ssf-configuration", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var md map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &md); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"configuration_endpoint": PathStreams, "status_endpoint": PathStatus, "verification_endpoint": PathVerify} {
		if md[k] != testIssuer+want {
			t.Errorf("%s: %v", k, md[k])
		}
	}
	if md["jwks_uri"] != testIssuer+"/keys" {
		t.Errorf("jwks_uri: %v", md["jwks_uri"])
	}
}
