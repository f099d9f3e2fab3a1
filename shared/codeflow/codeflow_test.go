package codeflow

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"xaa.example/shared/oauth"
	"xaa.example/shared/storage/storagetest"
)

const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

func challenge() string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func issued(_ context.Context, s Session) (*oauth.TokenResponse, error) {
	return &oauth.TokenResponse{AccessToken: "for-" + s.UserID, TokenType: "Bearer"}, nil
}

func codeRequest(code, redirect, verifier string) *oauth.TokenRequest {
	return oauth.ParseTokenRequest(map[string][]string{"code": {code}, "redirect_uri": {redirect}, "code_verifier": {verifier}}, &oauth.Client{ID: "app"})
}

func TestAuthCodeGrant(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		now := time.Now()
		st, err := NewStore(db, func() time.Time { return now })
		if err != nil {
			t.Fatal(err)
		}
		grant := &AuthCodeGrant{Store: st, Issue: issued}
		newCode := func() string {
			code, err := st.NewCode(ctx, Session{ClientID: "app", UserID: "u1"}, "https://app/cb", challenge())
			if err != nil {
				t.Fatal(err)
			}
			return code
		}

		tests := []struct {
			name     string
			req      func(code string) *oauth.TokenRequest
			wantCode string
		}{
			{name: "valid", req: func(c string) *oauth.TokenRequest { return codeRequest(c, "https://app/cb", verifier) }},
			{name: "wrong verifier", req: func(c string) *oauth.TokenRequest {
				return codeRequest(c, "https://app/cb", "x"+verifier[1:])
			}, wantCode: "invalid_grant"},
			{name: "wrong redirect", req: func(c string) *oauth.TokenRequest { return codeRequest(c, "https://evil/cb", verifier) }, wantCode: "invalid_grant"},
			{name: "other client", req: func(c string) *oauth.TokenRequest {
				r := codeRequest(c, "https://app/cb", verifier)
				r.Client = &oauth.Client{ID: "other"}
				return r
			}, wantCode: "invalid_grant"},
			{name: "unknown code", req: func(string) *oauth.TokenRequest { return codeRequest("nope", "https://app/cb", verifier) }, wantCode: "invalid_grant"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp, err := grant.Handle(ctx, tt.req(newCode()))
				if tt.wantCode == "" {
					if err != nil || resp.AccessToken != "for-u1" {
						t.Fatalf("got %v, %v", resp, err)
					}
					return
				}
				if got := oauth.AsError(err).Code; got != tt.wantCode {
					t.Fatalf("error %q (%v), want %q", got, err, tt.wantCode)
				}
			})
		}

		t.Run("expired", func(t *testing.T) {
			code := newCode()
			now = now.Add(CodeLifetime + time.Second)
			defer func() { now = now.Add(-CodeLifetime - time.Second) }()
			if _, err := grant.Handle(ctx, codeRequest(code, "https://app/cb", verifier)); oauth.AsError(err).Code != "invalid_grant" {
				t.Fatalf("got %v, want invalid_grant", err)
			}
		})

		t.Run("used once, even concurrently", func(t *testing.T) {
			code := newCode()
			var wg sync.WaitGroup
			results := make(chan error, 4)
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := grant.Handle(ctx, codeRequest(code, "https://app/cb", verifier))
					results <- err
				}()
			}
			wg.Wait()
			close(results)
			ok := 0
			for err := range results {
				if err == nil {
					ok++
				} else if oauth.AsError(err).Code != "invalid_grant" {
					t.Errorf("losing redemption: %v, want invalid_grant", err)
				}
			}
			if ok != 1 {
				t.Fatalf("%d redemptions succeeded, want exactly 1", ok)
			}
		})
	})
}

// TestRefreshGrantRotates: a refresh token works for RefreshReuseGrace after
// its first use (two requests of one person racing to refresh both
// succeed, also when sent at once) and never after that.
func TestRefreshGrantRotates(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		var mu sync.Mutex
		now := time.Now()
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		st, err := NewStore(db, clock)
		if err != nil {
			t.Fatal(err)
		}
		grant := &RefreshGrant{Store: st, Issue: issued}
		token, err := st.NewRefreshToken(ctx, Session{ClientID: "app", UserID: "u1"})
		if err != nil {
			t.Fatal(err)
		}
		req := oauth.ParseTokenRequest(map[string][]string{"refresh_token": {token}}, &oauth.Client{ID: "app"})
		errs := make(chan error, 6)
		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() {
				_, err := grant.Handle(ctx, req)
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("a concurrent use within the grace period: %v", err)
			}
		}
		mu.Lock()
		now = now.Add(RefreshReuseGrace + 2*time.Second)
		mu.Unlock()
		if _, err := grant.Handle(ctx, req); oauth.AsError(err).Code != "invalid_grant" {
			t.Fatalf("a use after the grace period: got %v, want invalid_grant", err)
		}
		fresh, _ := st.NewRefreshToken(ctx, Session{ClientID: "app", UserID: "u1"})
		other := oauth.ParseTokenRequest(map[string][]string{"refresh_token": {fresh}}, &oauth.Client{ID: "other"})
		if _, err := grant.Handle(ctx, other); oauth.AsError(err).Code != "invalid_grant" {
			t.Fatalf("another client's refresh token: got %v, want invalid_grant", err)
		}
	})
}
