package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/submit"
	"github.com/reten/reconcile/internal/validate"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/ledger"
	"github.com/reten/reconcile/internal/reports"
)

const runUsage = `usage: reconcile run [flags] FILE...

Validates every row of the files against the tenant's result types, sends the
valid ones to the API and writes the reports. Flags:`

func runRun(ctx context.Context, env *environ, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintln(env.stderr, runUsage)
		printDefaultsExcept(fs, "cpuprofile")
	}
	j := &job{command: "run"}
	var imp inputFlags
	imp.register(fs)
	j.registerSendFlags(fs)
	policy := fs.String("hard-override", string(submit.OverrideNever), "`POLICY` on 409: never (report a conflict), always (send again with hard_override), row (only rows whose hard_override column is true)")
	fs.BoolVar(&j.sub.DryRun, "dry-run", false, "validate and write the reports, send nothing (valid rows are skipped as \"dry run\")")
	led := addLedgerFlags(fs)
	// Not listed in -h: for measuring where a run's CPU goes.
	cpuprofile := fs.String("cpuprofile", "", "`FILE` to write a CPU profile of the run to (go tool pprof)")
	inbox := fs.String("inbox", "", "`DIR` whose spreadsheets are processed one by one, oldest first, each moved with its reports to DIR/done or DIR/failed (for cron)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return withCode(exitUsage, errSilent)
	}
	j.stateDir, j.force = led.stateDir, led.force
	j.files = fs.Args()
	if *inbox != "" {
		switch {
		case len(j.files) > 0:
			return usageError("--inbox %s takes no FILE arguments: put the files in the folder, or run without --inbox", *inbox)
		case j.reportDir != "":
			return usageError("--inbox writes each file's reports beside it in DIR/done or DIR/failed: leave out --report-dir")
		case j.sub.DryRun:
			return usageError("--inbox moves the files it processes: run --dry-run on the files instead")
		}
	} else if len(j.files) == 0 {
		return usageError("no input files: reconcile run [flags] FILE... (see reconcile run -h)")
	}
	var err error
	if j.policy, err = submit.ParseOverridePolicy(*policy); err != nil {
		return usageError("--hard-override: %v", err)
	}
	if j.sub.Concurrency < 1 {
		return usageError("--concurrency must be 1 or more, got %d", j.sub.Concurrency)
	}
	if j.sub.Rate < 0 {
		return usageError("--rate must be 0 (no limit) or more, got %v", j.sub.Rate)
	}
	if j.retries < 0 {
		return usageError("--retries must be 0 or more, got %d", j.retries)
	}
	if j.timeout <= 0 {
		return usageError("--timeout must be positive, e.g. 30s, got %v", j.timeout)
	}
	if j.importOpts, err = imp.options(); err != nil {
		return err
	}
	j.settings = append(j.settings, imp.settings()...)
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "mapping", "delimiter", "encoding", "sheet", "date-format", "timezone":
		default:
			j.settings = append(j.settings, reports.Setting{Name: f.Name, Value: f.Value.String()})
		}
	})
	if !j.sub.DryRun || j.configsFile == "" {
		if j.sub.Client, err = clientFromEnv(env); err != nil {
			return err
		}
	}
	if *cpuprofile != "" {
		stop, err := startCPUProfile(*cpuprofile)
		if err != nil {
			return usageError("--cpuprofile: %v", err)
		}
		defer stop()
	}
	if *inbox != "" {
		return j.runInbox(ctx, env, *inbox)
	}
	return j.run(ctx, env)
}

// startCPUProfile profiles the process into path until the returned func is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// printDefaultsExcept prints fs's flags as PrintDefaults does, leaving out
// the hidden ones.
func printDefaultsExcept(fs *flag.FlagSet, hidden ...string) {
	shown := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	shown.SetOutput(fs.Output())
	fs.VisitAll(func(f *flag.Flag) {
		if !slices.Contains(hidden, f.Name) {
			shown.Var(f.Value, f.Name, f.Usage)
			shown.Lookup(f.Name).DefValue = f.DefValue
		}
	})
	shown.PrintDefaults()
}

// job is one run of the whole flow: files in, requests out, reports written.
// `run` and `demo` fill it from different places.
// registerSendFlags defines the flags run and retry share: how to reach and
// pace the API, and where the reports go.
func (j *job) registerSendFlags(fs *flag.FlagSet) {
	fs.IntVar(&j.sub.Concurrency, "concurrency", submit.DefaultConcurrency, "`N` requests in flight at once")
	fs.Float64Var(&j.sub.Rate, "rate", 0, "at most `N` requests per second, retries included (0: no limit)")
	fs.IntVar(&j.retries, "retries", submit.DefaultRetries, "`N` times a 5xx, 429, timeout or connection error is retried (0: never)")
	fs.StringVar(&j.configsFile, "configs", "", "`FILE` of result types written by `reconcile configs pull` (default: download them now)")
	fs.StringVar(&j.reportDir, "report-dir", "", "`DIR` for the reports (default: a new reports-DATE folder here)")
	fs.DurationVar(&j.timeout, "timeout", api.DefaultTimeout, "`DURATION` each request may take, answer included")
}

type job struct {
	command     string
	files       []string
	importOpts  importer.Options
	configsFile string
	reportDir   string
	retries     int
	policy      submit.OverridePolicy
	timeout     time.Duration
	settings    []reports.Setting
	sub         submit.Submitter
	// stateDir ("" for the default) and force are --state-dir and --force.
	stateDir string
	force    bool
	// runID names the run in the ledger; "" makes a new one.
	runID string
	// ledger, if not nil, is the tenant's ledger, opened and locked by the
	// caller for longer than this job (the inbox); else run opens it.
	ledger *ledger.DB
	// keep, if not nil, chooses the rows to process (retry); the others are
	// left out of the run and its reports.
	keep func(importer.Row) bool
	// summary is what the reports summed up, once run has closed them.
	summary *reports.Summary
}

func (j *job) run(ctx context.Context, env *environ) error {
	if env.getenv("GOGC") == "" {
		// The live heap is small and bounded by the concurrency, not the
		// input; collecting less often leaves the CPU to the requests.
		debug.SetGCPercent(400)
	}
	started := time.Now()

	// The ledger first: a run that finds another one holding it stops at once.
	var runLedger submit.Ledger
	if !j.sub.DryRun && j.sub.Client != nil {
		if j.runID == "" {
			j.runID = newRunID(started)
		}
		db := j.ledger
		if db == nil {
			var err error
			if db, err = openLedger(env, j.stateDir, j.sub.Client.BaseURL, j.runID); err != nil {
				return err
			}
			defer db.Close()
		}
		runLedger = &ledger.Run{Store: db, ID: j.runID, Force: j.force}
		j.settings = append(j.settings, reports.Setting{Name: "run", Value: j.runID}, reports.Setting{Name: "ledger", Value: db.Path()})
	}

	// Every header first: a broken file stops the run before anything is sent,
	// and the reports know every layout from their first line.
	spills := spillDir(env, j.stateDir)
	importOpts := j.importOpts
	importOpts.SpillDir = spills
	readers, err := openInputs(env, j.files, importOpts)
	if err != nil {
		return err
	}
	defer func() {
		for _, r := range readers {
			r.Close()
		}
	}()
	layouts := make([]*importer.Layout, 0, len(readers))
	for _, r := range readers {
		layouts = append(layouts, r.Layout())
	}

	sub := j.sub
	sub.Ledger = runLedger
	sub.Policy = j.policy
	sub.Retries = j.retries
	if sub.Client != nil {
		sub.Client.Timeout = j.timeout
	}
	cat, err := j.catalogue(ctx, &sub)
	if err != nil {
		return err
	}

	dir := j.reportDir
	if dir == "" {
		dir = reports.DefaultDir(started)
	}
	baseURL := ""
	if sub.Client != nil {
		baseURL = sub.Client.BaseURL
	}
	w, err := reports.Create(dir, reports.RunInfo{
		Command: j.command, Layouts: layouts, Started: started, BaseURL: baseURL, Settings: j.settings,
	}, reports.Options{XLSX: true, Rejects: true, FailedExitCode: exitError, SpillDir: spills})
	if err != nil {
		return withCode(exitError, fmt.Errorf("creating the reports in %s: %w\n  what to do: choose another --report-dir", dir, err))
	}

	prog := newProgress(env, started)
	sub.Logger = prog.log
	stopHint := context.AfterFunc(ctx, func() {
		prog.log.Warn("interrupted: finishing the requests in flight and writing the reports (Ctrl-C again to quit now)")
	})
	defer stopHint()
	var readErr, writeErr error
	validator := validate.NewValidator(cat, nil)
	validator.SpillDir = spills
	defer validator.Close()
	items := func(yield func(validate.Item) bool) {
		for _, r := range readers {
			for {
				row, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					readErr = err
					return
				}
				if j.keep != nil && !j.keep(row) {
					continue
				}
				prog.read()
				if !yield(validator.Check(row)) {
					return
				}
			}
		}
	}
	stats, runErr := sub.Run(ctx, iter.Seq[validate.Item](items), func(o outcome.Outcome) {
		if err := w.Write(o); err != nil && writeErr == nil {
			writeErr = err
		}
		prog.done(o)
	})
	prog.finish()

	code, cause := exitCode(stats, runErr, readErr, writeErr)
	sum, err := w.Close(code)
	if err != nil && cause == nil {
		code, cause = exitError, fmt.Errorf("finishing the reports in %s: %w", dir, err)
	}
	j.summary = sum
	if sum != nil {
		sum.Print(env.stdout) // it says where the reports are
	} else {
		fmt.Fprintf(env.stdout, "reports (unfinished): %s\n", dir)
	}
	if cause != nil {
		return withCode(code, cause)
	}
	if code != exitOK {
		return withCode(code, errSilent)
	}
	return nil
}

// exitCode turns how the run ended into the documented exit code and, when
// the run did not finish its work, the error to print.
func exitCode(st submit.Stats, runErr, readErr, writeErr error) (int, error) {
	switch {
	case writeErr != nil:
		return exitError, fmt.Errorf("writing the reports: %w\n  what to do: check the disk, then run again (rows already accepted answer 409 next time)", writeErr)
	case runErr != nil:
		if e, ok := api.AsError(runErr); ok && e.Auth() {
			msg := fmt.Sprintf("%v\n  every row not yet sent is skipped", runErr)
			if advice := e.Advice(); advice != "" {
				msg += "\n  what to do: " + advice
			}
			return exitAuth, errors.New(msg)
		}
		if errors.Is(runErr, context.Canceled) {
			return exitInterrupted, errors.New("interrupted: the requests in flight finished, the rows not sent are skipped")
		}
		return exitError, runErr
	case readErr != nil:
		return exitError, fmt.Errorf("%w\n  the rows after it were not read; fix the file and run again", readErr)
	}
	for _, c := range outcome.Classes {
		if c.NeedsPerson() && st.Counts[c] > 0 {
			return exitRowsNotOK, nil
		}
	}
	return exitOK, nil
}

// catalogue loads --configs, or downloads the result types (retried as
// submissions are), which also proves the key works before anything is sent.
func (j *job) catalogue(ctx context.Context, sub *submit.Submitter) (*validate.Catalogue, error) {
	if j.configsFile != "" {
		cat, err := validate.LoadCatalogue(j.configsFile)
		if err != nil {
			return nil, withCode(exitUsage, err)
		}
		return cat, nil
	}
	var configs []api.ResultTypeConfig
	err := sub.Retry(ctx, func(ctx context.Context) (err error) {
		configs, err = sub.Client.ListResultTypeConfigs(ctx)
		return err
	})
	if err != nil && ctx.Err() != nil {
		return nil, withCode(exitInterrupted, errors.New("interrupted before anything was sent"))
	}
	if err != nil {
		return nil, apiFailure("downloading the result types before sending", err)
	}
	if len(configs) == 0 {
		return nil, withCode(exitError, fmt.Errorf("the API at %s lists no result types for this key's tenant: no row could be validated", j.sub.Client.BaseURL))
	}
	return &validate.Catalogue{FetchedAt: time.Now().UTC(), BaseURL: j.sub.Client.BaseURL, Configs: configs}, nil
}

// classCounts renders the non-zero counts in report order: "ok=12 invalid=3".
func classCounts(counts map[outcome.Class]int) string {
	var b strings.Builder
	for _, c := range outcome.Classes {
		if n := counts[c]; n > 0 {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%s=%d", c, n)
		}
	}
	return b.String()
}
