package e2e

import (
	stdbase64 "encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"
)

func urlEscape(s string) string    { return url.QueryEscape(s) }
func htmlUnescape(s string) string { return html.UnescapeString(s) }

// words is a page with the spans that keep "ID-JAG" on one line taken
// out, so that a test finds a sentence as a person reads it.
func words(body string) string {
	return strings.ReplaceAll(body, `<span class="nobr">ID-JAG</span>`, "ID-JAG")
}

func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Scheme + "://" + u.Host
}

// dump is what a query returns, one line per row, columns by name: for
// comparing a service's tables before and after a request.
func dump(t testing.TB, db *gorm.DB, query string) string {
	t.Helper()
	var rows []map[string]any
	if err := db.Raw(query).Scan(&rows).Error; err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	var out strings.Builder
	for _, row := range rows {
		keys := slices.Sorted(maps.Keys(row))
		for i, k := range keys {
			if i > 0 {
				out.WriteString(" ")
			}
			v := row[k]
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			fmt.Fprintf(&out, "%s=%v", k, v)
		}
		out.WriteString("\n")
	}
	return out.String()
}

// call sends a request with the header pairs given (name, value, ...) and
// decodes its JSON answer (nil when there is none).
func call(t testing.TB, method, url, contentType, body string, header ...string) (int, map[string]any) {
	t.Helper()
	status, answer := callRaw(t, method, url, contentType, body, header...)
	var out map[string]any
	_ = json.Unmarshal([]byte(answer), &out)
	return status, out
}

// callRaw is call with the answer as it came.
func callRaw(t testing.TB, method, url, contentType, body string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// postForm posts a form, as a client authenticating with HTTP Basic when
// a user is given, and decodes the JSON answer.
func postForm(t testing.TB, url string, form url.Values, user, password string) (int, map[string]any) {
	t.Helper()
	var header []string
	if user != "" {
		header = []string{"Authorization", "Basic " + stdbase64.StdEncoding.EncodeToString([]byte(user+":"+password))}
	}
	return call(t, http.MethodPost, url, "application/x-www-form-urlencoded", form.Encode(), header...)
}
