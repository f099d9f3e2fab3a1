package serve

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"gorm.io/gorm"

	"xaa.example/shared/demo"
	"xaa.example/shared/envconfig"
	"xaa.example/shared/storage"
	"xaa.example/shared/trace"
)

// Logger writes text logs to w. The service name is in each line so the
// logs of `make dev-all` can be told apart.
func Logger(w io.Writer, service string) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo})).With("service", service)
}

// Topology reads the five services' URLs, each defaulting to the local demo.
func Topology(env *envconfig.Reader) demo.Topology {
	def := demo.Local()
	return demo.Topology{
		IdP:    env.URL("IDP_ISSUER", def.IdP),
		WikiAS: env.URL("WIKI_AS_ISSUER", def.WikiAS),
		TodoAS: env.URL("TODO_AS_ISSUER", def.TodoAS),
		Wiki:   env.URL("WIKI_URL", def.Wiki),
		Todo:   env.URL("TODO_URL", def.Todo),
	}
}

// Database opens DATABASE_URL; or, with MARIADB_URL, the service's own
// schema xaa_<name> on that server; or else the SQLite file name under
// DATA_DIR (default .data).
func Database(env *envconfig.Reader, name string) (*gorm.DB, error) {
	url := env.String("DATABASE_URL", "")
	if base := env.String("MARIADB_URL", ""); url == "" && base != "" {
		url = strings.TrimSuffix(base, "/") + "/xaa_" + strings.ReplaceAll(name, "-", "_")
	}
	dir := env.String("DATA_DIR", ".data")
	db, err := storage.Open(url, filepath.Join(dir, name+".db"))
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	return db, nil
}

// Main is every service's main: it runs run until Ctrl-C or SIGTERM and
// exits non-zero with run's error, prefixed with the service's name.
func Main(name string, run func(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout); err != nil {
		stop()
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// Listen serves h on LISTEN_ADDR (default addr) until ctx ends, then
// drains requests for up to five seconds; it returns once the listener is
// closed. With PPROF_ADDR set it also serves Go's profiles there (Profiler).
func Listen(ctx context.Context, env *envconfig.Reader, addr string, h http.Handler, log *slog.Logger) error {
	addr = env.String("LISTEN_ADDR", addr)
	if err := Profiler(ctx, env.String("PPROF_ADDR", ""), log); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another copy running? set LISTEN_ADDR to use another port)", addr, err)
	}
	// Requests' contexts end when shutdown starts, so that long-lived
	// streams (the console's server-sent events) let the server stop.
	base, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	srv := &http.Server{
		BaseContext:       func(net.Listener) context.Context { return base },
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	srv.RegisterOnShutdown(cancelBase)
	log.Info("listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	ReleaseStartupPages()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// HTTPClient is the one outbound client a service uses. Go's default
// transport keeps only two idle connections per host, so under concurrent
// requests most calls to another service would open a new connection;
// keeping more saves a TCP handshake (and its system calls) per call.
func HTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 200
	t.MaxIdleConnsPerHost = 100
	return &http.Client{Transport: t, Timeout: 10 * time.Second}
}

// DebugTrace readies a service's record of chain runs for the debug
// console: with DEBUG_CONSOLE=false it returns nil (no recording, no /debug
// endpoints); otherwise it gives store the key with which the console
// proves who it is (trace.Proof). The key is DEBUG_TRACE_KEY, or else the
// file DEBUG_TRACE_KEY_FILE (default DATA_DIR/debug-trace.key), created with
// a random key by the first service to start, readable by its owner alone:
// services on one machine, or sharing that file, share the key with no
// setup.
func DebugTrace(env *envconfig.Reader, store *trace.Store) (*trace.Store, error) {
	if !env.Bool("DEBUG_CONSOLE", true) {
		return nil, nil
	}
	if key := env.String("DEBUG_TRACE_KEY", ""); key != "" {
		if len(key) < 32 {
			return nil, errors.New("DEBUG_TRACE_KEY must be at least 32 characters")
		}
		store.Key = []byte(key)
		return store, nil
	}
	file := env.String("DEBUG_TRACE_KEY_FILE", filepath.Join(env.String("DATA_DIR", ".data"), "debug-trace.key"))
	key, err := keyFile(file)
	if err != nil {
		return nil, fmt.Errorf("DEBUG_TRACE_KEY_FILE: %w", err)
	}
	store.Key = key
	return store, nil
}

// keyFile reads the key in file, or creates the file with a new random key
// when there is none. Of two services creating it at once, one wins (O_EXCL)
// and the other reads its key.
func keyFile(file string) ([]byte, error) {
	for range 50 {
		if b, err := os.ReadFile(file); err == nil {
			if key := strings.TrimSpace(string(b)); len(key) >= 32 {
				return []byte(key), nil
			}
			// Being written by another service this very moment.
			time.Sleep(20 * time.Millisecond)
			continue
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		key := rand.Text() + rand.Text()
		_, werr := f.WriteString(key + "\n")
		if cerr := f.Close(); werr != nil || cerr != nil {
			return nil, errors.Join(werr, cerr)
		}
		return []byte(key), nil
	}
	return nil, fmt.Errorf("%s holds no key (at least 32 characters)", file)
}
