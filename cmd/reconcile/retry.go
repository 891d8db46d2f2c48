package main

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/reten/reconcile/internal/engine"
)

// retryCommand is `reconcile retry`: send again the rows of an earlier run
// that ended failed (or conflict, with --conflicts).
type retryCommand struct {
	env       *environ
	in        inputFlags
	send      sendOptions
	conflicts bool
}

func (c *retryCommand) usage() usage {
	return usage{
		use:   "retry [flags] REPORT_DIR",
		short: "send again the rows of an earlier run that ended failed (REPORT_DIR)",
		long: `Sends again the rows of an earlier run that ended failed (a 5xx, timeout or
connection error after every retry), and writes a new report of those rows.
The rows are read from REPORT_DIR's rejects files, which keep them exactly as
they were sent, in their own columns and format, so the original files may
have moved or changed since; the import settings of that run are used unless
given again. With --conflicts, rows that ended conflict are sent too, with
hard_override: they replace the activity's result.`,
	}
}

func (c *retryCommand) flags(fs *pflag.FlagSet) {
	c.in.register(fs)
	c.send = newSendOptions(withCache | withLedger | withForce | withReportDir)
	c.send.register(fs)
	fs.BoolVar(&c.conflicts, "conflicts", false, "also send the rows that ended conflict, with hard_override: they replace the activity's result")
}

func (c *retryCommand) Run(ctx context.Context, args []string) error {
	if len(args) != 1 {
		return usageError("retry takes one report folder: reconcile retry [flags] REPORT_DIR (see reconcile retry -h)")
	}
	plan, err := engine.PlanRetry(args[0], c.conflicts)
	if err != nil {
		return failure(err)
	}
	if err := c.send.check(); err != nil {
		return err
	}
	if plan.Rows() == 0 {
		what := "failed"
		if c.conflicts {
			what = "failed or conflict"
		}
		fmt.Fprintf(c.env.stdout, "nothing to retry: the run in %s left no rows that ended %s\n", plan.Dir, what)
		return nil
	}
	c.in.inherit(plan.Summary.Settings)
	job, err := c.send.job(c.env, "retry", nil, &c.in)
	if err != nil {
		return err
	}
	if err := plan.Apply(job); err != nil {
		return failure(err)
	}
	return runJob(ctx, c.env, job)
}
