package reconcile

// Ledger remembers, across runs, what was sent for each activity, so that a
// cumulative export dropped again every night is not submitted twice and a run
// that crashed between sending and recording can recognise its own result.
//
// The Submitter identifies a submission by the activity key
// (api.SubmitRequest.ActivityKey) and a hash of the request body as the row
// asked for it (BodyHash: hard_override left out, so overriding does not
// change it). A ledger must make Begin durable before it returns: the
// request is sent only after that.
//
// Methods are called from several goroutines at once.
type Ledger interface {
	// State says what earlier runs recorded for this activity and body.
	// A different body for the same activity is LedgerNotSent.
	State(key, hash string) (LedgerState, error)
	// Begin records that a request for key and hash is about to be sent.
	Begin(key, hash string) error
	// Finish records the final state once the row's outcome is known:
	// LedgerAccepted (ok, overridden), LedgerSent (sent but the answer was lost,
	// so the API may hold it) or LedgerNotSent (the API is known not to hold it
	// from us: rejected, conflict, or every attempt answered with an error).
	Finish(key, hash string, state LedgerState, o Outcome) error
}

// LedgerState is what a Ledger knows about one submission.
type LedgerState int

const (
	// LedgerNotSent: nothing recorded, or the API is known not to hold it.
	LedgerNotSent LedgerState = iota
	// LedgerSent: a request went out and no answer settled it; the API may
	// hold the result. A 409 for it is taken as our own earlier submission.
	LedgerSent
	// LedgerAccepted: the API accepted exactly this body; it is not sent again.
	LedgerAccepted
)

func (s LedgerState) String() string {
	switch s {
	case LedgerSent:
		return "sent"
	case LedgerAccepted:
		return "accepted"
	}
	return "not sent"
}
