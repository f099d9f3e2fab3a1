package signin

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

const userKey = "signin.user"

// RequireUser is gin middleware for an app's signed-in pages: a visitor who
// is not signed in is sent to sign in, and back to this page after.
func (a *App) RequireUser(c *gin.Context) {
	u, ok := a.User(c.Request.Context())
	if !ok {
		c.Redirect(http.StatusFound, "/login?next="+c.Request.URL.Path)
		c.Abort()
		return
	}
	c.Set(userKey, u)
	c.Next()
}

// CurrentUser is the signed-in user of a request RequireUser let through.
func CurrentUser(c *gin.Context) User {
	u, _ := c.Get(userKey)
	return u.(User)
}
