// Package replay remembers single-use token ids (jti) until they expire:
// ID-JAGs at the resource authorization server (docs/PROTOCOL.md check R9) and
// client assertions at any token endpoint (RFC 7523 §3, item 7). This is
// the interface the protocol packages use; replaydb keeps the ids in the
// database, so every replica of a server sees every use.
//
// It must not depend on any grant, nor on gorm.
package replay

import (
	"context"
	"errors"
	"time"
)

// Store remembers (issuer, jti) pairs until they expire. Remember returns
// ErrReplayed when the pair was seen before; any other error means the
// store could not answer, and the caller must refuse (fail closed).
//
// until must be the same at every presentation of an assertion: derived
// from the assertion itself (its exp, iat or NotOnOrAfter) and the
// server's settings, never from the time it arrived. replaydb files ids
// by it.
type Store interface {
	Remember(ctx context.Context, issuer, jti string, until time.Time) error
}

// ErrReplayed is returned by Remember for a jti already used.
var ErrReplayed = errors.New("jti already used")
