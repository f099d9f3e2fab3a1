package debugconsole

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"xaa.example/shared/trace"
)

// The Code tab repeats a step's request in several languages. Every secret
// and token the console hid is read from an environment variable named for
// its parameter (CLIENT_SECRET, SUBJECT_TOKEN, ACCESS_TOKEN...), so a
// snippet copied from the console runs once those are set, and no snippet
// holds anything that could be replayed.

// Snippet is one way to send the request.
type Snippet struct {
	Key   string // a short id for the page: curl, js, python...
	Label string
	Code  string
}

// request is what the snippets send, read from a recorded step.
type request struct {
	Method, URL string
	// URLEnv is set when the step has only a path: the base URL is then
	// read from this variable.
	URLEnv    string
	BasicUser string // client_secret_basic with this client id; the secret from CLIENT_SECRET
	Bearer    bool   // Authorization: Bearer from ACCESS_TOKEN
	// DPoP: the request carried a DPoP proof (RFC 9449), which the snippet
	// makes with the key in the file DPOP_KEY; DPoPToken: the access token
	// goes as Authorization: DPoP, and the proof hashes it (ath).
	DPoP, DPoPToken bool
	ContentType     string
	Form            []formParam
	JSON            string
}

type formParam struct {
	Name, Value string
	Env         string // read from this variable instead of Value
}

func readRequest(s Step) request {
	r := request{Method: s.Method, URL: s.URL}
	if strings.HasPrefix(r.URL, "/") {
		r.URLEnv, r.URL = "BASE_URL", pathOf(r.URL)
	}
	for _, h := range s.Request.Headers {
		// Recorded header names are as the sender's library wrote them:
		// Go's http.Header writes DPoP as "Dpop" (RFC 9110 §5.1: names
		// are case-insensitive).
		switch name := http.CanonicalHeaderKey(h[0]); {
		case name == "Authorization" && strings.HasPrefix(h[1], "Basic"):
			r.BasicUser = "$CLIENT_ID"
			if i := strings.Index(h[1], "client_id "); i >= 0 {
				r.BasicUser = strings.TrimSuffix(strings.Fields(h[1][i+len("client_id "):])[0], ",")
			}
		case name == "Authorization" && strings.HasPrefix(h[1], "DPoP "):
			r.DPoP, r.DPoPToken = true, true
		case name == "Authorization":
			r.Bearer = true
		case name == "Dpop":
			r.DPoP = true
		case name == "Content-Type":
			r.ContentType = h[1]
		}
	}
	switch {
	case strings.Contains(r.ContentType, "x-www-form-urlencoded"):
		r.ContentType = "application/x-www-form-urlencoded"
		for _, kv := range formOf(s.Request.Body) {
			p := formParam{Name: kv[0], Value: kv[1]}
			if kv[1] == trace.Redacted || strings.HasSuffix(kv[1], trace.SignatureRemoved) {
				p.Env, p.Value = envName(kv[0]), ""
			}
			r.Form = append(r.Form, p)
		}
	case strings.Contains(r.ContentType, "json") && s.Request.Body != "":
		r.ContentType = "application/json"
		r.JSON = s.Request.Body
	default:
		r.ContentType = ""
	}
	return r
}

// envName is the variable a hidden parameter is read from.
func envName(param string) string {
	return strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(param))
}

// Snippets are the step's request in curl, JavaScript, Python, Java, C#
// and Go, and with this repository's packages.
func Snippets(s Step) []Snippet {
	r := readRequest(s)
	return []Snippet{
		{Key: "curl", Label: "curl", Code: curlOf(r)},
		{Key: "js", Label: "JavaScript", Code: jsOf(r)},
		{Key: "python", Label: "Python", Code: pythonOf(r)},
		{Key: "java", Label: "Java", Code: javaOf(r)},
		{Key: "csharp", Label: "C#", Code: csharpOf(r)},
		{Key: "go", Label: "Go", Code: goOf(r)},
		{Key: "xaa", Label: "Go (xaaclient)", Code: GoCode(s)},
	}
}

// str quotes s for JavaScript, Java, C#, Python and Go alike: a double-
// quoted string whose escapes all five read the same way.
func str(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// htuOf is the proof's htu as an expression of a language: the URL
// without its query, after the base URL's variable (env) when it has one.
func htuOf(r request, env func(name string) string) string {
	if r.URLEnv != "" {
		return env(r.URLEnv) + " + " + str(r.htuPath())
	}
	return str(r.htuPath())
}

// shell quotes s for a POSIX shell, in single quotes.
func shell(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func curlOf(r request) string {
	var b strings.Builder
	u := shell(r.URL)
	if r.URLEnv != "" {
		u = `"$` + r.URLEnv + `"` + shell(r.URL)
	}
	if r.DPoP {
		htu := shell(r.htuPath())
		if r.URLEnv != "" {
			htu = `"$` + r.URLEnv + `"` + htu
		}
		fmt.Fprintf(&b, "#!/usr/bin/env bash\nset -euo pipefail\nhtm=%s htu=%s\n", shell(r.Method), htu)
		if r.DPoPToken {
			b.WriteString("ath_token=\"$ACCESS_TOKEN\"\n")
		}
		b.WriteString(shellDPoP)
	}
	fmt.Fprintf(&b, "curl -sS -X %s %s", r.Method, u)
	if r.BasicUser != "" {
		fmt.Fprintf(&b, " \\\n  -u %s\"$CLIENT_SECRET\"", shell(r.BasicUser+":"))
	}
	if r.Bearer {
		b.WriteString(" \\\n  -H \"Authorization: Bearer $ACCESS_TOKEN\"")
	}
	if r.DPoPToken {
		b.WriteString(" \\\n  -H \"Authorization: DPoP $ACCESS_TOKEN\"")
	}
	if r.DPoP {
		b.WriteString(" \\\n  -H \"DPoP: $proof\"")
	}
	for _, p := range r.Form {
		if p.Env != "" {
			// --data-urlencode name@- would read stdin; a variable in
			// double quotes is encoded by curl all the same.
			fmt.Fprintf(&b, " \\\n  --data-urlencode %s\"$%s\"", shell(p.Name+"="), p.Env)
		} else {
			fmt.Fprintf(&b, " \\\n  --data-urlencode %s", shell(p.Name+"="+p.Value))
		}
	}
	if r.JSON != "" {
		fmt.Fprintf(&b, " \\\n  -H 'Content-Type: application/json' \\\n  --data %s", shell(r.JSON))
	}
	return b.String()
}

func jsOf(r request) string {
	var b strings.Builder
	b.WriteString("// Node.js 18 or later, or a browser: node snippet.mjs\n")
	if r.DPoP {
		b.WriteString(jsDPoP)
	}
	headers := []string{}
	if r.ContentType != "" {
		headers = append(headers, `"Content-Type": `+str(r.ContentType))
	}
	if r.BasicUser != "" {
		headers = append(headers, `Authorization: "Basic " + Buffer.from(`+str(r.BasicUser+":")+` + process.env.CLIENT_SECRET).toString("base64")`)
	}
	if r.Bearer {
		headers = append(headers, `Authorization: "Bearer " + process.env.ACCESS_TOKEN`)
	}
	if r.DPoP {
		token := "undefined"
		if r.DPoPToken {
			headers = append(headers, `Authorization: "DPoP " + process.env.ACCESS_TOKEN`)
			token = "process.env.ACCESS_TOKEN"
		}
		headers = append(headers, fmt.Sprintf("DPoP: dpopProof(%s, %s, %s)", str(r.Method), htuOf(r, func(n string) string { return "process.env." + n }), token))
	}
	body := ""
	if len(r.Form) > 0 {
		b.WriteString("const body = new URLSearchParams();\n")
		for _, p := range r.Form {
			v := str(p.Value)
			if p.Env != "" {
				v = "process.env." + p.Env
			}
			fmt.Fprintf(&b, "body.append(%s, %s);\n", str(p.Name), v)
		}
		body = ", body"
	} else if r.JSON != "" {
		fmt.Fprintf(&b, "const body = %s;\n", str(r.JSON))
		body = ", body"
	}
	u := str(r.URL)
	if r.URLEnv != "" {
		u = "process.env." + r.URLEnv + " + " + u
	}
	fmt.Fprintf(&b, "const resp = await fetch(%s, {\n  method: %s,\n  headers: { %s }%s,\n});\n", u, str(r.Method), strings.Join(headers, ", "), body)
	b.WriteString("console.log(resp.status, await resp.text());")
	return b.String()
}

func pythonOf(r request) string {
	var b strings.Builder
	if r.DPoP {
		b.WriteString("# Python 3, standard library and openssl\nimport base64, os, urllib.error, urllib.parse, urllib.request\n")
		b.WriteString(pythonDPoP)
	} else {
		b.WriteString("# Python 3, standard library only\nimport base64, os, urllib.error, urllib.parse, urllib.request\n\n")
	}
	data := "None"
	if len(r.Form) > 0 {
		b.WriteString("form = [\n")
		for _, p := range r.Form {
			v := str(p.Value)
			if p.Env != "" {
				v = `os.environ["` + p.Env + `"]`
			}
			fmt.Fprintf(&b, "    (%s, %s),\n", str(p.Name), v)
		}
		b.WriteString("]\n")
		data = "urllib.parse.urlencode(form).encode()"
	} else if r.JSON != "" {
		data = str(r.JSON) + ".encode()"
	}
	b.WriteString("headers = {}\n")
	if r.ContentType != "" {
		fmt.Fprintf(&b, "headers[\"Content-Type\"] = %s\n", str(r.ContentType))
	}
	if r.BasicUser != "" {
		fmt.Fprintf(&b, "headers[\"Authorization\"] = \"Basic \" + base64.b64encode((%s + os.environ[\"CLIENT_SECRET\"]).encode()).decode()\n", str(r.BasicUser+":"))
	}
	if r.Bearer {
		b.WriteString("headers[\"Authorization\"] = \"Bearer \" + os.environ[\"ACCESS_TOKEN\"]\n")
	}
	if r.DPoP {
		token := "None"
		if r.DPoPToken {
			b.WriteString("headers[\"Authorization\"] = \"DPoP \" + os.environ[\"ACCESS_TOKEN\"]\n")
			token = `os.environ["ACCESS_TOKEN"]`
		}
		fmt.Fprintf(&b, "headers[\"DPoP\"] = dpop_proof(%s, %s, %s)\n", str(r.Method), htuOf(r, func(n string) string { return `os.environ["` + n + `"]` }), token)
	}
	u := str(r.URL)
	if r.URLEnv != "" {
		u = `os.environ["` + r.URLEnv + `"] + ` + u
	}
	fmt.Fprintf(&b, "req = urllib.request.Request(%s, data=%s, method=%s, headers=headers)\n", u, data, str(r.Method))
	b.WriteString("try:\n    with urllib.request.urlopen(req) as resp:\n        print(resp.status, resp.read().decode())\nexcept urllib.error.HTTPError as e:\n    print(e.code, e.read().decode())")
	return b.String()
}

func javaOf(r request) string {
	var b strings.Builder
	b.WriteString("// Java 11 or later: java Snippet.java\nimport java.net.URI;\nimport java.net.URLEncoder;\nimport java.net.http.*;\nimport java.nio.charset.StandardCharsets;\nimport java.util.*;\n")
	if r.DPoP {
		b.WriteString("import java.nio.file.*;\nimport java.security.*;\nimport java.security.spec.PKCS8EncodedKeySpec;\n")
	}
	b.WriteString("\npublic class Snippet {\n")
	if r.DPoP {
		b.WriteString(javaDPoP)
	}
	b.WriteString("  public static void main(String[] args) throws Exception {\n")
	body := "HttpRequest.BodyPublishers.noBody()"
	if len(r.Form) > 0 {
		b.WriteString("    var form = new ArrayList<String[]>();\n")
		for _, p := range r.Form {
			v := str(p.Value)
			if p.Env != "" {
				v = `System.getenv("` + p.Env + `")`
			}
			fmt.Fprintf(&b, "    form.add(new String[] {%s, %s});\n", str(p.Name), v)
		}
		b.WriteString("    var body = new StringJoiner(\"&\");\n    for (var kv : form) body.add(URLEncoder.encode(kv[0], StandardCharsets.UTF_8) + \"=\" + URLEncoder.encode(kv[1], StandardCharsets.UTF_8));\n")
		body = "HttpRequest.BodyPublishers.ofString(body.toString())"
	} else if r.JSON != "" {
		body = "HttpRequest.BodyPublishers.ofString(" + str(r.JSON) + ")"
	}
	u := str(r.URL)
	if r.URLEnv != "" {
		u = `System.getenv("` + r.URLEnv + `") + ` + u
	}
	fmt.Fprintf(&b, "    var req = HttpRequest.newBuilder(URI.create(%s))\n        .method(%s, %s)", u, str(r.Method), body)
	if r.ContentType != "" {
		fmt.Fprintf(&b, "\n        .header(\"Content-Type\", %s)", str(r.ContentType))
	}
	if r.BasicUser != "" {
		fmt.Fprintf(&b, "\n        .header(\"Authorization\", \"Basic \" + Base64.getEncoder().encodeToString((%s + System.getenv(\"CLIENT_SECRET\")).getBytes(StandardCharsets.UTF_8)))", str(r.BasicUser+":"))
	}
	if r.Bearer {
		b.WriteString("\n        .header(\"Authorization\", \"Bearer \" + System.getenv(\"ACCESS_TOKEN\"))")
	}
	if r.DPoP {
		token := "null"
		if r.DPoPToken {
			b.WriteString("\n        .header(\"Authorization\", \"DPoP \" + System.getenv(\"ACCESS_TOKEN\"))")
			token = `System.getenv("ACCESS_TOKEN")`
		}
		fmt.Fprintf(&b, "\n        .header(\"DPoP\", dpopProof(%s, %s, %s))", str(r.Method), htuOf(r, func(n string) string { return `System.getenv("` + n + `")` }), token)
	}
	b.WriteString("\n        .build();\n    var resp = HttpClient.newHttpClient().send(req, HttpResponse.BodyHandlers.ofString());\n    System.out.println(resp.statusCode() + \" \" + resp.body());\n  }\n}")
	return b.String()
}

func csharpOf(r request) string {
	var b strings.Builder
	b.WriteString("// C# (.NET 6 or later), top-level statements\nusing System.Net.Http.Headers;\nusing System.Text;\n\nvar http = new HttpClient();\n")
	u := str(r.URL)
	if r.URLEnv != "" {
		u = `Environment.GetEnvironmentVariable("` + r.URLEnv + `") + ` + u
	}
	fmt.Fprintf(&b, "var req = new HttpRequestMessage(new HttpMethod(%s), %s);\n", str(r.Method), u)
	if r.BasicUser != "" {
		fmt.Fprintf(&b, "req.Headers.Authorization = new AuthenticationHeaderValue(\"Basic\", Convert.ToBase64String(Encoding.UTF8.GetBytes(%s + Environment.GetEnvironmentVariable(\"CLIENT_SECRET\"))));\n", str(r.BasicUser+":"))
	}
	if r.Bearer {
		b.WriteString("req.Headers.Authorization = new AuthenticationHeaderValue(\"Bearer\", Environment.GetEnvironmentVariable(\"ACCESS_TOKEN\"));\n")
	}
	if r.DPoP {
		token := "null"
		if r.DPoPToken {
			b.WriteString("req.Headers.Authorization = new AuthenticationHeaderValue(\"DPoP\", Environment.GetEnvironmentVariable(\"ACCESS_TOKEN\"));\n")
			token = `Environment.GetEnvironmentVariable("ACCESS_TOKEN")`
		}
		fmt.Fprintf(&b, "req.Headers.Add(\"DPoP\", DpopProof(%s, %s, %s));\n", str(r.Method), htuOf(r, func(n string) string { return `Environment.GetEnvironmentVariable("` + n + `")` }), token)
	}
	if len(r.Form) > 0 {
		b.WriteString("req.Content = new FormUrlEncodedContent(new List<KeyValuePair<string, string>> {\n")
		for _, p := range r.Form {
			v := str(p.Value)
			if p.Env != "" {
				v = `Environment.GetEnvironmentVariable("` + p.Env + `")`
			}
			fmt.Fprintf(&b, "    new(%s, %s),\n", str(p.Name), v)
		}
		b.WriteString("});\n")
	} else if r.JSON != "" {
		fmt.Fprintf(&b, "req.Content = new StringContent(%s, Encoding.UTF8, \"application/json\");\n", str(r.JSON))
	}
	b.WriteString("var resp = await http.SendAsync(req);\nConsole.WriteLine($\"{(int)resp.StatusCode} {await resp.Content.ReadAsStringAsync()}\");")
	if r.DPoP {
		b.WriteString("\n" + csharpDPoP)
	}
	return b.String()
}

func goOf(r request) string {
	var b strings.Builder
	imports := []string{"fmt", "io", "net/http"}
	if len(r.Form) > 0 {
		imports = append(imports, "net/url")
	}
	imports = append(imports, "os")
	if len(r.Form) > 0 || r.JSON != "" {
		imports = append(imports, "strings")
	}
	if r.DPoP {
		imports = append(imports, "crypto/ecdsa", "crypto/rand", "crypto/sha256", "crypto/x509", "encoding/base64", "encoding/json", "encoding/pem", "time")
		slices.Sort(imports)
	}
	b.WriteString("// Go, standard library only: go run snippet.go\npackage main\n\nimport (\n")
	for _, imp := range imports {
		fmt.Fprintf(&b, "\t%q\n", imp)
	}
	b.WriteString(")\n\nfunc main() {\n")
	body := "nil"
	if len(r.Form) > 0 {
		b.WriteString("\tform := url.Values{}\n")
		for _, p := range r.Form {
			v := str(p.Value)
			if p.Env != "" {
				v = `os.Getenv("` + p.Env + `")`
			}
			fmt.Fprintf(&b, "\tform.Add(%s, %s)\n", str(p.Name), v)
		}
		body = "strings.NewReader(form.Encode())"
	} else if r.JSON != "" {
		body = "strings.NewReader(" + str(r.JSON) + ")"
	}
	u := str(r.URL)
	if r.URLEnv != "" {
		u = `os.Getenv("` + r.URLEnv + `") + ` + u
	}
	fmt.Fprintf(&b, "\treq, err := http.NewRequest(%s, %s, %s)\n\tif err != nil {\n\t\tpanic(err)\n\t}\n", str(r.Method), u, body)
	if r.ContentType != "" {
		fmt.Fprintf(&b, "\treq.Header.Set(\"Content-Type\", %s)\n", str(r.ContentType))
	}
	if r.BasicUser != "" {
		fmt.Fprintf(&b, "\treq.SetBasicAuth(%s, os.Getenv(\"CLIENT_SECRET\"))\n", str(r.BasicUser))
	}
	if r.Bearer {
		b.WriteString("\treq.Header.Set(\"Authorization\", \"Bearer \"+os.Getenv(\"ACCESS_TOKEN\"))\n")
	}
	if r.DPoP {
		token := `""`
		if r.DPoPToken {
			b.WriteString("\treq.Header.Set(\"Authorization\", \"DPoP \"+os.Getenv(\"ACCESS_TOKEN\"))\n")
			token = `os.Getenv("ACCESS_TOKEN")`
		}
		htu := htuOf(r, func(n string) string { return `os.Getenv("` + n + `")` })
		fmt.Fprintf(&b, "\treq.Header.Set(\"DPoP\", dpopProof(%s, %s, %s))\n", str(r.Method), htu, token)
	}
	b.WriteString("\tresp, err := http.DefaultClient.Do(req)\n\tif err != nil {\n\t\tpanic(err)\n\t}\n\tdefer resp.Body.Close()\n\tanswer, _ := io.ReadAll(resp.Body)\n\tfmt.Println(resp.StatusCode, string(answer))\n}")
	if r.DPoP {
		b.WriteString("\n" + goDPoP)
	}
	return b.String()
}
