package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"xaa.example/shared/signin"
)

// loginDevice signs the person in with the device authorization grant
// (RFC 8628), for a terminal whose browser cannot reach a loopback address
// (a Codespace, an SSH session): it shows a code and an address to open on
// any device, then polls the IdP until the person has approved.
func (a *Agent) loginDevice(ctx context.Context) error {
	up := signin.NewUpstream(a.cfg.IdP, a.cfg.HTTP)
	md, err := up.Metadata(ctx)
	if err != nil {
		return fmt.Errorf("the identity provider at %s is not answering: %w", a.cfg.IdP, err)
	}
	var extra struct {
		DeviceEndpoint string `json:"device_authorization_endpoint"`
	}
	if err := a.getJSON(ctx, md.Source, &extra); err != nil || extra.DeviceEndpoint == "" {
		return fmt.Errorf("the identity provider at %s offers no device sign-in; use agent login", a.cfg.IdP)
	}
	var auth struct {
		DeviceCode string `json:"device_code"`
		UserCode   string `json:"user_code"`
		URI        string `json:"verification_uri"`
		Complete   string `json:"verification_uri_complete"`
		ExpiresIn  int    `json:"expires_in"`
		Interval   int    `json:"interval"`
	}
	form := url.Values{"client_id": {a.cfg.ClientID}, "client_secret": {a.cfg.ClientSecret}, "scope": {"openid profile email offline_access"}}
	if err := a.postForm(ctx, extra.DeviceEndpoint, form, &auth); err != nil {
		return fmt.Errorf("the identity provider refused the device sign-in: %w", err)
	}
	fmt.Fprintf(a.out, "On any device, open\n\n  %s\n\nand enter the code %s (or open %s).\nWaiting for the approval…\n", auth.URI, auth.UserCode, auth.Complete)
	interval := max(time.Duration(auth.Interval)*time.Second, time.Second)
	deadline := time.Now().Add(time.Duration(auth.ExpiresIn) * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
		poll := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {auth.DeviceCode},
			"client_id": {a.cfg.ClientID}, "client_secret": {a.cfg.ClientSecret}}
		var tok struct {
			oauth2.Token
			IDToken string `json:"id_token"`
			Error   string `json:"error"`
			Desc    string `json:"error_description"`
		}
		err := a.postForm(ctx, md.TokenEndpoint, poll, &tok)
		switch {
		case tok.Error == "authorization_pending":
			continue
		case tok.Error == "slow_down":
			interval += 5 * time.Second // RFC 8628 §3.5
			continue
		case tok.Error != "":
			return fmt.Errorf("the sign-in did not complete: %s (%s)", tok.Desc, tok.Error)
		case err != nil:
			return err
		}
		t := (&oauth2.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken}).WithExtra(map[string]any{"id_token": tok.IDToken})
		v, err := a.verifyIDToken(ctx, up, t)
		if err != nil {
			return err
		}
		if err := a.save(&v.state); err != nil {
			return err
		}
		fmt.Fprintf(a.out, "Signed in as %s.\n", v.Email)
		return nil
	}
	return errors.New("the code expired before it was approved; run agent login --device again")
}

func (a *Agent) getJSON(ctx context.Context, addr string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, addr, nil)
	if err != nil {
		return err
	}
	resp, err := a.cfg.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out)
}

// postForm posts form and decodes the JSON answer, error or not; a non-JSON
// or server-side failure is an error.
func (a *Agent) postForm(ctx context.Context, addr string, form url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, addr, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := a.cfg.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out); err != nil {
		return fmt.Errorf("%s answered %s", addr, resp.Status)
	}
	if resp.StatusCode >= 500 {
		return fmt.Errorf("%s answered %s", addr, resp.Status)
	}
	return nil
}
