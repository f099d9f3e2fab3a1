package scimtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// Call sends one SCIM request to baseURL+path with a bearer token (none
// when empty) and returns the status and the decoded body (nil when empty).
func Call(t testing.TB, baseURL, token, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, baseURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/scim+json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if len(b) == 0 {
		return resp.StatusCode, nil
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: not JSON (%d): %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

// OktaUser is a user as Okta's provisioning creates it (Okta's SCIM 2.0
// reference, "Create the user"): userName, name, emails, displayName,
// locale, externalId, an empty groups list, a password, active.
func OktaUser(email, externalID, given string) string {
	return fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":%q,
		"name":{"givenName":%q,"familyName":"Tables"},"emails":[{"primary":true,"value":%q,"type":"work"}],
		"displayName":"%s Tables","locale":"en-US","externalId":%q,"groups":[],"password":"1mP@ssw0rd","active":true}`,
		email, given, email, given, externalID)
}

// HasSchema reports whether a SCIM body lists the schema.
func HasSchema(body map[string]any, schema string) bool {
	list, _ := body["schemas"].([]any)
	return slices.Contains(list, any(schema))
}
