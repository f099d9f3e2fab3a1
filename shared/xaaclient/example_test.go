package xaaclient_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"xaa.example/shared/oauth"
	"xaa.example/shared/xaaclient"
)

// The requesting app asks its authorization server for an ID-JAG, and
// checks the answer is one before using it.
func ExampleRequestIDJAG() {
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _, _ := r.BasicAuth()
		if id != "wiki" || r.FormValue("requested_token_type") != oauth.TokenTypeIDJAG {
			oauth.WriteError(w, nil, oauth.InvalidRequest("unexpected request"))
			return
		}
		oauth.WriteJSON(w, 200, oauth.TokenResponse{
			AccessToken: "eyJ...ID-JAG", IssuedTokenType: oauth.TokenTypeIDJAG, TokenType: "N_A", ExpiresIn: 300, Scope: "todos.read",
		})
	}))
	defer as.Close()

	resp, err := xaaclient.RequestIDJAG(context.Background(), as.Client(), as.URL+"/token",
		xaaclient.Credentials{ClientID: "wiki", ClientSecret: "secret"},
		xaaclient.IDJAGRequest{
			SubjectToken: "the wiki's ID token",
			Audience:     "https://todo-as.example",
			Resource:     "https://todo.example/api",
			Scope:        oauth.ParseScopes("todos.read"),
		})
	fmt.Println(resp.Token, resp.Scope, err)
	// Output: eyJ...ID-JAG todos.read <nil>
}

// An answer that is not an ID-JAG is refused, even with status 200.
func ExampleRequestIDJAG_notAnIDJAG() {
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		oauth.WriteJSON(w, 200, oauth.TokenResponse{AccessToken: "opaque", TokenType: "Bearer"})
	}))
	defer as.Close()
	_, err := xaaclient.RequestIDJAG(context.Background(), as.Client(), as.URL+"/token",
		xaaclient.Credentials{ClientID: "wiki", ClientSecret: "secret"},
		xaaclient.IDJAGRequest{SubjectToken: "t", Audience: "https://todo-as.example"})
	fmt.Println(err)
	// Output: token exchange answered issued_token_type "", want urn:ietf:params:oauth:token-type:id-jag
}
