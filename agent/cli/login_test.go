package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCallbackPageArrivesWhole: the browser that brings the code back
// gets the whole "Signed in" page, although agent login goes on (and stops
// its loopback server) the moment the code arrives. Stopping the server
// with Close cut the page off now and then: the browser saw the connection
// end with no answer (EOF).
func TestCallbackPageArrivesWhole(t *testing.T) {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	// Sign-ins side by side, on more threads than the machine has cores,
	// so that the OS preempts them as on a loaded machine: the page was
	// cut off most often then.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(8))
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 50 {
				if err := signInOnce(client); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// signInOnce brings a code back to a new loopback server, as the browser
// does, and reads the page it answers.
func signInOnce(client *http.Client) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	type got struct {
		code string
		err  error
	}
	done := make(chan got, 1)
	go func() {
		code, err := awaitCode(context.Background(), ln, "S", time.Minute)
		done <- got{code, err}
	}()
	resp, err := client.Get("http://" + ln.Addr().String() + "/callback?state=S&code=C")
	if err != nil {
		return fmt.Errorf("the browser got no page: %w", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !strings.Contains(string(body), "Signed in.") {
		return fmt.Errorf("the page was cut off (%q, %v)", body, err)
	}
	if g := <-done; g.code != "C" || g.err != nil {
		return fmt.Errorf("awaitCode = %q, %v", g.code, g.err)
	}
	return nil
}

func TestCallbackRefusals(t *testing.T) {
	for _, tt := range []struct{ query, want string }{
		{"state=other&code=C", "state mismatch"},
		{"state=S&error=access_denied&error_description=no", "refused the sign-in: access_denied no"},
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := awaitCode(context.Background(), ln, "S", time.Minute)
			done <- err
		}()
		resp, err := http.Get("http://" + ln.Addr().String() + "/callback?" + tt.query)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err := <-done; err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.query, err, tt.want)
		}
		if !strings.Contains(string(body), tt.want) {
			t.Errorf("%s: the page says %q, not why", tt.query, body)
		}
	}
}

// TestOutcomeIsASentence (issue 34, item 12): the console's alert for a
// failed agent run began in lower case, as Go's errors do.
func TestOutcomeIsASentence(t *testing.T) {
	for in, want := range map[string]string{
		"the identity provider refused the sign-in: access_denied": "The identity provider refused the sign-in: access_denied.",
		"run agent login first.":                                   "Run agent login first.",
		"été":                                                      "Été.",
		"":                                                         "",
	} {
		if got := sentence(in); got != want {
			t.Errorf("sentence(%q) = %q, want %q", in, got, want)
		}
	}
}
