package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/pflag"

	"github.com/reten/reconcile/internal/sandbox"
)

// sandboxCommand is `reconcile sandbox`: serve the stateful fake of the API
// until interrupted (Ctrl-C, SIGTERM).
type sandboxCommand struct {
	env        *environ
	addr       string
	tenantPath string
	synthetic  int
	faults     sandbox.Faults
	quiet      bool
}

func (c *sandboxCommand) usage() usage {
	return usage{
		use:   "sandbox [flags]",
		short: "serve a stateful fake of the integration API for tests and demos",
		long: `Serves a stateful fake of the integration API on loopback. Point the job at it
with RETEN_BASE_URL=http://ADDR and a key from the tenant file. Counters are at
GET /_sandbox/stats; faults can be changed with POST /_sandbox/faults.`,
	}
}

func (c *sandboxCommand) flags(fs *pflag.FlagSet) {
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "`host:port` to listen on; port 0 picks a free one (printed on start)")
	fs.StringVar(&c.tenantPath, "tenant", "samples/tenant.json", "tenant `file`: keys, result types and activities")
	fs.IntVar(&c.synthetic, "activities", 0, "add `N` synthetic activities (provider ids SYN-0000001...) for load tests")
	f := &c.faults
	fs.Float64Var(&f.FailRate, "fail-rate", 0, "share of requests answered 500/502/503, 0 to 1")
	fs.DurationVar(&f.Latency, "latency", 0, "delay before every answer, e.g. 20ms")
	fs.Float64Var(&f.RateLimit, "rate-limit", 0, "requests a second above which the answer is 429 with Retry-After; 0 means no limit")
	fs.Float64Var(&f.DropRate, "drop-rate", 0, "share of requests whose connection is closed with no answer, 0 to 1")
	fs.Float64Var(&f.FailAfterStoreRate, "fail-after-store-rate", 0, "share of accepted results that are stored but answered 500 or dropped, 0 to 1")
	fs.Float64Var(&f.StoreThen500Rate, "store-then-500-rate", 0, "share of accepted results that are stored but answered 500, 0 to 1")
	fs.Float64Var(&f.HTML2xxRate, "html-2xx-rate", 0, "share of requests answered 200 with a proxy's text/html page, nothing stored, 0 to 1")
	fs.BoolVar(&f.EchoKey, "echo-key", false, "put the request's API key in the \"id\" of every 201 body")
	fs.BoolVar(&f.Hang, "hang", false, "accept every API request and never answer it, until the client gives up")
	fs.IntVar(&f.RetryAfter, "retry-after", 0, "`SECONDS` of Retry-After in every 429 (with --rate-limit), however long; 0: until the next token")
	fs.Int64Var(&f.Seed, "seed", 1, "seed of the fault dice; the same seed repeats the same faults for the same requests")
	fs.BoolVar(&c.quiet, "quiet", false, "do not log every request (for load tests)")
}

func (c *sandboxCommand) Run(ctx context.Context, args []string) error {
	env := c.env
	if len(args) > 0 {
		return usageError("sandbox takes no arguments, got %q", args)
	}
	if err := c.faults.Check(); err != nil {
		return usageError("%v", err)
	}
	if c.synthetic < 0 {
		return usageError("--activities %d must not be negative", c.synthetic)
	}
	tenant, err := sandbox.LoadTenant(c.tenantPath)
	if err != nil {
		return withCode(exitUsage, err)
	}
	tenant.AddSynthetic(c.synthetic)

	log := slog.New(slog.NewTextHandler(env.stderr, nil))
	srv := sandbox.New(tenant)
	srv.SetFaults(c.faults)
	if !c.quiet {
		srv.Logger = log
	}

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return withCode(exitError, fmt.Errorf("cannot listen on %s: %w (pick another --addr, or port 0 for a free one)", c.addr, err))
	}
	// Requests waiting out --latency watch their context: ending it on
	// shutdown lets them go at once instead of holding Shutdown up.
	reqCtx, endRequests := context.WithCancel(context.Background())
	defer endRequests()
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return reqCtx },
	}
	fmt.Fprintf(env.stdout, "sandbox listening on http://%s (tenant %s: %d activities, %d result types)\n",
		ln.Addr(), c.tenantPath, len(tenant.Activities), len(tenant.Configs))
	log.Info("sandbox started", "addr", ln.Addr().String(), "faults", c.faults)

	err = serveUntil(ctx, hs, ln, endRequests)
	st := srv.Stats()
	log.Info("sandbox stopped", "requests", st.Requests, "stored", st.Stored, "dropped", st.Dropped)
	return err
}

// serveUntil serves hs on ln until ctx ends (Ctrl-C, SIGTERM), then calls
// stopping, if not nil, and shuts hs down, giving the requests left 5
// seconds to finish.
func serveUntil(ctx context.Context, hs *http.Server, ln net.Listener, stopping func()) error {
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return withCode(exitError, fmt.Errorf("serving: %w", err))
	case <-ctx.Done():
	}
	if stopping != nil {
		stopping()
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := hs.Shutdown(shutdown)
	<-served
	if err != nil {
		return withCode(exitError, fmt.Errorf("shutting down: %w", err))
	}
	return nil
}
