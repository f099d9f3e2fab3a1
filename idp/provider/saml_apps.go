package provider

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/crewjam/saml"
	crewjamsp "github.com/crewjam/saml/samlsp"
	"github.com/gin-gonic/gin"

	"xaa.example/idp/audit"
	"xaa.example/shared/samlxml"
	"xaa.example/shared/storage"
	"xaa.example/shared/web"
)

// An administrator adds a SAML app in the console (Apps, "Add a SAML app"),
// as Okta's "Create App Integration" does: by its name, entity ID and
// assertion consumer service, or by its metadata, pasted or uploaded, which
// also brings its signing keys. The organisations assigned to it sign in
// to it with SAML; no OAuth client speaks for it, so nothing exchanges the
// assertions it gets. Adding and removing one are audited.

// pathAdminSAMLApps is where the console's form adds one.
const pathAdminSAMLApps = "/admin/apps/saml"

// maxSPMetadata bounds a service provider's metadata given in the console.
const maxSPMetadata = 48 << 10

// readSPMetadata reads a service provider's metadata: XML with no document
// type, comment or processing instruction (samlxml.RefuseMarkup), an
// entity ID, and an SPSSODescriptor with an HTTP-POST assertion consumer
// service, the one binding the IdP answers with.
func readSPMetadata(raw []byte) (*saml.EntityDescriptor, error) {
	if len(raw) > maxSPMetadata {
		return nil, fmt.Errorf("the metadata is larger than %d KiB", maxSPMetadata>>10)
	}
	if err := samlxml.RefuseMarkup(raw); err != nil {
		return nil, fmt.Errorf("the metadata has %v", err)
	}
	md, err := crewjamsp.ParseMetadata(raw)
	if err != nil {
		return nil, errors.New("the metadata is not SAML 2.0 metadata (an EntityDescriptor)")
	}
	if md.EntityID == "" {
		return nil, errors.New("the metadata names no entity ID")
	}
	if postACS(md) == "" {
		return nil, errors.New("the metadata has no assertion consumer service with the HTTP-POST binding, the one this IdP answers with")
	}
	return md, nil
}

// postACS is the metadata's first HTTP-POST assertion consumer service
// (the default one first), or "".
func postACS(md *saml.EntityDescriptor) string {
	for _, d := range md.SPSSODescriptors {
		acs := slices.Clone(d.AssertionConsumerServices)
		slices.SortStableFunc(acs, func(a, b saml.IndexedEndpoint) int {
			return boolRank(b.IsDefault != nil && *b.IsDefault) - boolRank(a.IsDefault != nil && *a.IsDefault)
		})
		for _, e := range acs {
			if e.Binding == saml.HTTPPostBinding {
				return e.Location
			}
		}
	}
	return ""
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// signsRequests reports whether the metadata says the service provider
// signs its AuthnRequests (AuthnRequestsSigned): the IdP then refuses
// unsigned ones, and verifies every signed one with its signing keys.
func signsRequests(md *saml.EntityDescriptor) bool {
	return slices.ContainsFunc(md.SPSSODescriptors, func(d saml.SPSSODescriptor) bool {
		return d.AuthnRequestsSigned != nil && *d.AuthnRequestsSigned
	})
}

// checkACSURL accepts an https address, or http on this machine (a demo
// or a test): responses carry people's identities.
func checkACSURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "":
		return fmt.Errorf("the assertion consumer service %q is not an absolute URL", raw)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLocalHost(u.Hostname()):
		return nil
	}
	return fmt.Errorf("the assertion consumer service %q must be https (http only on localhost)", raw)
}

func isLocalHost(host string) bool {
	return host == "localhost" || strings.HasSuffix(host, ".localhost") || host == "127.0.0.1" || host == "::1"
}

// adminAddSAMLApp registers a SAML app from the console's form.
func (s *Server) adminAddSAMLApp(c *gin.Context) {
	ctx := c.Request.Context()
	refuse := func(msg string) {
		web.RenderError(c, http.StatusBadRequest, "App not added", msg+" Go back to Apps and correct it.")
	}
	app := SAMLApp{Name: strings.TrimSpace(c.PostForm("name"))}
	raw := []byte(strings.TrimSpace(c.PostForm("metadata")))
	if fh, err := c.FormFile("metadata_file"); err == nil && len(raw) == 0 {
		f, err := fh.Open()
		if err != nil {
			refuse("The uploaded metadata could not be read.")
			return
		}
		raw, err = io.ReadAll(io.LimitReader(f, maxSPMetadata+1))
		f.Close()
		if err != nil {
			refuse("The uploaded metadata could not be read.")
			return
		}
	}
	if len(raw) > 0 {
		md, err := readSPMetadata(raw)
		if err != nil {
			refuse("The metadata was not accepted: " + err.Error() + ".")
			return
		}
		app.EntityID, app.ACSURL, app.Metadata = md.EntityID, postACS(md), string(raw)
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
	if err := checkACSURL(app.ACSURL); err != nil {
		refuse("The app was not added: " + err.Error() + ".")
		return
	}
	if app.Name == "" {
		app.Name = app.EntityID
	}
	orgs, err := s.store.orgs(ctx)
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
	err = s.store.addSAMLApp(ctx, &app)
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
	if app.Metadata != "" && signsRequests(mustMetadata(app.Metadata)) {
		after += ", signed requests required"
	}
	if len(assigned) > 0 {
		after += ", assigned to " + strings.Join(assigned, " ")
	}
	s.changed(ctx, adminChange{Admin: adminOf(c), Event: audit.SAMLAppAdded, Target: app.Name, After: after})
	c.Redirect(http.StatusSeeOther, "/admin/apps?done="+url.QueryEscape(app.Name+" is added as a SAML app."))
}

// mustMetadata is stored metadata, read again (it was read when stored).
func mustMetadata(raw string) *saml.EntityDescriptor {
	md, err := readSPMetadata([]byte(raw))
	if err != nil {
		return &saml.EntityDescriptor{}
	}
	return md
}

// adminRemoveSAMLApp removes an app an administrator added; the IdP's
// configured apps stay.
func (s *Server) adminRemoveSAMLApp(c *gin.Context) {
	ctx := c.Request.Context()
	app, err := s.store.samlApp(ctx, c.PostForm("entity_id"))
	if err == nil && app.Configured {
		web.RenderError(c, http.StatusBadRequest, "App not removed", app.Title()+" comes from the identity provider's configuration; change that to remove it.")
		return
	}
	if err == nil {
		err = s.store.removeSAMLApp(ctx, app.EntityID)
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
	s.changed(ctx, adminChange{Admin: adminOf(c), Event: audit.SAMLAppRemoved, Target: app.Title(), Before: "SAML app " + app.EntityID, After: "removed"})
	c.Redirect(http.StatusSeeOther, "/admin/apps?done="+url.QueryEscape(app.Title()+" is removed: the IdP no longer answers its SAML requests."))
}
