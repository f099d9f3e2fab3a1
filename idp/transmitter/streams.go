package transmitter

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/shared/ssf"
	"xaa.example/shared/storage"
)

// The transmitter's stream management (OpenID Shared Signals 1.0 §8.1): a
// receiver, known by the bearer token the IdP gave it, creates, reads,
// updates, replaces and deletes its stream (one per receiver: a second
// create is a conflict), reads and sets its status, and asks for a
// verification event. A receiver reaches only its own stream: another's
// stream_id is not found.

// The stream management endpoints, which receivers call from their
// servers (no browser's origin).
const (
	PathStreams = "/ssf/streams"
	PathStatus  = "/ssf/status"
	PathVerify  = "/ssf/verify"
)

// Stream statuses (SSF §8.1.2).
const (
	streamEnabled  = "enabled"
	streamPaused   = "paused"
	streamDisabled = "disabled"
)

// ssfEvents are the events this transmitter sends on request; the
// verification event goes to every stream that asks for one.
var ssfEvents = []string{ssf.EventAccountDisabled, ssf.EventSessionRevoked, ssf.EventTokenClaimsChange}

// Routes serves the transmitter's metadata and its stream management.
func (t *Transmitter) Routes(r gin.IRoutes) {
	r.GET("/.well-known/ssf-configuration", t.serveSSFConfiguration)
	r.POST(PathStreams, t.serveCreateStream)
	r.GET(PathStreams, t.serveGetStream)
	r.PATCH(PathStreams, t.serveUpdateStream)
	r.PUT(PathStreams, t.serveUpdateStream)
	r.DELETE(PathStreams, t.serveDeleteStream)
	r.GET(PathStatus, t.serveStreamStatus)
	r.POST(PathStatus, t.serveStreamStatus)
	r.POST(PathVerify, t.serveVerify)
}

// serveSSFConfiguration is the transmitter's metadata (SSF §7.1).
func (t *Transmitter) serveSSFConfiguration(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	c.JSON(http.StatusOK, gin.H{
		"spec_version":               "1_0",
		"issuer":                     t.cfg.Issuer,
		"jwks_uri":                   t.cfg.JWKSURI,
		"delivery_methods_supported": []string{ssf.DeliveryPush},
		"configuration_endpoint":     t.cfg.Issuer + PathStreams,
		"status_endpoint":            t.cfg.Issuer + PathStatus,
		"verification_endpoint":      t.cfg.Issuer + PathVerify,
		"authorization_schemes":      []gin.H{{"spec_urn": "urn:ietf:rfc:6750"}},
		"default_subjects":           "ALL",
	})
}

// ssfReceiver is the receiver whose token the request bears, or nil (the
// caller is then answered 401). The scheme is case-insensitive.
func (t *Transmitter) ssfReceiver(c *gin.Context) *Receiver {
	scheme, token, _ := strings.Cut(c.GetHeader("Authorization"), " ")
	ok := strings.EqualFold(scheme, "Bearer")
	for i := range t.cfg.Receivers {
		r := &t.cfg.Receivers[i]
		if ok && token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(r.Token)) == 1 {
			return r
		}
	}
	c.Header("WWW-Authenticate", `Bearer realm="ssf"`)
	c.JSON(http.StatusUnauthorized, gin.H{"error": "invalid_token", "error_description": "a bearer token the IdP gave this receiver is required"})
	return nil
}

func ssfRefuse(c *gin.Context, status int, code, why string) {
	c.JSON(status, gin.H{"error": code, "error_description": why})
}

// streamJSON is a stream as the configuration endpoint shows it (SSF
// §8.1.1), without the push credential.
func (t *Transmitter) streamJSON(st *Stream) gin.H {
	return gin.H{
		"stream_id": st.ID, "iss": t.cfg.Issuer, "aud": st.Audience,
		"delivery":         gin.H{"method": ssf.DeliveryPush, "endpoint_url": st.Endpoint},
		"events_supported": ssfEvents, "events_requested": strings.Fields(st.Events), "events_delivered": strings.Fields(st.Events),
		"description": st.Description,
	}
}

// streamRequest is a stream configuration as a receiver sends it.
type streamRequest struct {
	StreamID string  `json:"stream_id"`
	Aud      *string `json:"aud"`
	Delivery *struct {
		Method        string `json:"method"`
		EndpointURL   string `json:"endpoint_url"`
		Authorization string `json:"authorization_header"`
	} `json:"delivery"`
	EventsRequested *[]string `json:"events_requested"`
	Description     *string   `json:"description"`
}

// apply writes what the request sets onto st, checked; whole says every
// receiver-supplied property must be there (create, replace).
func (req *streamRequest) apply(st *Stream, whole bool) string {
	if whole && (req.Aud == nil || req.Delivery == nil) {
		return "aud and delivery are required"
	}
	if req.Aud != nil {
		if *req.Aud == "" || len(*req.Aud) > 1024 {
			return "aud is required, at most 1,024 characters"
		}
		st.Audience = *req.Aud
	}
	if req.Delivery != nil {
		endpoint, err := url.Parse(req.Delivery.EndpointURL)
		switch {
		case req.Delivery.Method != ssf.DeliveryPush:
			return "delivery.method must be " + ssf.DeliveryPush + " (push); polling is not offered"
		case err != nil || (endpoint.Scheme != "https" && endpoint.Scheme != "http") || endpoint.Host == "" || len(req.Delivery.EndpointURL) > 1024:
			return "delivery.endpoint_url must be an http(s) URL"
		case len(req.Delivery.Authorization) > 1024:
			return "delivery.authorization_header is at most 1,024 characters"
		}
		st.Endpoint, st.Authorization = req.Delivery.EndpointURL, req.Delivery.Authorization
	}
	if req.EventsRequested != nil || whole {
		var events []string
		if req.EventsRequested != nil {
			for _, e := range *req.EventsRequested {
				if slices.Contains(ssfEvents, e) && !slices.Contains(events, e) {
					events = append(events, e)
				}
			}
		}
		st.Events = strings.Join(events, " ")
	}
	if req.Description != nil || whole {
		st.Description = ""
		if req.Description != nil {
			if len(*req.Description) > 1024 {
				return "description is at most 1,024 characters"
			}
			st.Description = *req.Description
		}
	}
	return ""
}

// readStreamRequest reads the body; false when the answer is given.
func readStreamRequest(c *gin.Context) (*streamRequest, bool) {
	var req streamRequest
	if err := json.NewDecoder(c.Request.Body).Decode(&req); err != nil {
		ssfRefuse(c, http.StatusBadRequest, "invalid_request", "the body is not a JSON stream configuration")
		return nil, false
	}
	return &req, true
}

// ownStream is the receiver's stream named by id; false when the answer
// (400 without an id, 404 for another's or none) is given.
func (t *Transmitter) ownStream(c *gin.Context, rcv *Receiver, id string) (*Stream, bool) {
	if id == "" {
		ssfRefuse(c, http.StatusBadRequest, "invalid_request", "stream_id is required")
		return nil, false
	}
	st, err := t.streamOf(c.Request.Context(), rcv.Name)
	switch {
	case errors.Is(err, storage.ErrNotFound) || err == nil && st.ID != id:
		ssfRefuse(c, http.StatusNotFound, "not_found", "this receiver has no stream "+id)
		return nil, false
	case err != nil:
		t.cfg.Log.Error("read SSF stream", "err", err)
		ssfRefuse(c, http.StatusInternalServerError, "server_error", "the stream could not be read")
		return nil, false
	}
	return st, true
}

// serveCreateStream makes the receiver's stream (SSF §8.1.1.1); it has one
// at most, so a second is a conflict (409), which an update or a replace
// of the first answers.
func (t *Transmitter) serveCreateStream(c *gin.Context) {
	rcv := t.ssfReceiver(c)
	if rcv == nil {
		return
	}
	req, ok := readStreamRequest(c)
	if !ok {
		return
	}
	st := Stream{ID: strings.ToLower(rand.Text()[:20]), Receiver: rcv.Name, Status: streamEnabled}
	if why := req.apply(&st, true); why != "" {
		ssfRefuse(c, http.StatusBadRequest, "invalid_request", why)
		return
	}
	err := t.createStream(c.Request.Context(), &st)
	switch {
	case errors.Is(err, storage.ErrAlreadyExists):
		ssfRefuse(c, http.StatusConflict, "conflict", "this receiver has a stream already: update it (PATCH) or replace it (PUT)")
		return
	case err != nil:
		t.cfg.Log.Error("save SSF stream", "err", err)
		ssfRefuse(c, http.StatusInternalServerError, "server_error", "the stream could not be saved")
		return
	}
	t.cfg.Log.Info("Shared Signals stream configured", "receiver", rcv.Name, "stream", st.ID, "events", st.Events)
	c.JSON(http.StatusCreated, t.streamJSON(&st))
}

// serveGetStream reads the receiver's stream by stream_id, or, without
// one, lists the receiver's streams (SSF §8.1.1.2).
func (t *Transmitter) serveGetStream(c *gin.Context) {
	rcv := t.ssfReceiver(c)
	if rcv == nil {
		return
	}
	if id := c.Query("stream_id"); id != "" {
		if st, ok := t.ownStream(c, rcv, id); ok {
			c.JSON(http.StatusOK, t.streamJSON(st))
		}
		return
	}
	list := []gin.H{}
	st, err := t.streamOf(c.Request.Context(), rcv.Name)
	switch {
	case err == nil:
		list = append(list, t.streamJSON(st))
	case !errors.Is(err, storage.ErrNotFound):
		t.cfg.Log.Error("read SSF stream", "err", err)
		ssfRefuse(c, http.StatusInternalServerError, "server_error", "the streams could not be read")
		return
	}
	c.JSON(http.StatusOK, list)
}

// serveUpdateStream changes the properties the request names (PATCH, SSF
// §8.1.1.3) or replaces them all (PUT, §8.1.1.4).
func (t *Transmitter) serveUpdateStream(c *gin.Context) {
	rcv := t.ssfReceiver(c)
	if rcv == nil {
		return
	}
	req, ok := readStreamRequest(c)
	if !ok {
		return
	}
	st, ok := t.ownStream(c, rcv, req.StreamID)
	if !ok {
		return
	}
	if why := req.apply(st, c.Request.Method == http.MethodPut); why != "" {
		ssfRefuse(c, http.StatusBadRequest, "invalid_request", why)
		return
	}
	if err := t.updateStream(c.Request.Context(), st); err != nil {
		t.cfg.Log.Error("save SSF stream", "err", err)
		ssfRefuse(c, http.StatusInternalServerError, "server_error", "the stream could not be saved")
		return
	}
	t.cfg.Log.Info("Shared Signals stream changed", "receiver", rcv.Name, "stream", st.ID, "events", st.Events)
	c.JSON(http.StatusOK, t.streamJSON(st))
}

// serveDeleteStream deletes the receiver's stream named by stream_id (SSF
// §8.1.1.5).
func (t *Transmitter) serveDeleteStream(c *gin.Context) {
	rcv := t.ssfReceiver(c)
	if rcv == nil {
		return
	}
	st, ok := t.ownStream(c, rcv, c.Query("stream_id"))
	if !ok {
		return
	}
	if err := t.deleteStream(c.Request.Context(), st.ID); err != nil {
		ssfRefuse(c, http.StatusInternalServerError, "server_error", "the stream could not be deleted")
		return
	}
	if err := t.cfg.Outbox.Discard(c.Request.Context(), Kind, st.ID); err != nil {
		t.cfg.Log.Error("Shared Signals: drop a deleted stream's SETs", "err", err)
	}
	c.Status(http.StatusNoContent)
}

// serveStreamStatus reads (GET) or sets (POST) a stream's status (SSF
// §8.1.2): enabled, paused (events held, sent once enabled again) or
// disabled (none sent).
func (t *Transmitter) serveStreamStatus(c *gin.Context) {
	rcv := t.ssfReceiver(c)
	if rcv == nil {
		return
	}
	id := c.Query("stream_id")
	var req struct {
		StreamID string `json:"stream_id"`
		Status   string `json:"status"`
		Reason   string `json:"reason"`
	}
	if c.Request.Method == http.MethodPost {
		if err := json.NewDecoder(c.Request.Body).Decode(&req); err != nil {
			ssfRefuse(c, http.StatusBadRequest, "invalid_request", "the body is not a JSON stream status")
			return
		}
		id = req.StreamID
	}
	st, ok := t.ownStream(c, rcv, id)
	if !ok {
		return
	}
	if c.Request.Method == http.MethodPost {
		if !slices.Contains([]string{streamEnabled, streamPaused, streamDisabled}, req.Status) || len(req.Reason) > 1024 {
			ssfRefuse(c, http.StatusBadRequest, "invalid_request", "status is enabled, paused or disabled; reason at most 1,024 characters")
			return
		}
		st.Status, st.StatusReason = req.Status, req.Reason
		if err := t.updateStream(c.Request.Context(), st); err != nil {
			ssfRefuse(c, http.StatusInternalServerError, "server_error", "the status could not be saved")
			return
		}
		t.cfg.Log.Info("Shared Signals stream status", "receiver", rcv.Name, "stream", st.ID, "status", st.Status)
	}
	out := gin.H{"stream_id": st.ID, "status": st.Status}
	if st.StatusReason != "" {
		out["reason"] = st.StatusReason
	}
	c.JSON(http.StatusOK, out)
}

// serveVerify sends the stream a verification event carrying the state the
// receiver gave (SSF §8.1.4), so that it can check deliveries arrive.
func (t *Transmitter) serveVerify(c *gin.Context) {
	rcv := t.ssfReceiver(c)
	if rcv == nil {
		return
	}
	var req struct {
		StreamID string `json:"stream_id"`
		State    string `json:"state"`
	}
	if err := json.NewDecoder(c.Request.Body).Decode(&req); err != nil || len(req.State) > 1024 {
		ssfRefuse(c, http.StatusBadRequest, "invalid_request", "the body is not a JSON verification request (stream_id, state of at most 1,024 characters)")
		return
	}
	st, ok := t.ownStream(c, rcv, req.StreamID)
	if !ok {
		return
	}
	now := t.cfg.Now()
	set, err := ssf.Sign(t.cfg.Keys, ssf.SET{
		Issuer: t.cfg.Issuer, Audience: jwt.Audience{st.Audience}, IssuedAt: jwt.NewNumericDate(now), ID: rand.Text(),
		Subject: ssf.Subject{Format: "opaque", ID: st.ID},
		Events:  map[string]ssf.Event{ssf.EventVerification: {State: req.State}},
	})
	if err != nil {
		t.cfg.Log.Error("Shared Signals: sign", "err", err)
		ssfRefuse(c, http.StatusInternalServerError, "server_error", "the verification event could not be made")
		return
	}
	m, err := setDelivery{StreamID: st.ID, Event: ssf.EventVerification, SET: set}.message("stream " + st.ID)
	if err != nil {
		ssfRefuse(c, http.StatusInternalServerError, "server_error", "the verification event could not be queued")
		return
	}
	t.deliverNow(c.Request.Context(), m)
	c.Status(http.StatusNoContent)
}

func (t *Transmitter) createStream(ctx context.Context, st *Stream) error {
	return storage.Translate(t.cfg.DB.WithContext(ctx).Create(st).Error)
}

func (t *Transmitter) updateStream(ctx context.Context, st *Stream) error {
	return t.cfg.DB.WithContext(ctx).Model(st).
		Select("audience", "endpoint", "authorization", "events", "description", "status", "status_reason", "updated_at").
		Updates(st).Error
}

func (t *Transmitter) streamOf(ctx context.Context, receiver string) (*Stream, error) {
	var st Stream
	err := t.cfg.DB.WithContext(ctx).Take(&st, "receiver = ?", receiver).Error
	return &st, storage.Translate(err)
}

// deleteStream deletes a stream; its SETs not delivered yet are dropped
// by the outbox's handler, which no longer finds it.
func (t *Transmitter) deleteStream(ctx context.Context, id string) error {
	return t.cfg.DB.WithContext(ctx).Where("id = ?", id).Delete(&Stream{}).Error
}
