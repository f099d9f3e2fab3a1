package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"xaa.example/shared/trace"
)

// run runs one command that goes through the chain as a run of the debug
// console: its requests carry a trace id, under which the IdP, the todo
// AS and the todo app record their side with their checks; once it is
// over the agent tells the wiki's console (report). The console's steps
// come from those servers, not from the agent.
func (a *Agent) run(ctx context.Context, title string, do func(context.Context) error) error {
	id := trace.NewID()
	started := a.cfg.Now()
	err := do(trace.WithID(ctx, id))
	outcome := "Done."
	if err != nil {
		outcome = sentence(err.Error())
	}
	a.report(ctx, id, "Agent: "+title, outcome, err != nil, started)
	return err
}

// reportTimeout bounds telling the console: a console that is down or
// far away must not slow the command.
const reportTimeout = 2 * time.Second

// report tells the console of a run, proved with the person's ID token
// from the IdP. It never fails the command: with no console, no sign-in
// or no answer, the run is simply not shown (-v says why).
func (a *Agent) report(ctx context.Context, id, title, outcome string, failed bool, started time.Time) {
	if a.cfg.Console == "" {
		return
	}
	s, err := a.load()
	if err != nil {
		return
	}
	body, _ := json.Marshal(map[string]any{"id": id, "title": title, "outcome": outcome, "failed": failed, "started": started})
	ctx, cancel := context.WithTimeout(ctx, reportTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.Console+"/debug/reports", bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.IDToken)
	resp, err := a.cfg.HTTP.Do(req)
	if err != nil {
		a.verbose("debug console at %s not reached: %v", a.cfg.Console, err)
		return
	}
	defer resp.Body.Close()
	var answer struct {
		Console     string `json:"console"`
		Description string `json:"error_description"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 4<<10)).Decode(&answer)
	if resp.StatusCode != http.StatusCreated {
		a.verbose("debug console did not take the run (%s): %s", resp.Status, answer.Description)
		return
	}
	a.verbose("this run in the debug console: %s", answer.Console)
}

// sentence is an error's text as the console shows it, a sentence: Go's
// errors start in lower case and end without a full stop.
func sentence(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 {
		return s
	}
	s = string(unicode.ToUpper(r)) + s[size:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "!") {
		s += "."
	}
	return s
}
