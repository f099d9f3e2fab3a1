package e2e

import (
	"net/http"
	"testing"

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
			wiki := s.dbs["wiki"]
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				wiki.Exec("DELETE FROM access_tokens")
				b.StartTimer()
				resp, err := br.client.Get(s.topology.Wiki + "/todos")
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("My todos: %d", resp.StatusCode)
				}
			}
		})
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
