package main

import (
	"context"

	"github.com/spf13/pflag"

	"github.com/reten/reconcile/internal/engine"
	"github.com/reten/reconcile/internal/ledger"
	"github.com/reten/reconcile/internal/reports"
	"github.com/reten/reconcile/internal/spill"
	"github.com/reten/reconcile/internal/validate"
)

// validateCommand is `reconcile validate`: check files offline against the
// cached result types; nothing is sent.
type validateCommand struct {
	env     *environ
	in      inputFlags
	configs string
	report  reportFlags
}

func (c *validateCommand) usage() usage {
	return usage{
		use:   "validate [flags] FILE...",
		short: "check files offline against the cached result types and write report.csv; sends nothing",
		long:  "Checks every row offline against the cached result types (reconcile configs pull); sends nothing.",
	}
}

func (c *validateCommand) flags(fs *pflag.FlagSet) {
	configsFlag(fs, &c.configs, validate.DefaultCataloguePath())
	c.report.register(fs)
	c.in.register(fs)
}

func (c *validateCommand) Run(ctx context.Context, files []string) error {
	if err := c.report.out.apply(c.env); err != nil {
		return err
	}
	if len(files) == 0 {
		return usageError("validate needs at least one CSV or XLSX file: reconcile validate [flags] FILE... (see reconcile validate -h)")
	}
	opts, err := c.in.options()
	if err != nil {
		return err
	}
	ropts, err := c.report.options(reports.Options{XLSX: true, Rejects: true, FailedExitCode: exitError})
	if err != nil {
		return err
	}
	job := &engine.Job{
		Command:     "validate",
		Files:       files,
		Import:      opts,
		ConfigsFile: c.configs,
		ReportDir:   c.report.dir,
		Reports:     ropts,
		Settings:    c.in.settings(),
		ExitCode:    exitCode,
	}
	// Nothing is sent, so no ledger; the temporary files still go to the
	// state directory, where a killed run's are removed by the next one.
	if dir, err := ledger.DefaultDir(c.env.getenv); err == nil {
		job.SpillDir = spill.Dir(dir)
	}
	return runJob(ctx, c.env, job)
}
