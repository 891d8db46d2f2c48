package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/reten/reconcile/internal/ledger"
	"github.com/reten/reconcile/internal/spill"
)

// spillDir is where a run writes its temporary files (report.xlsx's rows,
// duplicate detection's keys): the tmp folder of the state directory
// (stateDir, "" for the default; $TMPDIR when there is none). What runs
// that were killed left there is removed first.
func spillDir(env *environ, stateDir string) string {
	if stateDir == "" {
		stateDir, _ = ledger.DefaultDir(env.getenv)
	}
	dir := spill.Dir(stateDir)
	if _, err := spill.Clean(dir); err != nil {
		fmt.Fprintf(env.stderr, "warning: %v\n", err)
	}
	return dir
}

// ledgerFlags are the flags of the commands that send: where the ledger of
// what was sent lives, and whether to heed it.
type ledgerFlags struct {
	stateDir string
	force    bool
}

func addLedgerFlags(fs *flag.FlagSet) *ledgerFlags {
	f := &ledgerFlags{}
	fs.StringVar(&f.stateDir, "state-dir", "", "`DIR` of the ledger that remembers what was sent, one file per tenant (default: $XDG_STATE_HOME/reconcile, else ~/.local/state/reconcile)")
	fs.BoolVar(&f.force, "force", false, "send rows the ledger says were already accepted (their attempts are still recorded)")
	return f
}

// openLedger opens the tenant's ledger in dir ("" for the default) and locks
// it until Close: a run that finds it locked exits with exitLocked, naming
// the run that holds it.
func openLedger(env *environ, dir, baseURL, run string) (*ledger.DB, error) {
	if dir == "" {
		d, err := ledger.DefaultDir(env.getenv)
		if err != nil {
			return nil, withCode(exitUsage, err)
		}
		dir = d
	}
	path, err := ledger.Path(dir, baseURL)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	db, err := ledger.Open(path, ledger.Options{BaseURL: baseURL, Run: run})
	var locked *ledger.LockedError
	switch {
	case errors.As(err, &locked):
		return nil, withCode(exitLocked, fmt.Errorf("%w\n  nothing was sent", err))
	case err != nil:
		return nil, withCode(exitError, fmt.Errorf("%w\n  nothing was sent", err))
	}
	return db, nil
}

// newRunID names a run in the ledger and the reports: its start time in UTC
// and a few random hex digits, so that two runs never share a name.
func newRunID(t time.Time) string {
	b := make([]byte, 3)
	rand.Read(b)
	return t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}
