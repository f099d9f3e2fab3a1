package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"xaa.example/shared/demo"
	"xaa.example/shared/storage/storagetest"
)

// BenchmarkFullChain is one My todos with no access token held: the token
// exchange at the wiki AS and the IdP, the jwt-bearer grant at the todo AS,
// the todo API call, and the page, all five services in this process over
// loopback HTTP. Its cryptography is two ES256 signatures (the ID-JAG, the
// access token) and four verifications (the wiki's ID token at its AS,
// the IdP's ID token at the IdP, the ID-JAG, the access token): compare
// with 2 × BenchmarkIssue + 4 × the verify half of BenchmarkCryptoFloor.
func BenchmarkFullChain(b *testing.B) {
	for _, name := range []string{"SQLite", "MariaDB"} {
		b.Run(name, func(b *testing.B) {
			open := sqliteDB
			if name == "MariaDB" {
				open = func(tb testing.TB, _ string) *gorm.DB { return storagetest.MariaDB(tb) }
			}
			s := startStack(b, open)
			br := newBrowser(b)
			br.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
			hops := map[string]time.Duration{}
			b.ResetTimer()
			for b.Loop() {
				// Sign out (which drops the held token) and in again (single
				// sign-on at the IdP), untimed: the next My todos runs the chain.
				b.StopTimer()
				br.post(s.topology.Wiki+"/logout", map[string]string{})
				br.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
				b.StartTimer()
				resp, err := br.client.Get(s.topology.Wiki + "/todos")
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("My todos: %d", resp.StatusCode)
				}
				b.StopTimer()
				addHops(hops, s)
				b.StartTimer()
			}
			// Where the time goes: each hop as the wiki timed it.
			for name, d := range hops {
				b.ReportMetric(float64(d.Microseconds())/float64(b.N), name+"-µs/op")
			}
		})
	}
}

// addHops adds the duration of each request the wiki made in its latest
// run of the chain, by hop, from the wiki's own trace of it.
func addHops(hops map[string]time.Duration, s *stack) {
	runs := s.recorder.Runs()
	if len(runs) == 0 {
		return
	}
	for _, step := range s.traces["wiki"].Steps(runs[0].ID) {
		switch {
		case strings.HasPrefix(step.Label, "Exchange"):
			hops["exchange"] += step.Duration
		case strings.HasPrefix(step.Label, "Redeem"):
			hops["redeem"] += step.Duration
		case strings.Contains(step.URL, "/api/"):
			hops["api"] += step.Duration
		}
	}
}

// BenchmarkTodosPageHeldToken is My todos with the access token held: the
// API call and the page only.
func BenchmarkTodosPageHeldToken(b *testing.B) {
	s := startStack(b, sqliteDB)
	br := newBrowser(b)
	br.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	br.get(s.topology.Wiki + "/todos")
	b.ResetTimer()
	for b.Loop() {
		resp, err := br.client.Get(s.topology.Wiki + "/todos")
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
}
