package numericdate

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

func TestRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 7, 20, 0, 34, 567_891_000, time.UTC)
	b, err := json.Marshal(New(at))
	if err != nil || string(b) != "1796673634.567" {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var d Date
	if err := json.Unmarshal(b, &d); err != nil || !d.Precise() || !d.Time().Equal(at.Truncate(time.Millisecond)) {
		t.Fatalf("Unmarshal = %v precise %v, %v", d.Time(), d.Precise(), err)
	}
	// A time on a whole second keeps its decimals: it is still precise.
	if b, _ := json.Marshal(New(at.Truncate(time.Second))); string(b) != "1796673634.000" {
		t.Errorf("a whole second is written %s", b)
	}
}

func TestWholeSecondsOfOthers(t *testing.T) {
	var d Date
	if err := json.Unmarshal([]byte("1796673634"), &d); err != nil || d.Precise() || d.Time().Unix() != 1796673634 {
		t.Fatalf("an integer: %v precise %v, %v", d.Time(), d.Precise(), err)
	}
	if b, _ := json.Marshal(d); string(b) != "1796673634" {
		t.Errorf("an integer read is written back as %s", b)
	}
	for _, bad := range []string{`"1796673634"`, `null1`, `1e400`, `true`} {
		if err := json.Unmarshal([]byte(bad), &d); err == nil {
			t.Errorf("%s was read as a date", bad)
		}
	}
}

// TestOtherLibrariesReadIt: go-jose's NumericDate, which a resource server
// elsewhere may use, reads a Date as its whole second.
func TestOtherLibrariesReadIt(t *testing.T) {
	b, _ := json.Marshal(New(time.Unix(1796673634, 567_000_000)))
	var n jwt.NumericDate
	if err := json.Unmarshal(b, &n); err != nil || n.Time().Unix() != 1796673634 {
		t.Errorf("go-jose reads %s as %v, %v", b, n.Time(), err)
	}
}
