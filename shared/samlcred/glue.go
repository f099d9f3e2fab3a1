package samlcred

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/crewjam/saml"

	"xaa.example/shared/replay"
)

// ReplayCache is a replay store as crewjam/saml asks for one: each
// assertion (and signed request) ID used once.
type ReplayCache struct{ Store replay.Store }

// replayWindow is the width of the windows Consume files ids in.
const replayWindow = 5 * time.Minute

// Consume records id, or refuses it as a replay. replay.Store needs the
// same until at each presentation of an id, and crewjam/saml gives that
// for assertions and logout requests (from the message) but not for
// artifacts (the time one arrives, plus MaxIssueDelay). So an id is filed
// in the window of replayWindow its until falls in and in the next, each
// kept to its window's end: two presentations whose untils are less than
// a window apart share a window, and the second is refused.
func (c ReplayCache) Consume(id string, until time.Time) error {
	end := until.Truncate(replayWindow).Add(replayWindow)
	for _, w := range []time.Time{end, end.Add(replayWindow)} {
		err := c.Store.Remember(context.Background(), "saml", id, w)
		if errors.Is(err, replay.ErrReplayed) {
			return saml.ErrAssertionReplayed
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Logger sends crewjam/saml's messages to the service's log; its Fatal
// and Panic log an error and return.
type Logger struct{ Log *slog.Logger }

func (l Logger) Printf(format string, v ...any) { l.Log.Info("saml: " + fmt.Sprintf(format, v...)) }
func (l Logger) Print(v ...any)                 { l.Log.Info("saml: " + fmt.Sprint(v...)) }
func (l Logger) Println(v ...any)               { l.Log.Info("saml: " + fmt.Sprint(v...)) }
func (l Logger) Fatal(v ...any)                 { l.Log.Error("saml: " + fmt.Sprint(v...)) }
func (l Logger) Fatalf(format string, v ...any) {
	l.Log.Error("saml: " + fmt.Sprintf(format, v...))
}
func (l Logger) Panic(v ...any) { l.Log.Error("saml: " + fmt.Sprint(v...)) }
func (l Logger) Panicf(format string, v ...any) {
	l.Log.Error("saml: " + fmt.Sprintf(format, v...))
}
func (l Logger) Fatalln(v ...any) { l.Log.Error("saml: " + fmt.Sprint(v...)) }
func (l Logger) Panicln(v ...any) { l.Log.Error("saml: " + fmt.Sprint(v...)) }
