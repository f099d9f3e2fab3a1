package web

import (
	"context"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"
)

const signedInKey = "web.signed-in"

// RequireSignIn is middleware for an app's signed-in pages: user says who
// is signed in (signin.App.User); a visitor who is not is sent to sign in,
// and back to this page after.
func RequireSignIn[U any](user func(context.Context) (U, bool)) gin.HandlerFunc {
	return func(c *gin.Context) {
		u, ok := user(c.Request.Context())
		if !ok {
			// A link that names the person (login_hint, as the wiki's to
			// the todo app do) keeps naming them, so that the sign-in goes
			// straight to their IdP: one click with a session there.
			to := url.Values{"next": {c.Request.URL.Path}}
			if hint := c.Query("login_hint"); hint != "" {
				to.Set("login_hint", hint)
			}
			c.Redirect(http.StatusFound, "/login?"+to.Encode())
			c.Abort()
			return
		}
		c.Set(signedInKey, u)
		c.Next()
	}
}

// SignedIn is the signed-in user of a request RequireSignIn let through.
func SignedIn[U any](c *gin.Context) U {
	u, _ := c.Get(signedInKey)
	return u.(U)
}
