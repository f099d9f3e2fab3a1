package e2e

import (
	"slices"
	"testing"
	"time"

	"xaa.example/authservers/todo/todoas"
	"xaa.example/e2e/internal/procstat"
	"xaa.example/idp/store"
	"xaa.example/shared/demo"
	"xaa.example/shared/oauth"
)

// BenchmarkChainControls is what an administrator's controls add to a
// chain (issue 35): My todos with no access token held, on SQLite with
// DPoP, first with no step-up, then with the IdP's step-up on the
// connection (check E8), the todo AS's own (R14), both, and the todo
// API's per-call check (A5, with the todo AS's); each policy is met (a
// sign-in within the hour), so every chain completes. Tables
// are seeded as for BenchmarkFullChain, and 200 chains warm each stack.
//
//	go test -run '^$' -bench ChainControls -benchtime 20s -timeout 60m ./e2e/
func BenchmarkChainControls(b *testing.B) {
	for _, name := range []string{"none", "idp-step-up", "resource-step-up", "both", "resource-and-api-step-up"} {
		b.Run(name, func(b *testing.B) {
			atResource := name == "resource-step-up" || name == "both" || name == "resource-and-api-step-up"
			policy := oauth.StepUpPolicy{Scopes: oauth.Scopes{"todos.read", "todos.write"}, MaxAge: time.Hour}
			s := startStack(b, sqliteDB, func(c *configs) {
				if atResource {
					todoas.ConfigureStepUp(c.todoAS, policy)
				}
				if name == "resource-and-api-step-up" {
					c.todo.StepUp = policy // My todos' GET needs todos.read: A5 runs on it
				}
			})
			if name == "idp-step-up" || name == "both" {
				err := s.dbs["idp"].Model(&store.Connection{}).Where("requesting_client_id = ? AND resource_audience = ?", demo.WikiASClientAtIdP, s.topology.TodoAS).
					Updates(map[string]any{"step_up_scopes": "todos.write", "step_up_max_age": 3600}).Error
				if err != nil {
					b.Fatal(err)
				}
			}
			br := warmChainBench(b, s)
			var chains []time.Duration
			loadBefore := procstat.LoadAverage()
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				dropHeldToken(b, s)
				b.StartTimer()
				chains = append(chains, benchChain(b, s, br))
			}
			b.StopTimer()
			b.Logf("machine: %s; load %s -> %s", procstat.Machine(), loadBefore, procstat.LoadAverage())
			slices.Sort(chains)
			b.ReportMetric(float64(chains[len(chains)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(chains[len(chains)*99/100].Microseconds()), "p99-µs")
		})
	}
}
