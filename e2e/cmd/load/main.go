// Command load drives a running stack over loopback and prints throughput,
// latency percentiles and errors for the two paths a presenter waits on:
//
//  1. The jwt-bearer grant at the todo AS's token endpoint, each grant with
//     its own ID-JAG (the replay store refuses a second use). The ID-JAGs
//     are obtained first, through the real token exchange at the wiki AS
//     and the IdP, and that phase is reported too.
//  2. The wiki's My todos page for signed-in users whose access token the
//     wiki already holds: the todo API call and the page, for a window of
//     20 s after a warm-up (issue 19: sustained figures).
//
// The first two phases are bursts of -grants requests: they make the
// stack's memory grow as traffic does; the todo AS's sustained grant
// figures are scripts/load-grants.sh's.
//
// scripts/load.sh starts the stack on MariaDB, runs this, and reads each
// service's memory; `make bench` runs both.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"xaa.example/apps/wiki/wikiapp"
	"xaa.example/e2e/internal/procstat"
	"xaa.example/shared/demo"
	"xaa.example/shared/oauth"
	"xaa.example/shared/xaaclient"
)

func main() {
	t := demo.Local()
	flag.StringVar(&t.IdP, "idp", t.IdP, "the IdP's issuer URL")
	flag.StringVar(&t.WikiAS, "wiki-as", t.WikiAS, "the wiki AS's issuer URL")
	flag.StringVar(&t.TodoAS, "todo-as", t.TodoAS, "the todo AS's issuer URL")
	flag.StringVar(&t.Wiki, "wiki", t.Wiki, "the wiki's URL")
	flag.StringVar(&t.Todo, "todo", t.Todo, "the todo app's URL")
	grants := flag.Int("grants", 5000, "how many jwt-bearer grants to make (each needs its own ID-JAG)")
	grantWorkers := flag.Int("grant-workers", 16, "concurrent clients of the todo AS's token endpoint")
	users := flag.Int("users", 50, "concurrent users of the wiki's My todos page")
	warmup := flag.Duration("warmup", 5*time.Second, "how long to load My todos before the measured window")
	duration := flag.Duration("duration", 20*time.Second, "the measured window of My todos")
	profiles := flag.String("profiles", "", "name=pprof-base-URL,... of services to profile (CPU) during the My todos load")
	profileDir := flag.String("profile-dir", "artifacts/profiles", "where the CPU profiles go")
	pids := flag.String("pids", "", "name=pid,... of processes whose CPU time to report per request (Linux)")
	flag.Parse()

	meter := append(procstat.Meter{{Name: "load driver", PID: os.Getpid()}}, procstat.Parse(*pids)...)
	p := profiler{dir: *profileDir, services: namedValues(*profiles)}
	if err := run(context.Background(), t, *grants, *grantWorkers, *users, *warmup, *duration, meter, p); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// namedValues splits "name=value,name=value" flags.
func namedValues(flag string) [][2]string {
	var out [][2]string
	for _, pair := range strings.Split(flag, ",") {
		if name, value, ok := strings.Cut(pair, "="); ok {
			out = append(out, [2]string{name, value})
		}
	}
	return out
}

func run(ctx context.Context, t demo.Topology, grants, grantWorkers, users int, warmup, duration time.Duration, meter procstat.Meter, prof profiler) error {
	wiki := wikiapp.DefaultConfig(t)
	// One keep-alive connection per concurrent client, as browsers and
	// services keep theirs.
	transport := &http.Transport{MaxIdleConns: 500, MaxIdleConnsPerHost: 200, IdleConnTimeout: time.Minute}
	hc := &http.Client{Transport: transport, Timeout: 30 * time.Second}

	fmt.Println("Machine:", procstat.Machine())
	fmt.Printf("Signing in %d browser sessions as bob@tables.fake...\n", users)
	browsers := make([]*http.Client, users)
	for i := range browsers {
		b, err := signIn(t.Wiki, transport, "bob@tables.fake", demo.Password)
		if err != nil {
			return err
		}
		browsers[i] = b
	}

	// The wiki AS's ID token for bob, as the wiki holds it after sign-in:
	// the subject token of the exchanges below.
	idToken, err := wikiIDToken(ctx, browsers[0], wiki)
	if err != nil {
		return err
	}
	wikiCreds := xaaclient.Credentials{ClientID: wiki.ClientID, ClientSecret: wiki.ClientSecret}
	todoCreds := xaaclient.Credentials{ClientID: wiki.ClientIDAtTodo, ClientSecret: wiki.ClientSecretAtTodo}
	scope := oauth.Scopes{"todos.read"}

	idjags := make([]string, grants)
	var next atomic.Int64
	exchange := measure(grantWorkers, meter, func(int) (bool, error) {
		i := int(next.Add(1)) - 1
		if i >= grants {
			return false, nil
		}
		resp, err := xaaclient.RequestIDJAG(ctx, hc, t.WikiAS+"/token", wikiCreds, xaaclient.IDJAGRequest{
			SubjectToken: idToken, Audience: wiki.TodoASIssuer, Resource: wiki.TodoResource, Scope: scope})
		if err != nil {
			return true, err
		}
		idjags[i] = resp.Token
		return true, nil
	})
	exchange.print("Token exchange (wiki AS → IdP), the ID-JAGs for the grants: a burst", grantWorkers)
	if exchange.errors > 0 {
		return fmt.Errorf("%d token exchanges failed; the grants need one ID-JAG each", exchange.errors)
	}

	next.Store(0)
	grant := measure(grantWorkers, meter, func(int) (bool, error) {
		i := int(next.Add(1)) - 1
		if i >= grants {
			return false, nil
		}
		_, err := xaaclient.Redeem(ctx, hc, t.TodoAS+"/token", todoCreds, idjags[i], scope)
		return true, err
	})
	grant.print("jwt-bearer grant at the todo AS (MariaDB replay store): a burst", grantWorkers)

	// Each session fetches its access token once; after that the wiki
	// holds it, which is the case measured.
	pages := make([]*pageClient, users)
	for i, b := range browsers {
		if pages[i], err = newPageClient(b, t.Wiki+"/todos"); err != nil {
			return err
		}
		if err := pages[i].get(); err != nil {
			return fmt.Errorf("first My todos: %w", err)
		}
	}
	// Each worker is one user, with a browser session of its own, asking
	// for the page until the deadline.
	until := func(deadline time.Time) func(int) (bool, error) {
		return func(worker int) (bool, error) {
			if time.Now().After(deadline) {
				return false, nil
			}
			return true, pages[worker].get()
		}
	}
	warm := measure(users, nil, until(time.Now().Add(warmup)))
	if warm.errors > 0 {
		fmt.Printf("\n%d My todos failed during the warm-up; first: %v\n", warm.errors, warm.firstErr)
	}
	profiled := prof.start(duration)
	page := measure(users, meter, until(time.Now().Add(duration)))
	page.print(fmt.Sprintf("Wiki My todos with the access token held: a %s window after %s of warm-up", duration, warmup), users)
	profiled()

	if grant.errors+warm.errors+page.errors > 0 {
		return errors.New("some requests failed; see above")
	}
	return nil
}

// profiler takes CPU profiles of services while a phase runs, through
// their PPROF_ADDR endpoints (shared/serve.Profiler).
type profiler struct {
	dir      string
	services [][2]string // name, base URL
}

// start begins a CPU profile of each service for d; the function it
// returns waits for them, then takes a heap profile of each.
func (p profiler) start(d time.Duration) (wait func()) {
	if len(p.services) == 0 {
		return func() {}
	}
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "profiles:", err)
		return func() {}
	}
	var wg sync.WaitGroup
	seconds := max(1, int(d.Seconds()))
	for _, s := range p.services {
		wg.Go(func() {
			path := fmt.Sprintf("%s/%s.cpu.pprof", p.dir, s[0])
			if err := fetchProfile(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", s[1], seconds), path); err != nil {
				fmt.Fprintf(os.Stderr, "profile of %s: %v\n", s[0], err)
				return
			}
			fmt.Printf("  CPU profile of %s: go tool pprof -top %s\n", s[0], path)
		})
	}
	return func() {
		wg.Wait()
		// And what each service holds in memory after the load: a heap
		// profile, and the Go runtime's own account of its memory.
		fmt.Println("  Go runtime memory after the load (MB): heap in use / heap idle, not yet returned / stacks / runtime metadata")
		for _, s := range p.services {
			path := fmt.Sprintf("%s/%s.heap.pprof", p.dir, s[0])
			if err := fetchProfile(s[1]+"/debug/pprof/heap", path); err != nil {
				fmt.Fprintf(os.Stderr, "heap profile of %s: %v\n", s[0], err)
			}
			if m, err := memStats(s[1]); err == nil {
				fmt.Printf("    %-8s %5.1f / %5.1f / %4.1f / %4.1f\n", s[0], mb(m["HeapInuse"]),
					mb(m["HeapIdle"]-m["HeapReleased"]), mb(m["Stack"]), mb(m["MSpan"]+m["MCache"]+m["GCSys"]+m["BuckHashSys"]+m["OtherSys"]))
			}
		}
	}
}

// memStats reads runtime.MemStats as the heap profile's text form shows it
// ("# HeapInuse = 123" lines; Stack as "# Stack = inuse / sys").
func memStats(base string) (map[string]float64, error) {
	resp, err := http.Get(base + "/debug/pprof/heap?debug=1")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		name, value, ok := strings.Cut(strings.TrimPrefix(line, "# "), " = ")
		if !ok || !strings.HasPrefix(line, "# ") {
			continue
		}
		value, _, _ = strings.Cut(value, " ")
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			out[name] = v
		}
	}
	return out, nil
}

func mb(bytes float64) float64 { return bytes / (1 << 20) }

func fetchProfile(url, path string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %d", url, resp.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// result is what one phase measured.
type result struct {
	latencies []time.Duration
	errors    int
	firstErr  error
	elapsed   time.Duration
	// The machine's load average before and after (procstat.LoadAverage).
	loadBefore, loadAfter string
	cpu                   map[string]time.Duration // CPU time each process spent
	meter                 procstat.Meter           // those processes, in the order to print them
}

// measure runs step on workers goroutines (step learns which, 0 to
// workers-1) until it returns false, and times each call that did something.
func measure(workers int, meter procstat.Meter, step func(worker int) (bool, error)) result {
	var mu sync.Mutex
	r := result{meter: meter}
	var wg sync.WaitGroup
	r.loadBefore = procstat.LoadAverage()
	cpuBefore := meter.CPU()
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			var mine []time.Duration
			var errs int
			var firstErr error
			for {
				t0 := time.Now()
				more, err := step(w)
				if !more {
					break
				}
				mine = append(mine, time.Since(t0))
				if err != nil {
					errs++
					if firstErr == nil {
						firstErr = err
					}
				}
			}
			mu.Lock()
			r.latencies = append(r.latencies, mine...)
			r.errors += errs
			if r.firstErr == nil {
				r.firstErr = firstErr
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	r.elapsed = time.Since(start)
	r.cpu = meter.CPU()
	r.loadAfter = procstat.LoadAverage()
	for name, before := range cpuBefore {
		r.cpu[name] -= before
	}
	slices.Sort(r.latencies)
	return r
}

func (r result) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[int(p*float64(len(r.latencies)-1))]
}

func (r result) print(name string, workers int) {
	n := len(r.latencies)
	fmt.Printf("\n%s\n", name)
	fmt.Printf("  %d requests from %d concurrent clients in %.2f s: %.0f per second, %d errors; load %s -> %s\n",
		n, workers, r.elapsed.Seconds(), float64(n)/r.elapsed.Seconds(), r.errors, r.loadBefore, r.loadAfter)
	fmt.Printf("  latency p50 %s  p90 %s  p99 %s  max %s\n",
		ms(r.percentile(0.50)), ms(r.percentile(0.90)), ms(r.percentile(0.99)), ms(r.percentile(1)))
	if len(r.cpu) > 0 && n > 0 {
		fmt.Printf("  CPU time per request:")
		var total time.Duration
		for _, p := range r.meter {
			if d, ok := r.cpu[p.Name]; ok {
				fmt.Printf("  %s %s", p.Name, ms(d/time.Duration(n)))
				total += d
			}
		}
		fmt.Printf("  (all %s; %.0f%% of the machine's %d cores)\n", ms(total/time.Duration(n)),
			100*total.Seconds()/r.elapsed.Seconds()/float64(runtime.NumCPU()), runtime.NumCPU())
	}
	if r.firstErr != nil {
		fmt.Printf("  first error: %v\n", r.firstErr)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

var (
	formAction  = regexp.MustCompile(`<form class="stack" method="post" action="([^"]+)"`)
	hiddenField = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
)

// signIn walks a new browser session through the wiki's sign-in: the wiki
// AS, then the IdP's sign-in form.
func signIn(wikiURL string, transport http.RoundTripper, email, password string) (*http.Client, error) {
	jar, _ := cookiejar.New(nil)
	b := &http.Client{Jar: jar, Transport: transport, Timeout: 30 * time.Second}
	resp, err := b.Get(wikiURL + "/login?login_hint=" + url.QueryEscape(email))
	if err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := formAction.FindStringSubmatch(string(body))
	if m == nil {
		return nil, fmt.Errorf("sign in: no sign-in form at %s (status %d)", resp.Request.URL, resp.StatusCode)
	}
	form := url.Values{"email": {email}, "password": {password}}
	for _, f := range hiddenField.FindAllStringSubmatch(string(body), -1) {
		form.Set(f[1], html.UnescapeString(f[2]))
	}
	target, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil {
		return nil, fmt.Errorf("sign in: form action: %w", err)
	}
	action := resp.Request.URL.ResolveReference(target)
	req, _ := http.NewRequest(http.MethodPost, action.String(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", action.Scheme+"://"+action.Host)
	resp, err = b.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(resp.Request.URL.String(), wikiURL) || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("sign in ended at %s with status %d, not at the wiki", resp.Request.URL, resp.StatusCode)
	}
	return b, nil
}

// wikiIDToken signs the wiki in at its AS once more, with the browser's
// session there, and redeems the code with the wiki's credentials: what
// the wiki does at sign-in. It returns the ID token.
func wikiIDToken(ctx context.Context, browser *http.Client, wiki wikiapp.Config) (string, error) {
	conf := oauth2.Config{
		ClientID: wiki.ClientID, ClientSecret: wiki.ClientSecret,
		Endpoint:    oauth2.Endpoint{AuthURL: wiki.ASIssuer + "/authorize", TokenURL: wiki.ASIssuer + "/token", AuthStyle: oauth2.AuthStyleInHeader},
		RedirectURL: wiki.BaseURL + "/callback",
		Scopes:      []string{"openid", "profile", "email"},
	}
	verifier, state := oauth2.GenerateVerifier(), rand.Text()
	// Stop at the redirect back to the wiki: the code is for this program.
	noFollow := *browser
	noFollow.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), conf.RedirectURL) {
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := noFollow.Get(conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)))
	if err != nil {
		return "", fmt.Errorf("authorize at the wiki AS: %w", err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || back.Query().Get("code") == "" || back.Query().Get("state") != state {
		return "", fmt.Errorf("authorize at the wiki AS: status %d, redirect %q has no code for us", resp.StatusCode, resp.Header.Get("Location"))
	}
	tok, err := conf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		return "", fmt.Errorf("redeem the code at the wiki AS: %w", err)
	}
	idToken, _ := tok.Extra("id_token").(string)
	if idToken == "" {
		return "", errors.New("the wiki AS answered no id_token")
	}
	return idToken, nil
}

// pageClient is one user reloading a page over one keep-alive connection,
// as a browser does, sending the session cookie its sign-in got. It is
// leaner than http.Client (no cookie jar, no goroutines per connection),
// which matters because the load generator shares the machine's cores with
// what it measures; the grants above use the real client library.
type pageClient struct {
	addr    string
	request []byte
	conn    net.Conn
	r       *bufio.Reader
}

func newPageClient(browser *http.Client, pageURL string) (*pageClient, error) {
	u, err := url.Parse(pageURL)
	if err != nil {
		return nil, err
	}
	var cookies []string
	for _, c := range browser.Jar.Cookies(u) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	if len(cookies) == 0 {
		return nil, fmt.Errorf("no session cookie for %s", pageURL)
	}
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nCookie: %s\r\nUser-Agent: xaa-load\r\n\r\n",
		u.RequestURI(), u.Host, strings.Join(cookies, "; "))
	return &pageClient{addr: u.Host, request: []byte(req)}, nil
}

// get loads the page and fails unless it shows the todos.
func (c *pageClient) get() error {
	if c.conn == nil {
		conn, err := net.Dial("tcp", c.addr)
		if err != nil {
			return err
		}
		c.conn, c.r = conn, bufio.NewReader(conn)
	}
	status, body, err := c.roundTrip()
	if err != nil {
		c.conn.Close()
		c.conn = nil
		return err
	}
	if status != http.StatusOK || !bytes.Contains(body, []byte(`id="todos"`)) {
		return fmt.Errorf("My todos answered %d without the todo list", status)
	}
	return nil
}

func (c *pageClient) roundTrip() (int, []byte, error) {
	if _, err := c.conn.Write(c.request); err != nil {
		return 0, nil, err
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}
