// Command reconcile validates spreadsheets of task-activity results against a
// tenant's configuration, submits the good rows to the Reten integration API and
// writes a report that classifies every row. `reconcile help` lists its commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes, documented in the README. Scripts and cron monitors rely on them.
const (
	exitOK          = 0   // every row ended ok, overridden or skipped as already sent
	exitRowsNotOK   = 1   // the job ran, but some rows need a person (invalid, rejected, conflict, failed)
	exitUsage       = 2   // bad flags, arguments or input files; nothing was sent
	exitAuth        = 3   // the API refused the key (401/403); the run stopped
	exitLocked      = 4   // another run holds the state directory
	exitError       = 5   // any other failure (API unreachable, disk full, ...)
	exitInterrupted = 130 // stopped by Ctrl-C or SIGTERM; reports were written
)

// exitError carries an exit code up to main together with the message to print.
type codeError struct {
	code int
	err  error
}

func (e *codeError) Error() string { return e.err.Error() }
func (e *codeError) Unwrap() error { return e.err }

// withCode marks err with the process exit code it should cause.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &codeError{code: code, err: err}
}

// usageError is a mistake in the command line.
func usageError(format string, args ...any) error {
	return withCode(exitUsage, fmt.Errorf(format, args...))
}

// command is one subcommand: a small type that parses its own flags.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *environ, args []string) error
}

// environ is what a command gets from the process: streams and variables, so
// tests can run commands without touching the real ones.
type environ struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// stderrIsTerminal decides between a progress bar and log lines.
	stderrIsTerminal bool
}

func commands() []command {
	return []command{
		{"demo", "run the whole job on the shipped samples against an in-process sandbox", runDemo},
		{"run", "validate the files, submit the valid rows and write the reports", runRun},
		{"retry", "send again the rows of an earlier run that ended failed (REPORT_DIR)", runRetry},
		{"validate", "check files offline against the cached result types and write report.csv; sends nothing", runValidate},
		{"configs", "download the tenant's result types into a local cache (configs pull)", runConfigs},
		{"sandbox", "serve a stateful fake of the integration API for tests and demos", runSandbox},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// The first signal lets a run finish its requests in flight and write
		// its reports; a second one ends the process at once, as usual.
		<-ctx.Done()
		stop()
	}()
	env := &environ{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, stderrIsTerminal: isTerminal(os.Stderr)}
	os.Exit(Main(ctx, env, os.Args[1:]))
}

// Main runs the command line args and returns the exit code.
func Main(ctx context.Context, env *environ, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, env, args[1:])
		if err == nil {
			return exitOK
		}
		var ce *codeError
		code := exitError
		if errors.As(err, &ce) {
			code = ce.code
		}
		if ce == nil || ce.err != errSilent {
			fmt.Fprintf(env.stderr, "reconcile %s: %v\n", c.name, err)
		}
		return code
	}
	fmt.Fprintf(env.stderr, "reconcile: unknown command %q\n\n", args[0])
	usage(env.stderr)
	return exitUsage
}

// errSilent is returned (wrapped by withCode) when the command has already told
// the user everything and only the exit code is left to set.
var errSilent = errors.New("")

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: reconcile COMMAND [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run `reconcile COMMAND -h` for a command's flags. The API is reached with")
	fmt.Fprintln(w, "RETEN_BASE_URL and RETEN_API_KEY (or RETEN_API_KEY_FILE) from the environment.")
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
