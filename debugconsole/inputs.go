package debugconsole

import (
	"fmt"
	"strings"
)

// A snippet reads what the console hid from environment variables. The
// Code tab lists each one a step's snippets read and where the person
// finds it, so that steps 2, 3 and 4 run one after the other from a
// terminal: the exchange's answer is the redeem's ASSERTION, the redeem's
// answer the call's ACCESS_TOKEN.

// Input is one variable a step's snippets read.
type Input struct {
	Name  string
	Where string
	// Command makes the value, when a command does.
	Command string
	// Link is a page of this console's app that gives the value to the
	// signed-in person (their own ID token), with LinkText on it.
	Link, LinkText string
}

// InputHelp is what the console's app knows about where hidden values
// come from.
type InputHelp struct {
	// Self is the party serving the console ("wiki"). Its own requests'
	// subject token is the person's ID token, which IDTokenURL shows them.
	Self       string
	IDTokenURL string
	// Secrets says, by client id, where that client's secret is set.
	Secrets map[string]string
}

// dpopKey is where a snippet's DPoP key comes from.
var dpopKey = Input{Name: "DPOP_KEY",
	Where:   "the file of a P-256 key of your own (DPOP_KEY=dpop.pem after this command). Use the same file for steps 2, 3 and 4: the ID-JAG and the access token are bound to its key.",
	Command: "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out dpop.pem"}

// inputs lists the variables s's snippets read, in the order they are
// needed.
func (h InputHelp) inputs(s Step) []Input {
	r := readRequest(s)
	var out []Input
	add := func(in Input) {
		for _, have := range out {
			if have.Name == in.Name {
				return
			}
		}
		out = append(out, in)
	}
	if r.URLEnv != "" {
		add(Input{Name: r.URLEnv, Where: "the address of the " + name(s.To) + ", which the console recorded as a path only."})
	}
	if r.DPoP {
		add(dpopKey)
	}
	client := r.BasicUser
	for _, p := range r.Form {
		if p.Name == "client_id" {
			client = p.Value
		}
	}
	for _, p := range r.Form {
		if p.Env != "" {
			add(h.hidden(s, p, client))
		}
	}
	if r.BasicUser != "" {
		add(h.secret(s, client))
	}
	if r.Bearer || r.DPoPToken {
		where := "the access token the " + name(s.From) + " sent, which the console hid."
		if s.Number == "4" {
			where = "access_token in the answer to step 3 (the redeem), run from its Code tab."
		}
		add(Input{Name: "ACCESS_TOKEN", Where: where})
	}
	return out
}

// hidden is where a form parameter the console hid comes from.
func (h InputHelp) hidden(s Step, p formParam, client string) Input {
	switch p.Name {
	case "client_secret":
		return h.secret(s, client)
	case "subject_token":
		if s.From == h.Self && h.IDTokenURL != "" {
			return Input{Name: p.Env, Where: "your ID token from the " + name(s.To) + ", which the " + name(s.From) + " holds for you:",
				Link: h.IDTokenURL, LinkText: "Show my ID token"}
		}
		where := "the " + name(s.From) + "'s token for you, which never leaves the " + name(s.From) + "."
		if parent, _, ok := strings.Cut(s.Number, "."); ok {
			where += fmt.Sprintf(" Run step %s's snippet instead: the %s makes this request for it.", parent, name(s.From))
		}
		return Input{Name: p.Env, Where: where}
	case "assertion":
		if s.Number == "3" {
			return Input{Name: p.Env, Where: "the ID-JAG: access_token in the answer to step 2 (the token exchange), run from its Code tab."}
		}
	}
	return Input{Name: p.Env, Where: "the " + p.Name + " the " + name(s.From) + " sent, which the console hid."}
}

// secret is where client's secret at s.To is set.
func (h InputHelp) secret(s Step, client string) Input {
	where := fmt.Sprintf("the secret of client %s at the %s", client, name(s.To))
	if set := h.Secrets[client]; set != "" {
		return Input{Name: "CLIENT_SECRET", Where: where + ": " + set}
	}
	return Input{Name: "CLIENT_SECRET", Where: where + ", from that client's settings."}
}
