package main

import (
	"context"
	"time"

	"github.com/spf13/pflag"

	"github.com/reten/reconcile/internal/reports"
)

// reportCommand is `reconcile report`, whose one subcommand is merge.
type reportCommand struct{ env *environ }

func (c *reportCommand) usage() usage {
	return usage{
		use:   "report COMMAND",
		short: "combine the reports of several workers of one run into one (report merge)",
		long:  "Works on report folders written by reconcile run.",
	}
}

func (c *reportCommand) flags(*pflag.FlagSet) {}

func (c *reportCommand) subcommands() []command { return []command{&reportMergeCommand{env: c.env}} }

func (c *reportCommand) Run(context.Context, []string) error {
	return usageError("usage: reconcile report merge [--out DIR] DIR...")
}

// reportMergeCommand is `reconcile report merge`.
type reportMergeCommand struct {
	env *environ
	out string
}

func (c *reportMergeCommand) usage() usage {
	return usage{
		use:   "merge [--out DIR] DIR...",
		short: "combine the report folders of workers that shared a ledger into one report",
		long: `Combines the report folders that several workers wrote for the same files (with
a shared --ledger) into one report.csv and summary.json: every input row once,
taken from the worker that sent it (the others have it skipped as "being sent
by worker ..." or "sent meanwhile by worker ..."). The counts are those one
worker alone would have reported. Each worker's rejects files stay in its own
folder: retry from there.`,
	}
}

func (c *reportMergeCommand) flags(fs *pflag.FlagSet) {
	fs.StringVar(&c.out, "out", "", "`DIR` for the merged report (default: a new reports-DATE folder here)")
}

func (c *reportMergeCommand) Run(ctx context.Context, dirs []string) error {
	if len(dirs) == 0 {
		return usageError("no report folders: reconcile report merge [--out DIR] DIR... (each worker's --report-dir)")
	}
	out := c.out
	if out == "" {
		out = reports.DefaultDir(time.Now())
	}
	sum, err := reports.Merge(dirs, out)
	if err != nil {
		return withCode(exitUsage, err)
	}
	sum.Print(c.env.stdout, c.env.stdoutWidth)
	if sum.ExitCode != exitOK {
		return withCode(sum.ExitCode, errSilent)
	}
	return nil
}
