package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/reten/reconcile/internal/engine"
)

// runCommand is `reconcile run`: validate files, send the valid rows, write
// the reports; or, with --inbox, every spreadsheet of a folder in turn.
type runCommand struct {
	env        *environ
	in         inputFlags
	send       sendOptions
	inbox      string
	settle     time.Duration
	cpuprofile string
}

func (c *runCommand) usage() usage {
	return usage{
		use:   "run [flags] FILE...",
		short: "validate the files, submit the valid rows and write the reports",
		long: `Validates every row of the files against the tenant's result types, sends the
valid ones to the API and writes the reports. With --inbox DIR, processes every
spreadsheet in DIR instead, oldest first, each moved with its reports to
DIR/done or DIR/failed (for cron).`,
	}
}

func (c *runCommand) flags(fs *pflag.FlagSet) {
	c.in.register(fs)
	c.send = newSendOptions(withPolicy | withCache | withLedger | withForce | withDryRun | withReportDir)
	c.send.register(fs)
	fs.StringVar(&c.inbox, "inbox", "", "`DIR` whose spreadsheets are processed one by one, oldest first, each moved with its reports to DIR/done or DIR/failed (for cron)")
	fs.DurationVar(&c.settle, "settle", 5*time.Second, "with --inbox: how long a file's size and time must stay unchanged before it is taken (a file still being copied in waits for the next run)")
	// Not listed in -h: for measuring where a run's CPU goes.
	fs.StringVar(&c.cpuprofile, "cpuprofile", "", "`FILE` to write a CPU profile of the run to (go tool pprof)")
	fs.MarkHidden("cpuprofile")
}

func (c *runCommand) Run(ctx context.Context, files []string) error {
	if c.inbox != "" {
		switch {
		case len(files) > 0:
			return usageError("--inbox %s takes no FILE arguments: put the files in the folder, or run without --inbox", c.inbox)
		case c.send.reportDir != "":
			return usageError("--inbox writes each file's reports beside it in DIR/done or DIR/failed: leave out --report-dir")
		case c.send.dryRun:
			return usageError("--inbox moves the files it processes: run --dry-run on the files instead")
		}
	} else if len(files) == 0 {
		return usageError("no input files: reconcile run [flags] FILE... (see reconcile run -h)")
	}
	job, err := c.send.job(c.env, "run", nil, &c.in)
	if err != nil {
		return err
	}
	job.Files = files
	if c.cpuprofile != "" {
		stop, err := startCPUProfile(c.cpuprofile)
		if err != nil {
			return usageError("--cpuprofile: %v", err)
		}
		defer stop()
	}
	if c.inbox != "" {
		return c.runInbox(ctx, job)
	}
	return runJob(ctx, c.env, job)
}

// runJob runs job with a progress bar (or log lines), prints the summary
// and returns how it ended, with its exit code.
func runJob(ctx context.Context, env *environ, job *engine.Job) error {
	prog := newProgress(env)
	defer context.AfterFunc(ctx, func() {
		prog.log.Warn("press Ctrl-C again to quit at once, leaving the reports unfinished")
	})()
	res := job.Run(ctx, prog)
	prog.finish()
	if res.Summary != nil {
		res.Summary.Print(env.stdout) // it says where the reports are
	}
	return resultError(res)
}

// resultError is the error Main gets from a run that ended as r did: its
// exit code, and its message unless the summary said it all.
func resultError(r *engine.Result) error {
	code := exitCode(r)
	switch {
	case r.Err != nil:
		return withCode(code, r.Err)
	case code != exitOK:
		return withCode(code, errSilent)
	}
	return nil
}

// runInbox processes the inbox, telling of each file as it is filed away.
func (c *runCommand) runInbox(ctx context.Context, job *engine.Job) error {
	stdout, stderr := c.env.stdout, c.env.stderr
	in := &engine.Inbox{Dir: c.inbox, Job: *job, Settle: c.settle, Filed: func(f *engine.InboxFile, r *engine.Result) {
		fmt.Fprintf(stdout, "inbox: %s\n", f.Name)
		if r.Summary != nil {
			r.Summary.Print(stdout)
		}
		if r.Err != nil {
			fmt.Fprintf(stderr, "reconcile run: %s: %v\n", f.Name, r.Err)
		}
		if f.Moved {
			fmt.Fprintf(stdout, "inbox: %s and its reports moved to %s\n", f.Name, filepath.Join(c.inbox, f.Folder))
		} else {
			fmt.Fprintf(stdout, "inbox: %s stays in the inbox for the next run; its reports are in %s\n", f.Name, filepath.Join(c.inbox, f.Folder))
		}
	}}
	prog := newProgress(c.env)
	res := in.Run(ctx, prog)
	prog.finish()
	if res.Summary == nil {
		return resultError(res.Result)
	}
	sum := res.Summary
	if len(sum.Ignored) > 0 {
		fmt.Fprintf(stdout, "inbox %s: left alone, not CSV or XLSX: %s\n", c.inbox, strings.Join(sum.Ignored, ", "))
	}
	if len(sum.Waiting) > 0 {
		fmt.Fprintf(stdout, "inbox %s: still being written (changed in the last %v), left for the next run: %s\n", c.inbox, c.settle, strings.Join(sum.Waiting, ", "))
	}
	if len(sum.Unreadable) > 0 {
		fmt.Fprintf(stdout, "inbox %s: could not be read, moved to %s with what is wrong: %s\n", c.inbox, filepath.Join(c.inbox, engine.InboxFailed), strings.Join(sum.Unreadable, ", "))
	}
	if len(sum.Files) == 0 {
		fmt.Fprintf(stdout, "inbox %s: no spreadsheet to process\n", c.inbox)
	}
	fmt.Fprintf(stdout, "inbox %s: %d file(s), %d row(s): %s; summary: %s\n", c.inbox, len(sum.Files), sum.Total, classCounts(sum.Counts), res.SummaryPath)
	if code := exitCode(res.Result); code != exitOK {
		return withCode(code, errSilent) // each file's error is told above
	}
	return nil
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
