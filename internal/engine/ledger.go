package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/time/rate"

	"github.com/reten/reconcile/internal/ledger"
	"github.com/reten/reconcile/internal/pgledger"
	"github.com/reten/reconcile/internal/submit"
)

// openLedger gives the job's ledger: the caller's Store, the shared one at
// LedgerURL, or the tenant's ledger in StateDir, locked until the returned
// func is called. where names it for the reports, without a password.
func (j *Job) openLedger(ctx context.Context, baseURL, runID string) (store ledger.Store, where string, closeStore func(), f *Failure) {
	if j.Store != nil {
		return j.Store, storeName(j.Store), func() {}, nil
	}
	if j.LedgerURL != "" {
		pg, err := pgledger.Open(ctx, j.LedgerURL, pgledger.Options{BaseURL: baseURL, Run: runID, ClaimTTL: j.ClaimTTL})
		if err != nil {
			// Open's errors name the URL redacted: pgledger.Redact.
			return nil, "", nil, fail(LedgerFailed, fmt.Errorf("%w\n  nothing was sent", err))
		}
		return pg, pg.URL(), func() { pg.Close() }, nil
	}
	if j.StateDir == "" {
		return nil, "", nil, fail(BadInput, errors.New("no state directory for the ledger: pass --state-dir DIR"))
	}
	if _, err := ledger.Path(j.StateDir, baseURL); err != nil {
		return nil, "", nil, fail(BadInput, err)
	}
	db, err := ledger.OpenDir(j.StateDir, baseURL, ledger.Options{BaseURL: baseURL, Run: runID})
	if err != nil {
		var locked *ledger.LockedError
		ending := LedgerFailed
		if errors.As(err, &locked) {
			ending = Locked
		}
		return nil, "", nil, fail(ending, fmt.Errorf("%w\n  nothing was sent", err))
	}
	return db, db.Path(), func() { db.Close() }, nil
}

// storeName is where a caller's store lives, for the reports.
func storeName(s ledger.Store) string {
	switch s := s.(type) {
	case interface{ Path() string }:
		return s.Path()
	case interface{ URL() string }:
		return s.URL()
	}
	return ""
}

// tenantRate is the pace of perSecond shared by every run on the store's
// tenant, or nil when perSecond is not above zero. The burst is half a
// second's requests: a lone worker that stalls (its ledger committing a
// batch of intents) makes up the time after; with a tenth of a second it
// lost it, and sent 9% below the rate (bench/workers.sh). It stays well
// under a second's worth, which an API limiting the rate lets through.
func tenantRate(store ledger.Store, perSecond float64) submit.Limiter {
	if perSecond <= 0 {
		return nil
	}
	burst := max(1, int(perSecond/2))
	if pg, ok := store.(*pgledger.Store); ok {
		return pg.TenantRate(perSecond, burst)
	}
	// A state directory's ledger serves one run at a time: its rate is the
	// tenant's.
	return rate.NewLimiter(rate.Limit(perSecond), burst)
}

// Lock opens the job's ledger as Run would, locking StateDir, and keeps it
// as the job's Store until release is called: a caller then knows the state
// directory is the job's before it starts the run, as a web console must to
// answer "another run holds it" at once. The run needs a RunID, which Lock
// makes when it has none. The error is a *Failure, Locked when another run
// holds the state directory. With LedgerURL it opens a worker of the shared
// ledger, which no other run blocks.
func (j *Job) Lock() (release func(), err error) {
	if j.Submitter == nil || j.Submitter.Client == nil || j.Submitter.DryRun {
		return nil, fail(BadInput, errors.New("engine: only a job that sends holds a ledger"))
	}
	if j.RunID == "" {
		j.RunID = NewRunID(time.Now())
	}
	store, _, closeStore, f := j.openLedger(context.Background(), j.Submitter.Client.BaseURL, j.RunID)
	if f != nil {
		return nil, f
	}
	j.Store = store
	return func() {
		j.Store = nil
		closeStore()
	}, nil
}

// CheckLedger opens the shared ledger at LedgerURL as a run would, and
// closes it, so that a process that starts runs later (reconcile serve)
// learns at once that the database is out of reach, refuses the
// password, holds another tenant's ledger or a newer schema, rather than at
// its first send. The error is a *Failure, LedgerFailed. Without LedgerURL
// it checks nothing: the state directory's ledger is locked by each run as
// it starts, and another run may hold it now.
func (j *Job) CheckLedger(ctx context.Context) error {
	if j.LedgerURL == "" || j.Store != nil || j.Submitter == nil || j.Submitter.Client == nil {
		return nil
	}
	pg, err := pgledger.Open(ctx, j.LedgerURL, pgledger.Options{BaseURL: j.Submitter.Client.BaseURL, ClaimTTL: j.ClaimTTL})
	if err != nil {
		// Open's errors name the URL redacted: pgledger.Redact.
		return fail(LedgerFailed, err)
	}
	if err := pg.Close(); err != nil {
		return fail(LedgerFailed, err)
	}
	return nil
}
