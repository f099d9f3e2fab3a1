package debugconsole

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"xaa.example/shared/trace"
)

// Collector gathers a run's steps from every service.
type Collector struct {
	// Local is this service's own trace store.
	Local *trace.Store
	// Remote maps the other services' names to their base URLs; each serves
	// its steps at /debug/trace/{id}.
	Remote map[string]string
	Client *http.Client
	// Key proves to the other services that the console asks (trace.Proof).
	Key []byte
}

// Step is one numbered step of a run: a request from one party to another,
// with what the receiver checked.
type Step struct {
	N        int
	From, To string
	trace.Step
	// Seen is "both" when sender and receiver recorded it, otherwise the
	// side that did (an Okta org records nothing for us: its steps are seen
	// from the caller's side).
	Seen string
	// Explain says what the step is for, when its sender named it
	// (stepTexts).
	Explain string
	// Depth is how many steps this one is made within: the todo AS's key
	// fetch during a redeem is at depth 1.
	Depth int
	// Number is the request's number on the page and in the diagram: the
	// step of the chain it is, as the README and step-through mode number
	// them (2 the exchange, 3 the redeem, 4 the API call), or, for a
	// request made within one, that step's number and its place there
	// (3.1, the todo AS's key fetch); "" for a request around them
	// (discovery before the exchange). A chain step tried again (an
	// attack scenario's replay) has its number again.
	Number string
	// Inputs are the variables the step's snippets read, and where to
	// find each (set by Console.Views).
	Inputs []Input
}

// Steps returns the run's steps in order. A service that does not answer
// only leaves its steps out.
func (c *Collector) Steps(ctx context.Context, id string) []Step {
	var all []trace.Step
	if c.Local != nil {
		all = append(all, c.Local.Steps(id)...)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, base := range c.Remote {
		wg.Add(1)
		go func(base string) {
			defer wg.Done()
			steps := c.fetch(ctx, strings.TrimSuffix(base, "/")+"/debug/trace/"+id, id)
			mu.Lock()
			all = append(all, steps...)
			mu.Unlock()
		}(base)
	}
	wg.Wait()
	return pair(all)
}

func (c *Collector) fetch(ctx context.Context, url, id string) []trace.Step {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil
	}
	req.Header.Set("Authorization", trace.Proof(c.Key, id))
	resp, err := c.Client.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var steps []trace.Step
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&steps) != nil {
		return nil
	}
	return steps
}

// pair merges the sender's and the receiver's record of each request into
// one step: the receiver's record (with its checks) and the sender's label.
func pair(all []trace.Step) []Step {
	sort.SliceStable(all, func(i, j int) bool { return all[i].Start.Before(all[j].Start) })
	var clients, servers []trace.Step
	for _, s := range all {
		if s.Side == "client" {
			clients = append(clients, s)
		} else {
			servers = append(servers, s)
		}
	}
	used := make([]bool, len(servers))
	var out []Step
	for _, c := range clients {
		step := Step{From: c.From, To: c.To, Step: c, Seen: "sender"}
		if label, explain := stepWords(c); label != "" {
			step.Label, step.Explain = label, explain
		}
		for i, s := range servers {
			if used[i] || s.From != c.Service || s.Method != c.Method || !strings.HasSuffix(pathOf(c.URL), s.URL) {
				continue
			}
			if s.Start.Before(c.Start.Add(-time.Second)) || s.Start.After(c.Start.Add(c.Duration+time.Second)) {
				continue
			}
			used[i] = true
			label, id, vars, url := step.Label, c.StepID, c.Vars, c.URL
			step.Step = s
			step.StepID, step.Vars = id, vars
			step.Label, step.URL = firstOf(label, s.Label), url
			step.To, step.Seen = s.To, "both"
			break
		}
		out = append(out, step)
	}
	for i, s := range servers {
		if !used[i] {
			out = append(out, Step{From: firstOf(s.From, "browser"), To: s.To, Step: s, Seen: "receiver"})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	// An attack scenario's requests leave the wiki's client, but they are
	// the attacker's: drawn from the attacker, as a presenter tells it.
	for i := range out {
		if out[i].StepID.Attack() {
			out[i].From = partyAttacker
		}
	}
	for i := range out {
		out[i].Depth = depth(out, i)
	}
	number(out)
	for i := range out {
		out[i].N = i + 1
		if out[i].Label == "" {
			out[i].Label = out[i].Method + " " + pathOf(out[i].URL)
		}
	}
	return out
}

func pathOf(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.IndexByte(u[i+3:], '/'); j >= 0 {
			u = u[i+3+j:]
		} else {
			return "/"
		}
	}
	if q := strings.IndexByte(u, '?'); q >= 0 {
		u = u[:q]
	}
	return u
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// depth counts the steps that step i was made within: sent by the party a
// step was sent to, while that step was waiting for its answer.
// within reports whether step i is made while step p runs, by the party p
// was sent to.
func within(steps []Step, i, p int) bool {
	s, q := steps[i], steps[p]
	return p != i && q.To == s.From && !s.Start.Before(q.Start) && !s.Start.Add(s.Duration).After(q.Start.Add(q.Duration))
}

// number sets each step's Number (see Step), in time order.
func number(steps []Step) {
	children := map[int]int{}
	for i := range steps {
		if n := chainStep(steps[i]); n > 0 && steps[i].Depth == 0 {
			steps[i].Number = strconv.Itoa(n)
			continue
		}
		// The innermost step this one is made within, if numbered.
		parent := -1
		for p := range steps {
			if within(steps, i, p) && (parent < 0 || steps[p].Depth > steps[parent].Depth) {
				parent = p
			}
		}
		if parent >= 0 && steps[parent].Number != "" {
			children[parent]++
			steps[i].Number = steps[parent].Number + "." + strconv.Itoa(children[parent])
		}
	}
}

func depth(steps []Step, i int) int {
	n := 0
	for p := range steps {
		if within(steps, i, p) {
			n++
		}
	}
	return n
}
