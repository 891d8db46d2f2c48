package reconcile

import (
	"context"

	"github.com/reten/reconcile/importer"
	"github.com/reten/reconcile/reconcile/api"
)

// Ledger is what the Submitter needs from a record, kept across runs, of what
// was sent for each activity: so that a cumulative export dropped again every
// night is not submitted twice, and a run that died between sending and
// recording recognises its own result in the 409 that follows.
//
// The ledger identifies an activity by req.ActivityKey() and compares bodies
// as it likes (hard_override must not count: overriding does not change what
// is stored). Begin must be durable before it returns: the request is sent
// only after it. Methods are called from several goroutines at once, with a
// context that an interrupt does not cancel, so that what was sent is always
// recorded.
type Ledger interface {
	// Check says what earlier runs recorded about sending req.
	Check(ctx context.Context, req *api.SubmitRequest) (LedgerCheck, error)
	// Begin records that req, read at pos, is about to be sent.
	Begin(ctx context.Context, req *api.SubmitRequest, pos importer.Position) error
	// Finish records the final outcome of the req that Begin recorded. inDoubt
	// says that the API may hold the result though no answer said so (a 5xx,
	// timeout or lost connection that no later answer settled).
	Finish(ctx context.Context, req *api.SubmitRequest, o Outcome, inDoubt bool) error
}

// LedgerCheck is a Ledger's answer about one request.
type LedgerCheck struct {
	Verdict LedgerVerdict
	// Own: an earlier run sent this same body and never learnt whether it was
	// stored; a 409 for it is that earlier request's, so the row is ok.
	Own bool
	// Message explains a Duplicate or Changed verdict in the user's terms
	// (when and from which file and row the accepted result came).
	Message string
}

// LedgerVerdict says whether a request may be sent.
type LedgerVerdict int

const (
	// LedgerSend: nothing of this activity was accepted before.
	LedgerSend LedgerVerdict = iota
	// LedgerDuplicate: this same body was accepted before; the row is skipped.
	LedgerDuplicate
	// LedgerChanged: a different body was accepted before. The row is a
	// conflict without a request, unless the override policy lets it replace
	// the result: then it is sent with hard_override and ends overridden.
	LedgerChanged
)
