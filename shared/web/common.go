package web

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"xaa.example/shared/trace"
)

// ServeCommon adds what every service serves besides its own pages: its
// health (/healthz: the database answers), the stylesheet and icons
// (/static), its part of the debug console's runs (/debug/trace/{id}, when
// traces is not nil), and a readable page for any other address, which
// names the service (who: "The wiki", "This authorization server").
func ServeCommon(r *gin.Engine, db *gorm.DB, traces *trace.Store, who string) {
	r.GET("/healthz", gin.WrapH(Health(db)))
	r.GET("/static/*file", gin.WrapH(Static()))
	if traces != nil {
		r.GET("/debug/trace/:id", gin.WrapH(traces))
	}
	r.NoRoute(func(c *gin.Context) {
		RenderError(c, http.StatusNotFound, "Page not found", who+" has no page at that address.")
	})
}
