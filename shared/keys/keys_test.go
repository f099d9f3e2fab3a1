package keys

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"gorm.io/gorm"

	"xaa.example/shared/storage/storagetest"
)

func kidOf(t *testing.T, s *Set, token string) string {
	t.Helper()
	var claims map[string]any
	if err := s.Verify(token, "JWT", &claims); err != nil {
		t.Fatalf("own token does not verify: %v", err)
	}
	tok, err := jwt.ParseSigned(token, Algorithms)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Headers[0].KeyID
}

func TestRotation(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s, err := LoadOrCreate(ctx, db)
		now := time.Now().Add(time.Second)
		if err != nil {
			t.Fatal(err)
		}
		s.Now = func() time.Time { return now }
		first := s.KeyID()
		old, _ := s.Sign("JWT", map[string]any{"n": 1})

		// Keys persist: a restart signs with the same key.
		again, err := LoadOrCreate(ctx, db)
		if err != nil || again.KeyID() != first {
			t.Fatalf("after a restart the key is %q, want %q (%v)", again.KeyID(), first, err)
		}

		next, err := s.Rotate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(s.JWKS().Keys); n != 2*len(Algorithms) {
			t.Fatalf("after rotating, %d published keys, want 2 of each algorithm", n)
		}
		if s.KeyID() != first {
			t.Fatal("the new key signs before its pre-publication is over")
		}

		now = now.Add(DefaultPrePublish + time.Second)
		tok, _ := s.Sign("JWT", map[string]any{"n": 2})
		if got := kidOf(t, s, tok); got != next {
			t.Fatalf("after pre-publication, signed with %q, want the new key %q", got, next)
		}
		if kidOf(t, s, old) != first {
			t.Fatal("a token of the old key no longer verifies")
		}

		// Another replica sees the rotation when it reloads.
		again.Now = s.Now
		if err := again.Reload(ctx); err != nil || again.KeyID() != next {
			t.Fatalf("another replica signs with %q after reloading, want %q", again.KeyID(), next)
		}

		// Once its tokens have expired, the old key is retired.
		now = now.Add(DefaultRetireAfter + time.Minute)
		if err := s.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		keys := s.JWKS().Keys
		if len(keys) != len(Algorithms) || !slices.ContainsFunc(keys, func(k jose.JSONWebKey) bool { return k.KeyID == next }) {
			t.Fatalf("after retirement: %d keys, want only the new one of each algorithm", len(keys))
		}
		var rows int64
		db.Model(&SigningKey{}).Count(&rows)
		if rows != int64(len(Algorithms)) {
			t.Fatalf("%d stored keys after retirement, want one of each algorithm", rows)
		}
	})
}

// TestBothAlgorithms: a service signs with ES256 by default and with RS256
// when asked, publishes a key of each, and verifies both; a token whose alg
// does not match its key's is refused.
func TestBothAlgorithms(t *testing.T) {
	s, err := LoadOrCreate(context.Background(), storagetest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	algs := map[string]bool{}
	for _, k := range s.JWKS().Keys {
		algs[k.Algorithm] = true
	}
	if !algs["ES256"] || !algs["RS256"] {
		t.Fatalf("published algorithms %v, want ES256 and RS256", algs)
	}
	for _, alg := range Algorithms {
		tok, err := s.SignWith(alg, "JWT", map[string]any{"n": 1})
		if err != nil {
			t.Fatal(err)
		}
		parsed, _ := jwt.ParseSigned(tok, Algorithms)
		if got := parsed.Headers[0].Algorithm; got != string(alg) {
			t.Errorf("signed with %s, want %s", got, alg)
		}
		var claims map[string]any
		if err := s.Verify(tok, "JWT", &claims); err != nil {
			t.Errorf("%s token does not verify: %v", alg, err)
		}
	}
}

// TestConcurrentSigning: each key's signer for a typ is made once and
// shared by every request; tokens signed at once by many goroutines, with
// two typs, each verify and carry their own typ.
func TestConcurrentSigning(t *testing.T) {
	s, err := LoadOrCreate(context.Background(), storagetest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	typs := []string{"JWT", "at+jwt"}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 25 {
				typ := typs[(g+i)%2]
				tok, err := s.Sign(typ, map[string]any{"g": g, "i": i})
				if err != nil {
					t.Error(err)
					return
				}
				var claims struct {
					G int `json:"g"`
					I int `json:"i"`
				}
				if err := s.Verify(tok, typ, &claims); err != nil || claims.G != g || claims.I != i {
					t.Errorf("token %d of goroutine %d (typ %s): claims %+v, %v", i, g, typ, claims, err)
				}
			}
		})
	}
	wg.Wait()
}
