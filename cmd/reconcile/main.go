// Command reconcile validates spreadsheets of task-activity results against a
// tenant's configuration, submits the good rows to the Reten integration API and
// writes a report that classifies every row. `reconcile help` lists its commands.
//
// Each subcommand is a type with its own usage text, flags and Run method;
// cobra parses the command line into them (cli.go), and the flow itself is
// internal/engine's. This package only wires: environment, flags, progress
// and exit codes.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/reten/reconcile/internal/engine"
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

// exitCode is the exit code of a run that ended as r did.
func exitCode(r *engine.Result) int {
	switch r.Ending {
	case engine.Finished:
		if r.NeedsPerson() > 0 || r.Unreadable > 0 {
			return exitRowsNotOK
		}
		return exitOK
	case engine.BadInput:
		return exitUsage
	case engine.KeyRefused:
		return exitAuth
	case engine.Locked:
		return exitLocked
	case engine.Interrupted:
		return exitInterrupted
	}
	return exitError
}

// codeError carries an exit code up to Main together with the message to print.
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

// failure marks an error of the engine (a *engine.Failure, or one that
// ended a run as engine.EndingOf says) with the exit code of that ending.
func failure(err error) error {
	return withCode(exitCode(&engine.Result{Ending: engine.EndingOf(err)}), err)
}

// errSilent is returned (wrapped by withCode) when the command has already told
// the user everything and only the exit code is left to set.
var errSilent = errors.New("")

// environ is what a command gets from the process: streams and variables, so
// tests can run commands without touching the real ones.
type environ struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// stderrIsTerminal decides between a progress bar and log lines.
	stderrIsTerminal bool
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
	cli := newCLI(env)
	if len(args) == 0 {
		cli.commandList(env.stderr)
		return exitUsage
	}
	name, err := cli.execute(ctx, args)
	if err == nil {
		return exitOK
	}
	var ce *codeError
	if !errors.As(err, &ce) {
		ce = &codeError{code: exitError, err: err}
	}
	if ce.err != errSilent {
		fmt.Fprintf(env.stderr, "%s: %v\n", name, err)
	}
	return ce.code
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
