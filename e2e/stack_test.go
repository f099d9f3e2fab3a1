package e2e

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"xaa.example/apps/todo/todoapp"
	"xaa.example/apps/wiki/wikiapp"
	"xaa.example/authservers/todo/todoas"
	"xaa.example/authservers/wiki/wikias"
	"xaa.example/debugconsole"
	"xaa.example/e2e/internal/syncbuf"
	"xaa.example/idp/provider"
	"xaa.example/shared/authserver"
	"xaa.example/shared/demo"
	"xaa.example/shared/serve"
	"xaa.example/shared/storage"
	"xaa.example/shared/trace"
)

// stack is the five services on loopback, plus what a test inspects.
type stack struct {
	topology demo.Topology
	servers  map[string]*httptest.Server
	dbs      map[string]*gorm.DB
	recorder *debugconsole.Recorder
	traces   map[string]*trace.Store // each service's record of chain runs
	logs     *syncbuf.Buffer
}

// swappable lets a server exist (and so have its URL) before its handler,
// because each service's configuration needs every other one's URL. Given
// several handlers (replicas of a service), it is a round-robin proxy in
// front of them: each request goes to the next.
type swappable struct {
	mu   sync.RWMutex
	hs   []http.Handler
	next atomic.Uint64
	wrap func(http.Handler) http.Handler
}

func (s *swappable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	hs := s.hs
	s.mu.RUnlock()
	if len(hs) == 0 {
		http.Error(w, "starting", http.StatusServiceUnavailable)
		return
	}
	hs[(s.next.Add(1)-1)%uint64(len(hs))].ServeHTTP(w, r)
}

// set adds a replica of the service.
func (s *swappable) set(h http.Handler) {
	if s.wrap != nil {
		h = s.wrap(h)
	}
	s.mu.Lock()
	s.hs = append(s.hs, h)
	s.mu.Unlock()
}

// openDB opens a database for one service of one test.
type openDB func(t testing.TB, name string) *gorm.DB

func sqliteDB(t testing.TB, name string) *gorm.DB {
	t.Helper()
	db, err := storage.Open("", filepath.Join(t.TempDir(), name+".db"))
	if err != nil {
		t.Fatalf("open SQLite for %s: %v", name, err)
	}
	t.Cleanup(func() { storage.Close(db) })
	return db
}

// configs are the five services' configurations, for a test to change
// before the services start.
type configs struct {
	// topology is where the five services are (already listening).
	topology demo.Topology
	idp      *provider.Config
	wikiAS   *authserver.Config
	todoAS   *todoas.Config
	todo     *todoapp.Config
	wiki     *wikiapp.Config
	// wrap, by service name, wraps a service's handler (to take an
	// endpoint away, say).
	wrap map[string]func(http.Handler) http.Handler
	// replicas runs that many processes' worth of each authorization
	// server and app (not the IdP), sharing the service's database, behind
	// a round-robin proxy; 0 or 1: one each.
	replicas int
}

func startStack(t testing.TB, open openDB, change ...func(*configs)) *stack {
	t.Helper()
	return startStackAt(t, open, "", change...)
}

// startStackAt is startStack with the IdP at idpHost (on its loopback
// port) instead of 127.0.0.1: a browser takes passkeys only for a domain
// name such as localhost, never for an IP address (WebAuthn §5.1.3's
// relying party id).
func startStackAt(t testing.TB, open openDB, idpHost string, change ...func(*configs)) *stack {
	t.Helper()
	ctx := context.Background()
	names := []string{"idp", "wiki-as", "todo-as", "wiki", "todo"}
	s := &stack{servers: map[string]*httptest.Server{}, dbs: map[string]*gorm.DB{}, recorder: debugconsole.NewRecorder(), logs: &syncbuf.Buffer{}}
	handlers := map[string]*swappable{}
	for _, n := range names {
		handlers[n] = &swappable{}
		s.servers[n] = httptest.NewServer(handlers[n])
		t.Cleanup(s.servers[n].Close)
	}
	idpURL := s.servers["idp"].URL
	if idpHost != "" {
		idpURL = strings.Replace(idpURL, "127.0.0.1", idpHost, 1)
	}
	s.topology = demo.Topology{
		IdP: idpURL, WikiAS: s.servers["wiki-as"].URL, TodoAS: s.servers["todo-as"].URL,
		Wiki: s.servers["wiki"].URL, Todo: s.servers["todo"].URL,
	}
	log := slog.New(slog.NewTextHandler(s.logs, nil))
	hc := serve.HTTPClient()

	cfg := configs{topology: s.topology, wrap: map[string]func(http.Handler) http.Handler{}}
	idpCfg, wikiASCfg, todoASCfg := provider.DefaultConfig(s.topology), wikias.DefaultConfig(s.topology), todoas.DefaultConfig(s.topology)
	todoCfg, wikiCfg := todoapp.DefaultConfig(s.topology), wikiapp.DefaultConfig(s.topology)
	cfg.idp, cfg.wikiAS, cfg.todoAS, cfg.todo, cfg.wiki = &idpCfg, &wikiASCfg, &todoASCfg, &todoCfg, &wikiCfg
	for _, c := range change {
		c(&cfg)
	}
	for name, w := range cfg.wrap {
		handlers[name].wrap = w
	}
	// The databases open once every address is known and the changes
	// made: an opener may write the topology into what it loads.
	for _, n := range names {
		s.dbs[n] = open(t, n)
	}

	s.traces = map[string]*trace.Store{"idp": idpCfg.Trace, "wiki-as": wikiASCfg.Trace, "todo-as": todoASCfg.Server.Trace, "todo": todoCfg.Trace, "wiki": wikiCfg.Trace}
	for _, store := range s.traces {
		if store != nil {
			store.Key = traceKey
		}
	}
	idpCfg.DB, idpCfg.Log = s.dbs["idp"], log.With("service", "idp")
	idp, err := provider.New(ctx, idpCfg)
	if err != nil {
		t.Fatalf("start IdP: %v", err)
	}
	t.Cleanup(idp.Close)
	handlers["idp"].set(idp.Handler())

	for replica := range max(cfg.replicas, 1) {
		wikiASCfg.DB, wikiASCfg.Log, wikiASCfg.HTTPClient = s.dbs["wiki-as"], log.With("service", "wiki-as", "replica", replica), hc
		wikiAS, err := wikias.New(ctx, wikiASCfg)
		if err != nil {
			t.Fatalf("start wiki-as: %v", err)
		}
		t.Cleanup(wikiAS.Close)
		handlers["wiki-as"].set(wikiAS.Handler())
		todoASCfg.Server.DB, todoASCfg.Server.Log, todoASCfg.Server.HTTPClient = s.dbs["todo-as"], log.With("service", "todo-as", "replica", replica), hc
		todoAS, err := todoas.New(ctx, todoASCfg)
		if err != nil {
			t.Fatalf("start todo-as: %v", err)
		}
		t.Cleanup(todoAS.Close)
		handlers["todo-as"].set(todoAS.Handler())

		todoCfg.DB, todoCfg.Log, todoCfg.HTTPClient = s.dbs["todo"], log.With("service", "todo", "replica", replica), hc
		todo, err := todoapp.New(ctx, todoCfg)
		if err != nil {
			t.Fatalf("start todo: %v", err)
		}
		handlers["todo"].set(todo.Handler())
		if err := todo.RegisterStream(ctx); err != nil {
			t.Fatalf("todo: register the Shared Signals stream: %v", err)
		}

		wikiCfg.DB, wikiCfg.Log, wikiCfg.HTTPClient, wikiCfg.Recorder = s.dbs["wiki"], log.With("service", "wiki", "replica", replica), hc, s.recorder
		wiki, err := wikiapp.New(ctx, wikiCfg)
		if err != nil {
			t.Fatalf("start wiki: %v", err)
		}
		handlers["wiki"].set(wiki.Handler())
	}
	return s
}

// traceKey is the key the console proves itself with to every service.
var traceKey = []byte("e2e-debug-console-trace-key-0123456789")

// browser is a cookie jar that follows redirects, as a person's browser.
type browser struct {
	t      testing.TB
	client *http.Client
}

func newBrowser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, client: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
}

// page is a response as the browser saw it.
type page struct {
	URL    string
	Status int
	Body   string
}

func (b *browser) get(url string) page {
	b.t.Helper()
	resp, err := b.client.Get(url)
	if err != nil {
		b.t.Fatalf("GET %s: %v", url, err)
	}
	return readPage(b.t, resp)
}

func (b *browser) post(url string, form map[string]string) page {
	b.t.Helper()
	vals := make([]string, 0, len(form))
	for k, v := range form {
		vals = append(vals, k+"="+urlEscape(v))
	}
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(strings.Join(vals, "&")))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// A browser posting a site's own form sends that site's origin.
	req.Header.Set("Origin", origin(url))
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("POST %s: %v", url, err)
	}
	return readPage(b.t, resp)
}

func readPage(t testing.TB, resp *http.Response) page {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", resp.Request.URL, err)
	}
	return page{URL: resp.Request.URL.String(), Status: resp.StatusCode, Body: string(body)}
}

var hiddenField = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)

// formFields returns the hidden fields of the first form on a page.
func formFields(body string) map[string]string {
	out := map[string]string{}
	for _, m := range hiddenField.FindAllStringSubmatch(body, -1) {
		out[m[1]] = htmlUnescape(m[2])
	}
	return out
}

var formAction = regexp.MustCompile(`<form class="stack" method="post" action="([^"]+)"`)

// signIn walks from the app's sign-in link through its AS and the IdP's
// sign-in page, and returns the page the browser lands on.
func (b *browser) signIn(appURL, email, password string) page {
	b.t.Helper()
	login := b.get(appURL + "/login?login_hint=" + urlEscape(email))
	if !strings.Contains(login.Body, `name="password"`) {
		return login // already signed in at the IdP: single sign-on
	}
	m := formAction.FindStringSubmatch(login.Body)
	if m == nil {
		b.t.Fatalf("no sign-in form at %s:\n%s", login.URL, login.Body)
	}
	fields := formFields(login.Body)
	fields["email"], fields["password"] = email, password
	return b.post(origin(login.URL)+htmlUnescape(m[1]), fields)
}
