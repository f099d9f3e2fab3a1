package samlcred

import (
	"errors"
	"testing"
	"time"

	"github.com/crewjam/saml"

	"xaa.example/shared/replay/replaydb"
	"xaa.example/shared/storage/storagetest"
)

// An id crewjam/saml presents twice is refused the second time, whether
// its until comes from the message (the same each time) or from the time
// it arrived (an artifact: a little later each time, across a window's
// edge too).
func TestReplayCacheRefusesSecondUse(t *testing.T) {
	store, err := replaydb.New(storagetest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	cache := ReplayCache{Store: store}
	edge := time.Now().Add(time.Hour).Truncate(replayWindow)
	for _, c := range []struct {
		id            string
		first, second time.Time
	}{
		{"assertion", edge.Add(time.Minute), edge.Add(time.Minute)},
		{"artifact", edge.Add(time.Minute), edge.Add(time.Minute + 40*time.Second)},
		{"artifact-at-an-edge", edge.Add(-time.Second), edge.Add(89 * time.Second)},
	} {
		if err := cache.Consume(c.id, c.first); err != nil {
			t.Fatalf("%s, first use: %v", c.id, err)
		}
		if err := cache.Consume(c.id, c.second); !errors.Is(err, saml.ErrAssertionReplayed) {
			t.Errorf("%s, second use: got %v, want saml.ErrAssertionReplayed", c.id, err)
		}
	}
}
