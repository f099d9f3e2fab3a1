package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"gorm.io/gorm"

	"xaa.example/apps/todo/todoapp"
	"xaa.example/e2e/internal/procstat"
	"xaa.example/e2e/internal/seed"
	"xaa.example/shared/demo"
	"xaa.example/shared/replay/replaydb"
	"xaa.example/shared/storage/storagetest"
	"xaa.example/shared/trace"
)

// BenchmarkFullChain is one My todos with no access token held: the token
// exchange at the wiki AS and the IdP, the jwt-bearer grant at the todo AS,
// the todo API call, and the page, all five services in this process over
// loopback HTTP. Its median is reported against its physical floor,
// measured in the same run (chainFloor): the chain's signatures and
// verifications, four loopback HTTP round trips to an empty handler, and
// the durable writes it must make, each timed alone.
//
// The tables the chain appends to are first filled to a running server's
// size (SEED_ROWS, default 1,000,000 each; 0 leaves them empty): the todo
// AS's replay records and the IdP's audit log; the floor's writes go into
// the todo AS's seeded replay table. Then 200 chains warm the stack up,
// untimed, before the measured ones.
//
//	go test -run '^$' -bench FullChain -benchtime 20s -timeout 60m ./e2e/
func BenchmarkFullChain(b *testing.B) {
	// Each database with the chain bound to the wiki's key (DPoP, the
	// default) and as bearer tokens, to show what the proofs cost.
	for _, name := range []string{"SQLite/DPoP", "SQLite/Bearer", "MariaDB/DPoP", "MariaDB/Bearer"} {
		b.Run(name, func(b *testing.B) {
			open := sqliteDB
			if strings.HasPrefix(name, "MariaDB") {
				open = func(tb testing.TB, _ string) *gorm.DB { return storagetest.MariaDB(tb) }
			}
			withDPoP := strings.HasSuffix(name, "/DPoP")
			s := startStack(b, open, func(c *configs) { c.wiki.DPoP = withDPoP })
			br := warmChainBench(b, s)
			hops := map[string]time.Duration{}
			var chains []time.Duration
			var writes int64
			loadBefore := procstat.LoadAverage()
			b.ResetTimer()
			for b.Loop() {
				// Drop the access token the wiki holds, untimed, as when it
				// has expired: the next My todos runs the chain.
				b.StopTimer()
				dropHeldToken(b, s)
				before := writesSoFar(b, s)
				b.StartTimer()
				chains = append(chains, benchChain(b, s, br))
				b.StopTimer()
				writes += writesSoFar(b, s) - before
				addHops(hops, s)
				b.StartTimer()
			}
			b.StopTimer()
			// Every figure with the machine it was measured on and how busy
			// that was (docs/PERFORMANCE.md).
			b.Logf("machine: %s; load %s -> %s", procstat.Machine(), loadBefore, procstat.LoadAverage())
			// Where the time goes: each hop as the wiki timed it; the
			// median chain; and that median against its floor, measured
			// here and now.
			for name, d := range hops {
				b.ReportMetric(float64(d.Microseconds())/float64(b.N), name+"-µs/op")
			}
			slices.Sort(chains)
			p50 := chains[len(chains)/2]
			f := chainFloor(b, s.dbs["todo-as"], withDPoP)
			b.ReportMetric(float64(p50.Microseconds()), "p50-µs")
			b.ReportMetric(float64(f.crypto.Microseconds()), "floor-crypto-µs")
			b.ReportMetric(float64(f.http.Microseconds()), "floor-http-µs")
			b.ReportMetric(float64(f.writes.Microseconds()), "floor-writes-µs")
			b.ReportMetric(float64(f.total().Microseconds()), "floor-µs")
			b.ReportMetric(float64(p50)/float64(f.total()), "p50/floor")
			b.ReportMetric(float64(writes)/float64(b.N), "writes/op")
		})
	}
}

// warmChainBench signs bob in, fills the tables the chain appends to
// (seedRows), and runs 200 chains untimed; it returns bob's browser.
func warmChainBench(b *testing.B, s *stack) *browser {
	b.Helper()
	br := newBrowser(b)
	br.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	rows := seedRows(b)
	if err := seed.ReplayRecords(s.dbs["todo-as"], rows); err != nil {
		b.Fatal(err)
	}
	if err := seed.AuditEvents(s.dbs["idp"], rows); err != nil {
		b.Fatal(err)
	}
	for range 200 {
		dropHeldToken(b, s)
		benchChain(b, s, br)
	}
	return br
}

// dropHeldToken deletes the access token the wiki holds, as when it has
// expired, so that the next My todos runs the chain.
func dropHeldToken(b *testing.B, s *stack) {
	b.Helper()
	if err := s.dbs["wiki"].Exec("DELETE FROM access_tokens").Error; err != nil {
		b.Fatal(err)
	}
}

// benchChain returns how long a My todos takes: with no token held, the
// whole chain.
func benchChain(b *testing.B, s *stack, br *browser) time.Duration {
	b.Helper()
	start := time.Now()
	resp, err := br.client.Get(s.topology.Wiki + "/todos")
	if err != nil {
		b.Fatal(err)
	}
	// Read whole, as a browser does, so the connection is kept.
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("My todos: %d", resp.StatusCode)
	}
	return took
}

// seedRows is SEED_ROWS, or seed.SteadyRows.
func seedRows(b *testing.B) int {
	v := os.Getenv("SEED_ROWS")
	if v == "" {
		return seed.SteadyRows
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		b.Fatalf("SEED_ROWS=%q is not a count of rows", v)
	}
	return n
}

// floor is the least a chain can cost, by part.
type floor struct {
	crypto time.Duration // its signatures and verifications
	http   time.Duration // four loopback round trips to an empty handler
	writes time.Duration // the durable writes it must make
}

func (f floor) total() time.Duration { return f.crypto + f.http + f.writes }

// chainFloor measures the chain's floor, each part alone, as medians of
// 200 runs:
//
//   - cryptography: the ID-JAG and the access token signed (ES256); the
//     wiki's ID token (at the wiki AS) and the IdP's ID token (at the IdP)
//     verified (RS256, OpenID Connect's default), then the ID-JAG and the
//     access token; with DPoP, three proofs signed by the wiki and
//     verified (ES256: exchange, redeem, API call);
//   - four loopback HTTP round trips (wiki to wiki AS, wiki AS to IdP, wiki
//     to todo AS, wiki to todo API), a token request's size, to a handler
//     that does nothing, over a kept-alive connection;
//   - the writes the chain must make durably, each a one-row insert into
//     the todo AS's own seeded replay table, through its own database
//     handle once the chains are done: the IdP's audit record
//     of the ID-JAG it issued (docs/PROTOCOL.md: every issuance is an audit
//     event), the ID-JAG's jti (once only, §7 of the ID-JAG draft), the
//     access token the wiki keeps, and with DPoP each proof's jti (RFC 9449
//     §11.1).
func chainFloor(b *testing.B, replay *gorm.DB, withDPoP bool) floor {
	b.Helper()
	median := func(runs int, one func()) time.Duration {
		ds := make([]time.Duration, runs)
		for i := range ds {
			start := time.Now()
			one()
			ds[i] = time.Since(start)
		}
		slices.Sort(ds)
		return ds[runs/2]
	}
	var f floor

	es, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	esSigner, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: es}, nil)
	if err != nil {
		b.Fatal(err)
	}
	rsSigner, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: rsaKey}, nil)
	if err != nil {
		b.Fatal(err)
	}
	payload := []byte(`{"iss":"http://localhost:4000","sub":"00u1bob","aud":"http://localhost:5001","client_id":"wiki-at-todo",` +
		`"jti":"0123456789abcdef","iat":1790000000,"exp":1790000300,"scope":"todos.read","resource":"http://localhost:3001/api"}`)
	idToken, err := rsSigner.Sign(payload)
	if err != nil {
		b.Fatal(err)
	}
	proofs := 0
	if withDPoP {
		proofs = 3
	}
	f.crypto = median(200, func() {
		for range 2 { // the ID tokens, signed at sign-in, verified in the chain
			if _, err := idToken.Verify(&rsaKey.PublicKey); err != nil {
				b.Fatal(err)
			}
		}
		for range 2 + proofs { // the ID-JAG, the access token, the proofs
			jws, err := esSigner.Sign(payload)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := jws.Verify(&es.PublicKey); err != nil {
				b.Fatal(err)
			}
		}
	})

	empty := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	}))
	defer empty.Close()
	client := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	defer client.CloseIdleConnections()
	body := strings.Repeat("x", 1200) // a token request with its subject token
	f.http = median(200, func() {
		for range 4 {
			resp, err := client.Post(empty.URL, "application/x-www-form-urlencoded", strings.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})

	n := 0
	until := time.Now().Add(time.Hour)
	// Through database/sql, as replaydb writes: gorm's Exec would spread
	// the []byte key into a list of its bytes.
	sqlDB, err := replay.DB()
	if err != nil {
		b.Fatal(err)
	}
	one := median(200, func() {
		n++
		key := replaydb.Key("floor", "floor-"+strconv.Itoa(n), until)
		if _, err := sqlDB.Exec("INSERT INTO spent_jtis (`key`, issuer, expires_at) VALUES (?, ?, ?)", key, "floor", until.UTC()); err != nil {
			b.Fatal(err)
		}
	})
	f.writes = time.Duration(3+proofs) * one
	return f
}

// writesSoFar counts the stack's writes: on SQLite the rows inserted,
// changed or deleted (total_changes(), summed over the services' files,
// each with its one connection); on MariaDB the statements that write
// (Com_insert, Com_update, Com_delete, for the whole server: nothing else
// writes during the benchmark).
func writesSoFar(b *testing.B, s *stack) int64 {
	b.Helper()
	var total int64
	if db := s.dbs["wiki"]; db.Dialector.Name() != "sqlite" {
		// One server for all five services: its counters are the sum.
		var rows []struct {
			Name  string `gorm:"column:Variable_name"`
			Value int64  `gorm:"column:Value"`
		}
		if err := db.Raw("SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_insert','Com_update','Com_delete','Com_replace')").Scan(&rows).Error; err != nil {
			b.Fatal(err)
		}
		if len(rows) == 0 {
			b.Fatal("MariaDB reported no Com_ counters")
		}
		for _, r := range rows {
			total += r.Value
		}
		return total
	}
	for _, db := range s.dbs {
		var n int64
		if err := db.Raw("SELECT total_changes()").Scan(&n).Error; err != nil {
			b.Fatal(err)
		}
		total += n
	}
	return total
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
		case step.StepID == trace.StepExchange:
			hops["exchange"] += step.Duration
		case step.StepID == trace.StepRedeem:
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

// BenchmarkLongList is a list of 5,000 todos and more (issue 12's size): the
// todo API's first page with a held access token, and the todo app's own
// list page, each reported with its p50 and p99. Run for sustained
// figures: go test -run '^$' -bench LongList -benchtime 20s ./e2e/
func BenchmarkLongList(b *testing.B) {
	s := startStack(b, sqliteDB)
	rows := make([]todoapp.Todo, 5000)
	for i := range rows {
		rows[i] = todoapp.Todo{OwnerID: demo.AccountID("bob@tables.fake"), Title: "A realistic task title of some length " + strings.Repeat("x", i%200), Done: i%3 == 0}
	}
	if err := s.dbs["todo"].CreateInBatches(rows, 500).Error; err != nil {
		b.Fatal(err)
	}
	br := newBrowser(b)
	br.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	br.get(s.topology.Wiki + "/todos")
	br.signIn(s.topology.Todo, "bob@tables.fake", demo.Password)
	var token string
	if err := s.dbs["wiki"].Table("access_tokens").Select("token").Row().Scan(&token); err != nil {
		b.Fatal(err)
	}
	measure := func(b *testing.B, do func() (*http.Response, error)) {
		var times []time.Duration
		for b.Loop() {
			start := time.Now()
			resp, err := do()
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Fatalf("%v %v", resp, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			times = append(times, time.Since(start))
		}
		slices.Sort(times)
		b.ReportMetric(float64(times[len(times)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(times[len(times)*99/100].Microseconds()), "p99-µs")
	}
	b.Run("api-first-page", func(b *testing.B) {
		measure(b, func() (*http.Response, error) {
			req, _ := http.NewRequest(http.MethodGet, s.topology.TodoAPI()+"/todos", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			return http.DefaultClient.Do(req)
		})
	})
	b.Run("todo-app-list", func(b *testing.B) {
		measure(b, func() (*http.Response, error) { return br.client.Get(s.topology.Todo + "/") })
	})
	b.Run("wiki-my-todos", func(b *testing.B) {
		measure(b, func() (*http.Response, error) { return br.client.Get(s.topology.Wiki + "/todos") })
	})
}
