// Package numericdate is a JWT NumericDate (RFC 7519 §2: seconds since
// the epoch, which "can be" non-integer) kept to the millisecond, for the
// two times this project compares within one second: when an access token
// was issued (iat) and when a Shared Signals event happened
// (event_timestamp, RFC 8417 §2.2 and CAEP). Issued after an event in the
// same second, a token must still work; with whole seconds a receiver
// cannot tell it from one issued just before, and has to end both.
//
// A Date is written with three decimals ("1765141234.567"), always, so that
// a reader can tell a precise time from a whole second, which another
// issuer may send: Precise says which the JSON held.
package numericdate

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"time"
)

// Date is a NumericDate to the millisecond.
type Date struct {
	t       time.Time
	precise bool
}

// New is t, to the millisecond.
func New(t time.Time) *Date { return &Date{t: t.Truncate(time.Millisecond), precise: true} }

// Time is the date as a time.
func (d *Date) Time() time.Time { return d.t }

// Precise reports whether the date has its milliseconds: made here, or
// read from a number with a fraction. A whole number of seconds read from
// JSON stands for any instant of that second.
func (d *Date) Precise() bool { return d.precise }

// MarshalJSON writes seconds with three decimals.
func (d Date) MarshalJSON() ([]byte, error) {
	if !d.precise {
		return strconv.AppendInt(nil, d.t.Unix(), 10), nil
	}
	return strconv.AppendFloat(nil, float64(d.t.UnixMilli())/1000, 'f', 3, 64), nil
}

// UnmarshalJSON reads a NumericDate, integer or not.
func (d *Date) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e13 {
		return errors.New("a NumericDate is a number of seconds")
	}
	d.t = time.UnixMilli(int64(math.Round(f * 1000))).UTC()
	d.precise = bytes.ContainsAny(b, ".eE")
	return nil
}
