package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/reten/reconcile/internal/engine"
	"github.com/reten/reconcile/internal/pgledger"
	"github.com/reten/reconcile/internal/reports"
	"github.com/reten/reconcile/internal/validate"
	"github.com/reten/reconcile/internal/web"
)

// serveCommand is `reconcile serve`: the web console, sending through the
// API that RETEN_BASE_URL and RETEN_API_KEY name, with the ledger of the
// state directory the command line uses, or the one in PostgreSQL that
// --ledger names, opened as it starts.
type serveCommand struct {
	env     *environ
	send    sendOptions
	console consoleFlags
}

func (c *serveCommand) usage() usage {
	return usage{
		use:   "serve [flags]",
		short: "serve the web console: upload, map, preview, send and review in a browser",
		long: `Serves the web console, for those who do not use a terminal: upload a CSV or
XLSX file, map its columns, see every row checked offline and fix the bad
cells, send it with live progress, and read the reports of every run of the
state directory, the command line's and cron's included.

The API is reached with RETEN_BASE_URL and RETEN_API_KEY (or
RETEN_API_KEY_FILE), as by run; the key stays in this process, and no page
shows it. The console asks for a token: RECONCILE_WEB_TOKEN, or one made at
start and printed once in the login URL. Listening on an address other
machines can reach needs RECONCILE_WEB_TOKEN. Ctrl-C stops the runs in flight
as it stops run (the requests in flight finish, the rows not sent are
skipped, the reports are written), then the server.`,
	}
}

func (c *serveCommand) flags(fs *pflag.FlagSet) {
	c.send = newSendOptions(withCache | withLedger)
	c.send.register(fs)
	c.console.register(fs)
}

func (c *serveCommand) Run(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return usageError("serve takes no arguments, got %q: upload files in the browser", args)
	}
	job, err := c.send.job(c.env, "console", nil, &inputFlags{})
	if err != nil {
		return err
	}
	return serveConsole(ctx, c.env, c.console, job, nil)
}

// consoleFlags are the web console's own flags: serve's, and demo's with --web.
type consoleFlags struct {
	addr      string
	maxUpload byteSize
}

func (f *consoleFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "`host:port` the console listens on; port 0 picks a free one. Another host than loopback needs "+web.TokenEnv)
	f.maxUpload = web.DefaultMaxUpload
	fs.Var(&f.maxUpload, "max-upload", "largest `SIZE` of an uploaded file, e.g. 50MB, 1.5GB")
}

// byteSize is a flag of a size in bytes, written as people write sizes:
// 50MB, 1.5GB, 800KB or a plain number of bytes (MB is 1024×1024 bytes).
type byteSize int64

func (b *byteSize) Type() string { return "size" }

func (b *byteSize) String() string {
	n := int64(*b)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}} {
		if n >= u.mult && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

func (b *byteSize) Set(s string) error {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := 1.0
	for _, u := range []struct {
		suffix string
		mult   float64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if n, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v <= 0 || v*mult > 1<<50 {
		return fmt.Errorf("%q is not a size; write it as 50MB, 1.5GB or 800KB", s)
	}
	*b = byteSize(v * mult)
	return nil
}

// serveConsole serves the console until ctx ends, each run a copy of job
// (its submitter, state directory, reports and exit codes) reading an
// upload; seed, if not nil, is given the console before it serves (the
// demo's samples). When ctx ends, the runs in flight are stopped as Ctrl-C
// stops run, their reports written, and then the server.
func serveConsole(ctx context.Context, env *environ, cf consoleFlags, job *engine.Job, seed func(*web.Server) error) error {
	token, generated := web.Token(env.getenv)
	if err := web.CheckAddr(cf.addr, !generated); err != nil {
		return usageError("--addr: %v", err)
	}
	log := slog.New(slog.NewTextHandler(env.stderr, nil))
	if err := job.CheckLedger(ctx); err != nil {
		return failure(err)
	}
	var cat *validate.Catalogue
	var err error
	if job.ConfigsFile != "" {
		if cat, err = validate.LoadCatalogue(job.ConfigsFile); err != nil {
			return withCode(exitUsage, err)
		}
	} else if cat, err = engine.DownloadCatalogue(ctx, job.Submitter); err != nil {
		return failure(err)
	}
	srv, err := web.New(web.Options{
		StateDir:  job.StateDir,
		Token:     token,
		MaxUpload: int64(cf.maxUpload),
		BaseURL:   job.Submitter.Client.BaseURL,
		Ledger:    pgledger.Redact(job.LedgerURL),
		Catalogue: cat,
		Runner:    &web.EngineRunner{Job: job, Logger: log},
		Logger:    log,
	})
	if err != nil {
		return withCode(exitError, err)
	}
	if seed != nil {
		if err := seed(srv); err != nil {
			return withCode(exitError, err)
		}
	}
	ln, err := net.Listen("tcp", cf.addr)
	if err != nil {
		return withCode(exitError, fmt.Errorf("cannot listen on %s: %w (pick another --addr, or port 0 for a free one)", cf.addr, err))
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(env.stdout, "console: %d result types of %s; state directory %s\n", len(cat.Configs), reports.RedactURL(job.Submitter.Client.BaseURL), job.StateDir)
	if generated {
		fmt.Fprintf(env.stdout, "open %s to log in (the token is shown this once; set %s to choose one)\n", web.LoginURL(base, token), web.TokenEnv)
	} else {
		fmt.Fprintf(env.stdout, "open %s/ and log in with the token in %s\n", base, web.TokenEnv)
	}
	fmt.Fprintln(env.stdout, "Ctrl-C stops the runs in flight (their reports are written), then the console.")

	err = serveUntil(ctx, hs, ln, func() {
		log.Info("stopping: the runs in flight finish their requests and write their reports; Ctrl-C again quits at once")
		srv.StopRuns()
	})
	if err == nil {
		log.Info("console stopped")
	}
	return err
}
