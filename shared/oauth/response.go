package oauth

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
)

// WriteJSON writes a token-endpoint style JSON response. Every response that
// may carry a token is marked uncacheable (RFC 6749 §5.1).
func WriteJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ErrorBody is the JSON shape of an OAuth error response.
type ErrorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
	// ErrorReason is Error.Reason (an extension member).
	ErrorReason Reason `json:"error_reason,omitempty"`
	// ACRValues and MaxAge are an insufficient_user_authentication
	// answer's (RFC 9470 §3; the ID-JAG draft puts max_age in the body).
	ACRValues string `json:"acr_values,omitempty"`
	MaxAge    *int   `json:"max_age,omitempty"`
}

// ReadError is the error a server answered, as this package's *Error: the
// one type for OAuth errors on both sides of the wire. A body that is no
// OAuth error is server_error, saying what was answered.
func ReadError(status int, body []byte, from string) *Error {
	var e ErrorBody
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		return &Error{Status: status, Code: "server_error", Description: from + " answered " + http.StatusText(status)}
	}
	oe := &Error{Status: status, Code: e.Error, Description: e.ErrorDescription, Reason: e.ErrorReason}
	if e.ACRValues != "" || e.MaxAge != nil {
		oe.StepUp = &StepUp{ACRValues: e.ACRValues, MaxAge: e.MaxAge}
	}
	return oe
}

// WriteError answers with err as an OAuth error. The private cause is logged,
// never sent. invalid_client answers carry WWW-Authenticate (RFC 6749 §5.2).
func WriteError(w http.ResponseWriter, log *slog.Logger, err error) {
	oe := AsError(err)
	if log != nil {
		level := slog.LevelInfo
		if oe.Status >= 500 {
			level = slog.LevelError
		}
		log.Log(context.Background(), level, "oauth error", "error", oe.Code, "description", oe.Description, "cause", oe.cause)
	}
	if oe.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
	}
	body := ErrorBody{Error: oe.Code, ErrorDescription: oe.Description, ErrorReason: oe.Reason}
	if oe.StepUp != nil {
		body.ACRValues, body.MaxAge = oe.StepUp.ACRValues, oe.StepUp.MaxAge
	}
	WriteJSON(w, oe.Status, body)
}

// WriteMetadata writes a discovery document (RFC 8414 §3, OpenID Connect
// Discovery §4): public, indented for people reading it, cacheable briefly.
func WriteMetadata(w http.ResponseWriter, md any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(md)
}
