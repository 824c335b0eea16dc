// Command ferretdb-local runs FerretDB 1.24 (MongoDB wire protocol, SQLite
// backend) through its embeddable package. `go install .../cmd/ferretdb`
// panics at start because build/version/version.txt is not in the module zip;
// the embeddable package does not need it.
//
// With FERRETDB_SETUP_USERNAME and FERRETDB_SETUP_PASSWORD set (and optionally
// FERRETDB_SETUP_DATABASE, default admin), every client must authenticate
// (FerretDB's new auth, SCRAM): the user is created at the first start, when
// that database does not exist yet. Needs the build's patches of ferretdb.go.
package main

import (
	"context"
	"flag"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	dir := flag.String("dir", "data/ferretdb", "directory for the SQLite files")
	flag.Parse()

	// Collect garbage less often than Go's default (100): a local server on a small machine
	// spends less CPU on it, for some more memory.
	debug.SetGCPercent(400)

	if err := os.MkdirAll(*dir, 0o700); err != nil { // the data is the platform's alone
		log.Fatal(err)
	}
	username, password := os.Getenv("FERRETDB_SETUP_USERNAME"), os.Getenv("FERRETDB_SETUP_PASSWORD")
	if (username == "") != (password == "") {
		log.Fatal("FERRETDB_SETUP_USERNAME and FERRETDB_SETUP_PASSWORD go together")
	}
	database := ""
	if username != "" {
		database = os.Getenv("FERRETDB_SETUP_DATABASE")
		if database == "" {
			database = "admin"
		}
	}
	text := slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})
	logger := slog.New(lazyHandler{inner: text})
	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: *listen},
		Logger:   logger,
		Handler:  "sqlite",
		// WAL (FerretDB's default) with synchronous=normal: a commit is not fsynced, so a
		// crash of FerretDB loses nothing, only a crash of the machine may lose the latest.
		// A page cache of 64 MiB a connection (SQLite's default is 2 MiB): a drain's working
		// set otherwise comes back from the file by pread, page by page.
		SQLiteURL: "file:" + *dir + "/?_pragma=synchronous(normal)&_pragma=cache_size(-65536)",

		EnableNewAuth: username != "",
		SetupDatabase: database,
		SetupUsername: username,
		SetupPassword: password,
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Printf("ferretdb-local listening on %s, data in %s, authentication %v", *listen, *dir, username != "")
	if err := f.Run(ctx); err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
}

// lazyHandler gives a derived logger's attributes to the text handler only when a record is
// written. slog's TextHandler formats them when the logger is derived, and FerretDB derives a
// logger with the arguments of every SQL statement it runs, for a debug record that is
// never written: 8 % of its CPU in a drain of joblog changes (perf, 2 Dec 2026).
type lazyHandler struct {
	inner slog.Handler
	steps []func(slog.Handler) slog.Handler // WithAttrs and WithGroup, in the order called
}

func (h lazyHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

func (h lazyHandler) Handle(ctx context.Context, record slog.Record) error {
	inner := h.inner
	for _, step := range h.steps {
		inner = step(inner)
	}
	return inner.Handle(ctx, record)
}

func (h lazyHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return h.then(func(inner slog.Handler) slog.Handler { return inner.WithAttrs(attrs) })
}

func (h lazyHandler) WithGroup(name string) slog.Handler {
	return h.then(func(inner slog.Handler) slog.Handler { return inner.WithGroup(name) })
}

func (h lazyHandler) then(step func(slog.Handler) slog.Handler) lazyHandler {
	return lazyHandler{inner: h.inner, steps: append(slices.Clip(h.steps), step)}
}
