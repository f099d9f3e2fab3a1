package dpop

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"
)

// RotatingNonces are server nonces (§8) that need no storage: the nonce of
// a period is an HMAC of the period's number under Key, so every replica
// sharing the key gives and accepts the same ones. The current period's
// nonce and the one before are valid, so a nonce is good for between one
// and two periods.
type RotatingNonces struct {
	Key    []byte
	Period time.Duration
	Now    func() time.Time
}

func (n *RotatingNonces) period() int64 {
	now := time.Now
	if n.Now != nil {
		now = n.Now
	}
	p := n.Period
	if p <= 0 {
		p = 5 * time.Minute
	}
	return now().UnixNano() / int64(p)
}

func (n *RotatingNonces) nonce(period int64) string {
	m := hmac.New(sha256.New, n.Key)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(period))
	m.Write([]byte("dpop-nonce:"))
	m.Write(b[:])
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// Current is the nonce to send now.
func (n *RotatingNonces) Current() string { return n.nonce(n.period()) }

// Valid reports whether nonce is this period's or the last one's.
func (n *RotatingNonces) Valid(nonce string) bool {
	p := n.period()
	return hmac.Equal([]byte(nonce), []byte(n.nonce(p))) || hmac.Equal([]byte(nonce), []byte(n.nonce(p-1)))
}
