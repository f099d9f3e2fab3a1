package debugconsole_test

import (
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"xaa.example/debugconsole"
	"xaa.example/debugconsole/snippettest"
	"xaa.example/shared/dpop"
	"xaa.example/shared/replay/replaytest"
	"xaa.example/shared/trace"
)

// received is a request as the test server saw it.
type received struct {
	Method, Path, RawQuery string
	User, Password, Bearer string
	// DPoPToken is the access token sent as Authorization: DPoP; Proof is
	// "valid" when the DPoP proof passed shared/dpop's checks for this
	// request (and that token), else why not.
	DPoPToken, Proof string
	ContentType      string
	Form             url.Values
	Body             string
}

// TestSnippetsRun runs every snippet of the Code tab whose toolchain is on
// this machine (curl, Node, Python, Java, Go; C# when dotnet is) against a
// local server, with the hidden values set in the environment, and checks
// that each sends the request the step recorded.
func TestSnippetsRun(t *testing.T) {
	var mu sync.Mutex
	var got *received
	var srv *httptest.Server
	proofs := &dpop.Verifier{Replay: &replaytest.Memory{}}
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec := &received{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Body: string(body)}
		rec.User, rec.Password, _ = r.BasicAuth()
		if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			rec.Bearer = b
		}
		if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "DPoP "); ok {
			rec.DPoPToken = b
		}
		if values := r.Header.Values("DPoP"); len(values) > 0 {
			rec.Proof = "valid"
			if _, err := proofs.Verify(r.Context(), dpop.Request{Proofs: values, Method: r.Method, URL: srv.URL + r.URL.Path, AccessToken: rec.DPoPToken}); err != nil {
				rec.Proof = err.Error()
			}
		}
		rec.ContentType, _, _ = mime.ParseMediaType(r.Header.Get("Content-Type"))
		if rec.ContentType == "application/x-www-form-urlencoded" {
			rec.Form, _ = url.ParseQuery(string(body))
		}
		mu.Lock()
		got = rec
		mu.Unlock()
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()

	// The snippets' DPoP key, as openssl genpkey writes one.
	keyFile := snippettest.DPoPKeyFile(t)
	// Values the console hides; awkward characters on purpose.
	env := map[string]string{
		"DPOP_KEY":      keyFile,
		"CLIENT_SECRET": `s3cr:et &+=%"'$x`,
		"SUBJECT_TOKEN": "eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl",
		"ASSERTION":     "eyJ0eXAiOi.eyJpc3MiOi.c2ln-_",
		"ACCESS_TOKEN":  "eyJraWQiOi.eyJhdWQiOi.c2lnYXQ",
	}
	exchange := debugconsole.Step{Step: trace.Step{Method: "POST", URL: srv.URL + "/oauth2/v1/token", Request: trace.Message{
		Headers: [][2]string{{"Authorization", "Basic [redacted] (client_id wiki-as, secret hidden)"}, {"Content-Type", "application/x-www-form-urlencoded"}},
		Body: "audience=http://localhost:5001\ngrant_type=urn:ietf:params:oauth:grant-type:token-exchange\nrequested_token_type=urn:ietf:params:oauth:token-type:id-jag\n" +
			"resource=http://localhost:3001/api\nscope=todos.read todos.write\nsubject_token=eyJhbGciOi.eyJzdWIiOi.[signature removed]\nsubject_token_type=urn:ietf:params:oauth:token-type:id_token",
	}}}
	redeem := debugconsole.Step{Step: trace.Step{Method: "POST", URL: srv.URL + "/token", Request: trace.Message{
		Headers: [][2]string{{"Content-Type", "application/x-www-form-urlencoded"}},
		Body:    "assertion=eyJ0eXAiOi.eyJpc3MiOi.[signature removed]\nclient_id=wiki-at-todo\nclient_secret=[redacted]\ngrant_type=urn:ietf:params:oauth:grant-type:jwt-bearer\nscope=todos.read",
	}}}
	list := debugconsole.Step{Step: trace.Step{Method: "GET", URL: srv.URL + "/api/todos?limit=50&cursor=MC4x", Request: trace.Message{
		Headers: [][2]string{{"Authorization", "Bearer eyJraWQiOi.eyJhdWQiOi.[signature removed]"}, {"Accept", "application/json"}},
	}}}
	add := debugconsole.Step{Step: trace.Step{Method: "POST", URL: srv.URL + "/api/todos", Request: trace.Message{
		Headers: [][2]string{{"Authorization", "Bearer eyJraWQiOi.eyJhdWQiOi.[signature removed]"}, {"Content-Type", "application/json"}},
		Body:    `{"title":"Buy \"milk\" & eggs, 50% off\\n"}`,
	}}}
	// The same redeem and call as the wiki makes them with DPoP on: each
	// snippet makes its own proof.
	dpopRedeem := debugconsole.Step{Step: trace.Step{Method: "POST", URL: srv.URL + "/token", Request: trace.Message{
		Headers: [][2]string{{"Content-Type", "application/x-www-form-urlencoded"}, {"Dpop", "eyJ0eXAiOiJkcG9wK2p3dCJ9.eyJodG0iOiJQT1NUIn0.[signature removed]"}},
		Body:    redeem.Request.Body,
	}}}
	dpopList := debugconsole.Step{Step: trace.Step{Method: "GET", URL: srv.URL + "/api/todos?limit=50&cursor=MC4x", Request: trace.Message{
		Headers: [][2]string{{"Authorization", "DPoP eyJraWQiOi.eyJhdWQiOi.[signature removed]"}, {"DPoP", "eyJ0eXAiOiJkcG9wK2p3dCJ9.eyJodG0iOiJHRVQifQ.[signature removed]"}, {"Accept", "application/json"}},
	}}}
	want := map[string]received{
		"exchange": {Method: "POST", Path: "/oauth2/v1/token", User: "wiki-as", Password: env["CLIENT_SECRET"], ContentType: "application/x-www-form-urlencoded", Form: url.Values{
			"audience": {"http://localhost:5001"}, "grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"},
			"requested_token_type": {"urn:ietf:params:oauth:token-type:id-jag"}, "resource": {"http://localhost:3001/api"},
			"scope": {"todos.read todos.write"}, "subject_token": {env["SUBJECT_TOKEN"]}, "subject_token_type": {"urn:ietf:params:oauth:token-type:id_token"},
		}},
		"redeem": {Method: "POST", Path: "/token", ContentType: "application/x-www-form-urlencoded", Form: url.Values{
			"assertion": {env["ASSERTION"]}, "client_id": {"wiki-at-todo"}, "client_secret": {env["CLIENT_SECRET"]},
			"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "scope": {"todos.read"},
		}},
		"list":      {Method: "GET", Path: "/api/todos", RawQuery: "limit=50&cursor=MC4x", Bearer: env["ACCESS_TOKEN"]},
		"dpop-list": {Method: "GET", Path: "/api/todos", RawQuery: "limit=50&cursor=MC4x", DPoPToken: env["ACCESS_TOKEN"], Proof: "valid"},
		"add":       {Method: "POST", Path: "/api/todos", Bearer: env["ACCESS_TOKEN"], ContentType: "application/json", Body: `{"title":"Buy \"milk\" & eggs, 50% off\\n"}`},
	}
	want["dpop-redeem"] = want["redeem"]
	w := want["dpop-redeem"]
	w.Proof = "valid"
	want["dpop-redeem"] = w
	steps := map[string]debugconsole.Step{"exchange": exchange, "redeem": redeem, "list": list, "add": add, "dpop-redeem": dpopRedeem, "dpop-list": dpopList}

	for name, step := range steps {
		for _, sn := range debugconsole.Snippets(step) {
			if !snippettest.Runnable(sn) {
				continue // the xaaclient snippet is a fragment to read, not a program
			}
			t.Run(name+"/"+sn.Key, func(t *testing.T) {
				mu.Lock()
				got = nil
				mu.Unlock()
				out := snippettest.Run(t, sn, env)
				if sn.Key != "curl" && !strings.HasPrefix(strings.TrimSpace(out), "200") {
					t.Errorf("the %s snippet printed %q, want the status and body", sn.Label, out)
				}
				mu.Lock()
				defer mu.Unlock()
				if got == nil {
					t.Fatalf("the %s snippet sent nothing", sn.Label)
				}
				w := want[name]
				if w.Form == nil {
					got.Form = nil
				}
				if w.Form != nil || w.Body == "" {
					got.Body, w.Body = "", ""
				}
				if !reflect.DeepEqual(*got, w) {
					t.Errorf("the %s snippet sent\n%+v\nwant\n%+v\n--- snippet ---\n%s", sn.Label, *got, w, sn.Code)
				}
			})
		}
	}
}
