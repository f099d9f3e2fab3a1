package console

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"xaa.example/idp/audit"
	"xaa.example/idp/samlidp"
	"xaa.example/shared/storage"
	"xaa.example/shared/web"
)

// An administrator adds a SAML app in the console (Apps, "Add a SAML app"),
// as Okta's "Create App Integration" does: by its name, entity ID and
// assertion consumer service, or by its metadata, pasted or uploaded, which
// also brings its signing keys. The organisations assigned to it sign in
// to it with SAML; no OAuth client speaks for it, so nothing exchanges the
// assertions it gets. Adding and removing one are audited.

// PathSAMLApps is where the console's form adds one; it takes a file.
const PathSAMLApps = "/admin/apps/saml"

// adminAddSAMLApp registers a SAML app from the console's form.
func (s *Console) adminAddSAMLApp(c *gin.Context) {
	ctx := c.Request.Context()
	refuse := func(msg string) {
		web.RenderError(c, http.StatusBadRequest, "App not added", msg+" Go back to Apps and correct it.")
	}
	app := samlidp.App{Name: strings.TrimSpace(c.PostForm("name"))}
	raw := []byte(strings.TrimSpace(c.PostForm("metadata")))
	if fh, err := c.FormFile("metadata_file"); err == nil && len(raw) == 0 {
		f, err := fh.Open()
		if err != nil {
			refuse("The uploaded metadata could not be read.")
			return
		}
		raw, err = io.ReadAll(io.LimitReader(f, samlidp.MaxMetadata+1))
		f.Close()
		if err != nil {
			refuse("The uploaded metadata could not be read.")
			return
		}
	}
	if len(raw) > 0 {
		md, err := samlidp.ReadMetadata(raw)
		if err != nil {
			refuse("The metadata was not accepted: " + err.Error() + ".")
			return
		}
		app.EntityID, app.ACSURL, app.Metadata = md.EntityID, samlidp.PostACS(md), string(raw)
	} else {
		app.EntityID, app.ACSURL = strings.TrimSpace(c.PostForm("entity_id")), strings.TrimSpace(c.PostForm("acs_url"))
		if app.EntityID == "" || app.ACSURL == "" {
			refuse("Give the app's entity ID and assertion consumer service URL, or its metadata.")
			return
		}
	}
	if len(app.EntityID) > 255 {
		refuse("The entity ID is longer than 255 characters.")
		return
	}
	if err := samlidp.CheckACSURL(app.ACSURL); err != nil {
		refuse("The app was not added: " + err.Error() + ".")
		return
	}
	if app.Name == "" {
		app.Name = app.EntityID
	}
	orgs, err := s.cfg.Store.Orgs(ctx)
	if err != nil {
		web.RenderError(c, http.StatusInternalServerError, "App not added", "The organisations could not be loaded.")
		return
	}
	var assigned []string
	for _, o := range orgs {
		if slices.Contains(c.PostFormArray("org_id"), o.ID) {
			app.OrgIDs = strings.TrimSpace(app.OrgIDs + " " + o.ID)
			assigned = append(assigned, o.Domain)
		}
	}
	err = s.cfg.SAML.AddApp(ctx, &app)
	if errors.Is(err, storage.ErrAlreadyExists) {
		refuse("An app with the entity ID " + app.EntityID + " is registered already.")
		return
	}
	if err != nil {
		s.cfg.Log.Error("add SAML app", "err", err)
		web.RenderError(c, http.StatusInternalServerError, "App not added", "The app could not be saved.")
		return
	}
	after := "SAML app " + app.EntityID + ", responses to " + app.ACSURL
	if app.SignsRequests() {
		after += ", signed requests required"
	}
	if len(assigned) > 0 {
		after += ", assigned to " + strings.Join(assigned, " ")
	}
	s.changed(ctx, Change{Admin: adminOf(c), Event: audit.SAMLAppAdded, Target: app.Name, After: after})
	c.Redirect(http.StatusSeeOther, "/admin/apps?done="+url.QueryEscape(app.Name+" is added as a SAML app."))
}

// adminRemoveSAMLApp removes an app an administrator added; the IdP's
// configured apps stay.
func (s *Console) adminRemoveSAMLApp(c *gin.Context) {
	ctx := c.Request.Context()
	app, err := s.cfg.SAML.App(ctx, c.PostForm("entity_id"))
	if err == nil && app.Configured {
		web.RenderError(c, http.StatusBadRequest, "App not removed", app.Title()+" comes from the identity provider's configuration; change that to remove it.")
		return
	}
	if err == nil {
		err = s.cfg.SAML.RemoveApp(ctx, app.EntityID)
	}
	if errors.Is(err, storage.ErrNotFound) {
		web.RenderError(c, http.StatusNotFound, "No such app", "That SAML app is not registered here.")
		return
	}
	if err != nil {
		s.cfg.Log.Error("remove SAML app", "err", err)
		web.RenderError(c, http.StatusInternalServerError, "App not removed", "The app could not be removed.")
		return
	}
	s.changed(ctx, Change{Admin: adminOf(c), Event: audit.SAMLAppRemoved, Target: app.Title(), Before: "SAML app " + app.EntityID, After: "removed"})
	c.Redirect(http.StatusSeeOther, "/admin/apps?done="+url.QueryEscape(app.Title()+" is removed: the IdP no longer answers its SAML requests."))
}
