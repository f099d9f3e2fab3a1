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

func (c ReplayCache) Consume(id string, until time.Time) error {
	err := c.Store.Remember(context.Background(), "saml", id, until)
	if errors.Is(err, replay.ErrReplayed) {
		return saml.ErrAssertionReplayed
	}
	return err
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
