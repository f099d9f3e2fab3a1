package e2e

import (
	"html"
	"net/url"
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
