package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/reports"
	"github.com/reten/reconcile/internal/sandbox"
	"github.com/reten/reconcile/internal/submit"
	"github.com/reten/reconcile/internal/web"
	"github.com/reten/reconcile/samples"
)

// demoKey is the demo tenant's key with both permissions; it is a sandbox key,
// valid nowhere else.
const demoKey = "rtn_sk_demo"

// demoCommand is `reconcile demo`: the whole job on the shipped samples
// against an in-process sandbox that misbehaves a little, so a new user sees
// every part at work with nothing but Go installed.
type demoCommand struct {
	env      *environ
	send     sendOptions
	failRate float64
	latency  time.Duration
	web      bool
	console  consoleFlags
}

func (c *demoCommand) usage() usage {
	return usage{
		use:   "demo [flags]",
		short: "run the whole job on the shipped samples against an in-process sandbox",
		long: `Runs the whole job on the shipped samples against an in-process sandbox that
answers some requests with a 5xx, as ` + "`reconcile run`" + ` would against the API.
With --web, serves the web console against that sandbox instead, with the
samples uploaded, and prints the URL to log in with.`,
	}
}

func (c *demoCommand) flags(fs *pflag.FlagSet) {
	c.send = newSendOptions(withPolicy | withReportDir)
	// The Spanish samples ask to override some rows themselves.
	c.send.policy = string(submit.OverrideRow)
	c.send.timeout = 10 * time.Second
	c.send.register(fs)
	fs.Float64Var(&c.failRate, "fail-rate", 0.1, "share of requests the sandbox answers 500/502/503, 0 to 1")
	fs.DurationVar(&c.latency, "latency", 30*time.Millisecond, "the sandbox's delay before every answer")
	fs.BoolVar(&c.web, "web", false, "serve the web console on the sandbox and the samples, as `reconcile serve` does, until Ctrl-C")
	c.console.register(fs)
}

func (c *demoCommand) Run(ctx context.Context, args []string) error {
	env := c.env
	if len(args) > 0 {
		return usageError("demo takes no arguments, got %q", args)
	}
	faults := sandbox.Faults{FailRate: c.failRate, Latency: c.latency, Seed: time.Now().UnixNano()}
	if err := faults.Check(); err != nil {
		return usageError("%v", err)
	}
	if c.web && c.send.reportDir != "" {
		return usageError("demo --web writes each run's reports in the state directory: leave out --report-dir")
	}
	srv, tenant, base, stop, err := startDemoSandbox(faults)
	if err != nil {
		return err
	}
	defer stop()
	client, err := api.NewClient(base, demoKey)
	if err != nil {
		return withCode(exitError, err)
	}
	if c.web {
		return c.runWeb(ctx, srv, tenant, base, client)
	}

	dir := c.send.reportDir
	if dir == "" {
		dir = reports.DefaultDir(time.Now())
	}
	in, err := demoInputs(dir)
	if err != nil {
		return withCode(exitError, err)
	}
	files := make([]string, len(demoFiles))
	for i, f := range demoFiles {
		files[i] = filepath.Join(in, f)
	}
	read := inputFlags{mapping: filepath.Join(in, demoMapping), dateFormat: demoDateFormat, timezone: demoTimezone}
	fmt.Fprintf(env.stdout, "sandbox: %s, the demo tenant (%d activities), answering %.0f%% of requests with 5xx, after %v\n",
		base, len(tenant.Activities), 100*faults.FailRate, faults.Latency)
	fmt.Fprintf(env.stdout, "files:   %s\n", strings.Join(files, ", "))
	fmt.Fprintf(env.stdout, "as:      reconcile run --mapping %s --date-format %q --timezone %s --hard-override %s FILE...\n\n",
		read.mapping, read.dateFormat, read.timezone, c.send.policy)

	job, err := c.send.job(env, "demo", client, &read)
	if err != nil {
		return err
	}
	// A ledger of its own: the sandbox starts empty every time, so what an
	// earlier demo sent must not be skipped as already submitted.
	if job.StateDir, err = os.MkdirTemp("", "reconcile-demo-state-"); err != nil {
		return withCode(exitError, err)
	}
	defer os.RemoveAll(job.StateDir)
	job.Files, job.ReportDir = files, dir
	job.Settings = append(job.Settings,
		reports.Setting{Name: "sandbox fail-rate", Value: fmt.Sprint(faults.FailRate)},
		reports.Setting{Name: "sandbox latency", Value: faults.Latency.String()})
	err = runJob(ctx, env, job)
	fmt.Fprintf(env.stdout, "\nThe sandbox answered %s.\n", sandboxAnswers(srv.Stats()))
	var ce *codeError
	if errors.As(err, &ce) && ce.code == exitRowsNotOK {
		// The samples hold mistakes on purpose: that is the demo working.
		fmt.Fprintf(env.stdout, "\nThe samples hold mistakes on purpose, so a real run would exit %d (rows need a person).\n", exitRowsNotOK)
		fmt.Fprintf(env.stdout, "Look at %s (or report.xlsx) and the rejects beside it.\n", filepath.Join(dir, reports.CSVName))
		return nil
	}
	return err
}

// startDemoSandbox serves the embedded demo tenant in-process on a free
// loopback port, with faults, until stop.
func startDemoSandbox(faults sandbox.Faults) (srv *sandbox.Server, tenant *sandbox.Tenant, base string, stop func(), err error) {
	data, err := samples.FS.ReadFile("tenant.json")
	if err != nil {
		return nil, nil, "", nil, withCode(exitError, err)
	}
	tenant, err = sandbox.ParseTenant(data)
	if err != nil {
		return nil, nil, "", nil, withCode(exitError, fmt.Errorf("the embedded demo tenant: %w", err))
	}
	srv = sandbox.New(tenant)
	srv.SetFaults(faults)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, "", nil, withCode(exitError, fmt.Errorf("cannot listen on a loopback port for the sandbox: %w", err))
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	return srv, tenant, "http://" + ln.Addr().String(), func() { hs.Close() }, nil
}

// runWeb is demo --web: the console on the sandbox, the samples uploaded,
// a state directory of its own for as long as it serves.
func (c *demoCommand) runWeb(ctx context.Context, srv *sandbox.Server, tenant *sandbox.Tenant, base string, client *api.Client) error {
	env := c.env
	job, err := c.send.job(env, "console", client, &inputFlags{})
	if err != nil {
		return err
	}
	// As the demo's: the sandbox starts empty every time.
	if job.StateDir, err = os.MkdirTemp("", "reconcile-demo-state-"); err != nil {
		return withCode(exitError, err)
	}
	defer os.RemoveAll(job.StateDir)
	job.Settings = append(job.Settings,
		reports.Setting{Name: "sandbox fail-rate", Value: fmt.Sprint(c.failRate)},
		reports.Setting{Name: "sandbox latency", Value: c.latency.String()})
	fmt.Fprintf(env.stdout, "sandbox: %s, the demo tenant (%d activities), answering %.0f%% of requests with 5xx, after %v\n",
		base, len(tenant.Activities), 100*c.failRate, c.latency)
	seed := func(w *web.Server) error {
		for _, name := range demoFiles {
			data, err := fs.ReadFile(samples.FS, name)
			if err != nil {
				return fmt.Errorf("the embedded samples lack %s: %w", name, err)
			}
			if _, err := w.Upload(name, bytes.NewReader(data)); err != nil {
				return err
			}
		}
		fmt.Fprintf(env.stdout, "samples: %s, uploaded (the console's upload page lists them)\n", strings.Join(demoFiles, ", "))
		fmt.Fprintf(env.stdout, "state:   %s, for as long as the demo runs: its uploads, reports and ledger go when it stops\n", job.StateDir)
		return nil
	}
	err = serveConsole(ctx, env, c.console, job, seed)
	fmt.Fprintf(env.stdout, "\nThe sandbox answered %s.\n", sandboxAnswers(srv.Stats()))
	return err
}

// The shipped samples and how to read them: the Spanish ones need the mapping,
// day/month dates and the tenant's time zone; the English one reads the same.
var demoFiles = []string{"results.csv", "resultados.csv", "resultados.xlsx"}

const (
	demoMapping    = "mapping-es.txt"
	demoDateFormat = "02/01/2006 15:04"
	demoTimezone   = "America/Santiago"
)

// demoInputs returns the folder holding the samples: ./samples when run from
// the repository, else a copy of the embedded ones in the report folder, so
// the inputs stay beside the reports about them.
func demoInputs(reportDir string) (string, error) {
	ok := true
	for _, f := range append([]string{demoMapping}, demoFiles...) {
		if _, err := os.Stat(filepath.Join("samples", f)); err != nil {
			ok = false
		}
	}
	if ok {
		return "samples", nil
	}
	dir := filepath.Join(reportDir, "samples")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for _, f := range append([]string{demoMapping}, demoFiles...) {
		data, err := fs.ReadFile(samples.FS, path.Join(".", f))
		if err != nil {
			return "", fmt.Errorf("the embedded samples lack %s: %w", f, err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// sandboxAnswers sums up what the sandbox answered, so the retries behind the
// summary show: "62 requests: 1×200, 26×201, 6×409, 4×503".
func sandboxAnswers(st sandbox.Stats) string {
	codes := make([]int, 0, len(st.Status))
	for c := range st.Status {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	parts := make([]string, 0, len(codes)+1)
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d×%d", st.Status[c], c))
	}
	if st.Dropped > 0 {
		parts = append(parts, fmt.Sprintf("%d dropped", st.Dropped))
	}
	return fmt.Sprintf("%d requests: %s", st.Requests, strings.Join(parts, ", "))
}
