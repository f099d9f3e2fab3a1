package e2e

import (
	"fmt"
	"html"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"
)

func urlEscape(s string) string    { return url.QueryEscape(s) }
func htmlUnescape(s string) string { return html.UnescapeString(s) }

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
