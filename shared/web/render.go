package web

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"strconv"
	"sync"

	"github.com/a-h/templ"
	"github.com/gin-gonic/gin"
	"gorm.io/gorm"
)

//go:embed static
var staticFiles embed.FS

// Static serves the shared stylesheet under /static/.
func Static() http.Handler {
	sub, _ := fs.Sub(staticFiles, "static")
	return http.StripPrefix("/static/", http.FileServer(http.FS(sub)))
}

// Render writes a templ component as an HTML page with the request's context.
func Render(c *gin.Context, status int, page templ.Component) {
	if err := WritePage(c.Writer, c.Request, status, page); err != nil {
		_ = c.Error(err)
	}
}

// WritePage writes a templ component as an uncacheable HTML page, for
// handlers that are plain http.Handlers.
//
// The page is rendered whole before anything is sent: templ flushes the
// writer it is given, which would send each page in chunks with a system
// call each; and a page that fails halfway would reach the browser cut off.
func WritePage(w http.ResponseWriter, r *http.Request, status int, page templ.Component) error {
	buf := pageBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 256<<10 { // a rare huge page is not kept
			buf.Reset()
			pageBuffers.Put(buf)
		}
	}()
	if err := page.Render(r.Context(), buf); err != nil {
		http.Error(w, "This page could not be shown; the server's log says why.", http.StatusInternalServerError)
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

var pageBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// WriteErrorPage writes a readable error page in the layout m describes.
func WriteErrorPage(w http.ResponseWriter, r *http.Request, m Meta, status int, title, message string) {
	m.Title = title
	_ = WritePage(w, r, status, Layout(m, ErrorBody(title, message, status)))
}

// RenderError writes a readable error page in the service's layout.
func RenderError(c *gin.Context, status int, title, message string) {
	meta, _ := c.Get(metaKey)
	m, _ := meta.(Meta)
	WriteErrorPage(c.Writer, c.Request, m, status, title, message)
}

const metaKey = "web.meta"

// WithMeta stores the service's page metadata so error pages and panics can
// render in its layout.
func WithMeta(m Meta) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Set(metaKey, m)
		c.Next()
	}
}

// Health answers 200 "ok" when the database answers a ping, 503 otherwise.
func Health(db *gorm.DB) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sqlDB, err := db.DB()
		if err == nil {
			err = sqlDB.PingContext(r.Context())
		}
		w.Header().Set("Content-Type", "text/plain")
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("database unavailable\n"))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
}
