package scim_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"xaa.example/shared/npmtest"
	"xaa.example/shared/scim/scimtest"
)

// scimmyVersion is the release of SCIMMY (a SCIM 2.0 library for Node that
// no one here wrote, strict about its schemas) the interoperability test
// installs from the npm registry.
const scimmyVersion = "1.3.5"

// scimmyReader reads a SCIM document from stdin as the schema named in
// argv[2] and prints "ok", or SCIMMY's refusal.
const scimmyReader = `import SCIMMY from "scimmy";
let input = "";
for await (const chunk of process.stdin) input += chunk;
try {
  new SCIMMY.Schemas[process.argv[2]](JSON.parse(input), "in");
  console.log("ok");
} catch (e) {
  console.log("refused: " + e.message);
}
`

// TestDocumentsAStrictClientReads (issue 33, SCIM 1): a strict client
// library reads the service's discovery document and its User resources;
// an empty string where the schema wants a URI made it refuse the whole
// ServiceProviderConfig.
func TestDocumentsAStrictClientReads(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	dir := npmtest.Install(ctx, t, "the SCIM interoperability test (SCIMMY)", map[string]string{
		"package.json": `{"name":"scim-interop","private":true,"type":"module","dependencies":{"scimmy":"` + scimmyVersion + `"}}`,
		"read.mjs":     scimmyReader,
	})
	svc := newService(t)
	status, created := svc.call(t, token, http.MethodPost, "/Users", scimtest.OktaUser("erin@tables.fake", "00u-erin", "Erin"))
	if status != http.StatusCreated {
		t.Fatalf("create: %d", status)
	}
	read := func(schema, path string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, svc.srv.URL+"/scim/v2"+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		cmd := exec.CommandContext(ctx, "node", "read.mjs", schema)
		cmd.Dir, cmd.Stdin, cmd.Env = dir, resp.Body, os.Environ()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("node: %v\n%s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if got := read("ServiceProviderConfig", "/ServiceProviderConfig"); got != "ok" {
		t.Errorf("SCIMMY reads /ServiceProviderConfig: %s", got)
	}
	if got := read("User", "/Users/"+created["id"].(string)); got != "ok" {
		t.Errorf("SCIMMY reads a User: %s", got)
	}
}
