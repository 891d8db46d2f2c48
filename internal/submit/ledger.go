package submit

import (
	"context"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/outcome"
)

// Ledger is what the Submitter needs from a record, kept across runs, of what
// was sent for each activity: so that a cumulative export dropped again every
// night is not submitted twice, and a run that died between sending and
// recording recognises its own result in the 409 that follows.
//
// The ledger identifies an activity by req.ActivityKey() and compares bodies
// as it likes (hard_override must not count: overriding does not change what
// is stored). Begin and Finish take many requests at once so that a ledger
// can make each call one durable write (one fsync) however many rows it
// carries. Begin must be durable before it returns: the requests are sent only
// after it; Finish must be durable before it returns: the rows count as done
// only after it. Check may be called from several goroutines at once; Begin
// and Finish are each called from one goroutine, possibly at the same time as
// each other. Every call gets a context that an interrupt does not cancel, so
// that what was sent is always recorded.
type Ledger interface {
	// Check says what earlier runs recorded about sending req.
	Check(ctx context.Context, req *api.SubmitRequest) (LedgerCheck, error)
	// Begin records that each intent's request is about to be sent. Some may
	// never be: a run stopped or killed before sending them leaves them begun,
	// which later runs must treat as possibly sent (in doubt).
	//
	// A ledger shared by several workers may refuse an intent instead of
	// recording it, when another live worker holds a claim on the activity:
	// it sets intents[i].Refused to say so ("being sent by worker W (pid P
	// on host H) since T") and records nothing for it. The submitter then
	// does not send that row and emits it skipped with that message; it is
	// neither in doubt nor a reason to stop, and Finish never hears of it.
	Begin(ctx context.Context, intents []LedgerIntent) error
	// Finish records the final outcome of requests that Begin recorded; each
	// Req is the same pointer that Begin was given.
	Finish(ctx context.Context, done []LedgerDone) error
}

// LedgerCheckAll is implemented by a Ledger that checks many requests more
// cheaply together than one by one (one read of its store, not one per row).
// The submitter then checks each batch of rows in one call.
type LedgerCheckAll interface {
	// CheckAll is Check for each request, the answers in the same order.
	CheckAll(ctx context.Context, reqs []*api.SubmitRequest) ([]LedgerCheck, error)
}

// LedgerIntent is one request about to be sent, and where its row was read.
type LedgerIntent struct {
	Req *api.SubmitRequest
	Pos importer.Position
	// Digest is what Check returned in LedgerCheck.Digest for Req, so that the
	// ledger need not compute it again; "" if Check was not asked.
	Digest string
	// Refused, set by Begin instead of recording the intent, says why the
	// request must not be sent: another live worker sharing the ledger holds
	// a claim on the activity ("being sent by worker W (pid P on host H)
	// since T"). The row is then skipped with this message, and not finished.
	Refused string
}

// LedgerDone is the final outcome of one request that Begin recorded.
type LedgerDone struct {
	Req     *api.SubmitRequest
	Outcome outcome.Outcome
	// InDoubt says that the API may hold the result though no answer said so
	// (a 5xx, a timeout or lost connection, a 2xx that was not a result,
	// that no later answer or check of the stored result settled).
	InDoubt bool
}

// LedgerCheck is a Ledger's answer about one request.
type LedgerCheck struct {
	Verdict LedgerVerdict
	// Own: an earlier run sent this same body and never learnt whether it was
	// stored. A 409 for it may be that earlier request's: the submitter reads
	// the stored result back and compares it with the row before it decides.
	Own bool
	// Message explains a Duplicate, Changed or Decided verdict in the
	// user's terms (when and from which file and row the accepted result
	// came; when and in which run the same request was refused, and why).
	Message string
	// Class and Status are the earlier answer behind a Decided verdict:
	// outcome.ClassRejected or ClassConflict, and its HTTP status.
	Class  outcome.Class
	Status int
	// Digest is the ledger's own summary of req (a payload hash), handed back
	// to Begin in LedgerIntent.Digest; the submitter does not read it.
	Digest string
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
	// LedgerDecided: this same body, with the same hard_override, got a
	// final refusal in an earlier run (a 4xx but 401, 403 and 429, or a 409)
	// that sending it unchanged would only repeat. The row ends in that
	// class (LedgerCheck.Class) without a request, unless it is a conflict
	// and the override policy now lets the row replace the result: then it
	// is sent with hard_override.
	LedgerDecided
)
