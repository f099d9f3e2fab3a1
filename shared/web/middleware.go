package web

import (
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/gin-gonic/gin"
)

// RequestLog logs one line per request: method, path, status and duration.
// Query strings are left out on purpose: they carry authorization codes and
// state, and none of that belongs in a log.
func RequestLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		if c.Request.URL.Path == "/healthz" || c.Request.URL.Path == "/static/app.css" {
			return
		}
		log.Info("request", "method", c.Request.Method, "path", c.Request.URL.Path,
			"status", c.Writer.Status(), "ms", time.Since(start).Milliseconds())
	}
}

// SecurityHeaders sets a strict content security policy (no inline scripts,
// no third-party origins) and the usual hardening headers.
func SecurityHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self' http: https:; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		// same-origin, not no-referrer: under no-referrer browsers send
		// "Origin: null" even on a site's own form posts (Fetch, "serializing
		// a request origin"), which SameOrigin would refuse. Other sites
		// still never see our URLs, which can hold codes.
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		c.Next()
	}
}

// Recover turns a panic into a plain error page and a log line, so one bad
// request never takes a service down.
func Recover(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if v := recover(); v != nil {
				log.Error("panic", "path", c.Request.URL.Path, "panic", v)
				c.Abort()
				RenderError(c, http.StatusInternalServerError, "Something went wrong", "The server hit an unexpected error. Try again; if it persists, check the service's log.")
			}
		}()
		c.Next()
	}
}

// SameOrigin refuses state-changing requests that do not come from this
// site's own pages: a form post from another site carries that site's
// Origin (or, from older browsers, Referer), and a request with neither is
// not from a browser page at all (browsers send Origin with every POST,
// Fetch §3.1). SameSite=Lax cookies already keep the session out of
// cross-site posts; this makes the refusal explicit and readable. exempt
// are paths that servers post to (a token endpoint), which answer no
// cookie-based session.
func SameOrigin(baseURL string, exempt ...string) gin.HandlerFunc {
	// An issuer may have a path; browsers send only scheme://host.
	want := baseURL
	if u, err := url.Parse(baseURL); err == nil && u.Host != "" {
		want = u.Scheme + "://" + u.Host
	}
	return func(c *gin.Context) {
		switch c.Request.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			c.Next()
			return
		}
		if slices.Contains(exempt, c.Request.URL.Path) {
			c.Next()
			return
		}
		origin := c.GetHeader("Origin")
		if origin == "" {
			if ref := c.GetHeader("Referer"); ref != "" {
				if u, err := url.Parse(ref); err == nil {
					origin = u.Scheme + "://" + u.Host
				}
			}
		}
		if origin != want {
			c.Abort()
			RenderError(c, http.StatusForbidden, "Request refused", "This form was not sent from this site's own pages, so it was not accepted. Use the form on this site.")
			return
		}
		c.Next()
	}
}
