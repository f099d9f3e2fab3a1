package todoapp

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"xaa.example/shared/demo"
	"xaa.example/shared/npmtest"
)

// typeScriptSDK is the MCP TypeScript SDK release the interoperability
// test installs from the npm registry.
const typeScriptSDK = "1.32.2"

// typeScriptAgent connects to MCP_URL with ACCESS_TOKEN, lists the tools,
// reads todos and tries to add one; it prints what it got as JSON.
const typeScriptAgent = `import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
const transport = new StreamableHTTPClientTransport(new URL(process.env.MCP_URL), {
  requestInit: { headers: { Authorization: "Bearer " + process.env.ACCESS_TOKEN } },
});
const client = new Client({ name: "ts-interop", version: "1.0.0" });
await client.connect(transport);
const out = { tools: (await client.listTools()).tools.map((t) => t.name).sort() };
out.listed = (await client.callTool({ name: "list_todos", arguments: { limit: 5 } })).structuredContent;
try {
  out.added = (await client.callTool({ name: "add_todo", arguments: { title: "Added by a TypeScript agent" } })).structuredContent;
} catch (e) {
  out.addError = String(e);
}
console.log(JSON.stringify(out));
await client.close();
`

// TestMCPServerWithTypeScriptClient: a client no one here wrote, the MCP
// TypeScript SDK installed from npm in the test's own folder, lists the
// tools, reads and adds todos with a write token, and is refused a write
// with a read-only one.
func TestMCPServerWithTypeScriptClient(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	dir := npmtest.Install(ctx, t, "the MCP interoperability test", map[string]string{
		"package.json": `{"name":"mcp-interop","private":true,"type":"module","dependencies":{"@modelcontextprotocol/sdk":"` + typeScriptSDK + `"}}`,
		"agent.mjs":    typeScriptAgent,
	})
	f := newMCPFixture(t)
	run := func(scope string) map[string]any {
		t.Helper()
		cmd := exec.CommandContext(ctx, "node", "agent.mjs")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "MCP_URL="+f.app.URL+"/mcp", "ACCESS_TOKEN="+f.token(t, f.app.URL+"/mcp", scope, "bob@tables.fake"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("the TypeScript client failed: %v\n%s", err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		var got map[string]any
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
			t.Fatalf("the TypeScript client printed %s", out)
		}
		return got
	}

	got := run("todos.read todos.write")
	tools, _ := json.Marshal(got["tools"])
	if string(tools) != `["add_todo","complete_todo","list_todos","rename_todo"]` {
		t.Errorf("tools %s", tools)
	}
	listed, _ := json.Marshal(got["listed"])
	added, _ := json.Marshal(got["added"])
	if !strings.Contains(string(listed), demo.BobTodos[0]) || !strings.Contains(string(added), "Added by a TypeScript agent") {
		t.Errorf("listed %s, added %s", listed, added)
	}

	got = run("todos.read")
	if msg, _ := got["addError"].(string); !strings.Contains(msg, "needs the todos.write scope") || got["added"] != nil {
		t.Errorf("add_todo with a read-only token, as the TypeScript client saw it: %v", got)
	}
}
