package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"

	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/submit"

	"github.com/reten/reconcile/internal/ledger"
	"github.com/reten/reconcile/internal/reports"
)

const retryUsage = `usage: reconcile retry [flags] REPORT_DIR

Sends again the rows of an earlier run that ended failed (a 5xx, timeout or
connection error after every retry), and writes a new report of those rows.
The rows are read from REPORT_DIR's rejects files, which keep them exactly as
they were sent, in their own columns and format, so the original files may
have moved or changed since. With --conflicts, rows that ended conflict are
sent too, with hard_override: they replace the activity's result. Flags:`

func runRetry(ctx context.Context, env *environ, args []string) error {
	fs := flag.NewFlagSet("retry", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintln(env.stderr, retryUsage)
		fs.PrintDefaults()
	}
	j := &job{command: "retry"}
	var imp inputFlags
	imp.register(fs)
	j.registerSendFlags(fs)
	conflicts := fs.Bool("conflicts", false, "also send the rows that ended conflict, with hard_override: they replace the activity's result")
	led := addLedgerFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return withCode(exitUsage, errSilent)
	}
	if fs.NArg() != 1 {
		return usageError("retry takes one report folder: reconcile retry [flags] REPORT_DIR (see reconcile retry -h)")
	}
	j.stateDir, j.force = led.stateDir, led.force
	src := fs.Arg(0)
	sum, err := reports.ReadSummary(src)
	if err != nil {
		return withCode(exitUsage, err)
	}

	// The import settings of the run that wrote the report, unless given again.
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for name, p := range map[string]*string{
		"mapping": &imp.mapping, "delimiter": &imp.delimiter, "encoding": &imp.encoding,
		"sheet": &imp.sheet, "date-format": &imp.dateFormat, "timezone": &imp.timezone,
	} {
		if v, ok := sum.Settings[name]; ok && !given[name] {
			*p = v
		}
	}
	if j.importOpts, err = imp.options(); err != nil {
		return err
	}
	j.policy = submit.OverrideNever
	if p, ok := sum.Settings["hard-override"]; ok {
		if j.policy, err = submit.ParseOverridePolicy(p); err != nil {
			return usageError("%s: hard-override setting: %v", filepath.Join(src, reports.SummaryName), err)
		}
	}
	if *conflicts {
		j.policy = submit.OverrideAlways
	}
	if j.sub.Concurrency < 1 {
		return usageError("--concurrency must be 1 or more, got %d", j.sub.Concurrency)
	}
	if j.sub.Rate < 0 || j.retries < 0 || j.timeout <= 0 {
		return usageError("--rate and --retries must be 0 or more, --timeout positive")
	}
	j.settings = append(j.settings, imp.settings()...)
	j.settings = append(j.settings, reports.Setting{Name: "retry of", Value: src})
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "mapping", "delimiter", "encoding", "sheet", "date-format", "timezone":
		default:
			j.settings = append(j.settings, reports.Setting{Name: f.Name, Value: f.Value.String()})
		}
	})

	want := map[outcome.Class]bool{outcome.ClassFailed: true, outcome.ClassConflict: *conflicts}
	for _, name := range sum.Reports.Rejects {
		j.files = append(j.files, filepath.Join(src, name))
	}
	n, what := sum.Counts[outcome.ClassFailed], "failed"
	if *conflicts {
		n, what = n+sum.Counts[outcome.ClassConflict], "failed or conflict"
	}
	if n == 0 || len(j.files) == 0 {
		fmt.Fprintf(env.stdout, "nothing to retry: the run in %s left no rows that ended %s\n", src, what)
		return nil
	}
	j.keep = func(row importer.Row) bool {
		c, ok := reports.RowClass(row)
		return ok && want[c]
	}

	if j.sub.Client, err = clientFromEnv(env); err != nil {
		return err
	}
	if sum.BaseURL != "" {
		a, _, errA := ledger.NormalizeBaseURL(sum.BaseURL)
		b, _, errB := ledger.NormalizeBaseURL(j.sub.Client.BaseURL)
		if errA == nil && errB == nil && a != b {
			return usageError("the run in %s sent to %s, but RETEN_BASE_URL is %s: retry against the same tenant", src, a, b)
		}
	}
	return j.run(ctx, env)
}
