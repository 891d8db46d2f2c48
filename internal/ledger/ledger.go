// Package ledger remembers, across runs, what reconcile has sent for each
// activity: every attempt (run, file, row, payload hash), written durably before
// the request goes out, and the final outcome of each, written durably before the
// row counts as done. With it a run can be killed at any moment and started again,
// a cumulative export can be fed every night, and the same sheet can be uploaded
// twice, without a result being sent twice or lost.
//
// The ledger is keyed by activity (api.SubmitRequest.ActivityKey) and stores a
// hash of the request (PayloadHash) rather than the request itself. The Store
// interface is what the submitter needs; DB implements it on a bbolt file, one
// per tenant, opened by OpenDir under a lock on the whole state directory that
// keeps two runs from overlapping; Memory implements it in memory for tests.
package ledger

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Store is the ledger as the submitter uses it. Implementations must make Begin
// and Finish durable before they return: a crash right after either loses nothing.
// Calls may come from several goroutines at once.
//
// A Store that several workers (processes, hosts) share also implements
// Shared: each attempt begun is then a claim on its activity, and BeginAll
// refuses an attempt (Ticket.Refused) whose activity another live worker
// holds, or finished since the caller checked it (Attempt.Checked).
type Store interface {
	// Lookup returns what is known about one activity; an activity never sent
	// has an Entry with no attempts and a nil error.
	Lookup(ctx context.Context, activity string) (Entry, error)
	// LookupAll is Lookup for each activity, the entries in the same order,
	// read at once (one read transaction, not one per activity).
	LookupAll(ctx context.Context, activities []string) ([]Entry, error)
	// Begin records an attempt before its request is sent and returns the
	// ticket that Finish needs.
	Begin(ctx context.Context, a Attempt) (Ticket, error)
	// Finish records the final outcome of the attempt t names.
	Finish(ctx context.Context, t Ticket, o Outcome) error
	// BeginAll records many attempts at once, durably in one write, and
	// returns their tickets in the same order. It records all or none of
	// those it does not refuse; a store of one process refuses none.
	BeginAll(ctx context.Context, as []Attempt) ([]Ticket, error)
	// FinishAll records many outcomes at once, durably in one write. It
	// records them even when ctx is done.
	FinishAll(ctx context.Context, fs []Finished) error
}

// Finished is the outcome of the attempt a Ticket names.
type Finished struct {
	Ticket  Ticket
	Outcome Outcome
}

// Shared is a Store that several workers use at once, each through a Store
// of its own: every attempt begun is a claim on its activity held by the
// worker that began it, until its outcome is recorded or the worker dies.
type Shared interface {
	Store
	// Worker names this worker; its attempts carry the name in Attempt.Worker.
	Worker() string
}

// Ticket names one recorded attempt, or says why the attempt was refused.
type Ticket struct {
	Activity string
	Seq      uint64 // unique within the ledger, increasing; 0 when Refused
	// Refused, when not "", says why a shared store did not record the
	// attempt ("being sent by worker W (pid P on host H) since T"): its
	// request must not be sent, and the ticket must not be finished.
	Refused string
}

// Attempt is one row sent (or about to be sent) for one activity in one run.
// Retries of the same request within a run belong to the same attempt.
type Attempt struct {
	Seq      uint64    `json:"seq"`
	Activity string    `json:"activity"`
	Hash     string    `json:"hash"` // PayloadHash of the request
	Override bool      `json:"override,omitempty"`
	Run      string    `json:"run"`
	File     string    `json:"file"`
	Sheet    string    `json:"sheet,omitempty"`
	Row      int       `json:"row"`
	Started  time.Time `json:"started"`
	// Worker is the Shared.Worker that made the attempt; "" in a store of
	// one process.
	Worker string `json:"worker,omitempty"`
	// Checked is the Entry.Version of the activity on which the caller
	// decided to send: a shared store refuses the attempt if another worker
	// finished an attempt of the activity since. It is not stored.
	Checked uint64 `json:"-"`
	// Outcome is nil while the attempt has no final outcome: it is in flight, or
	// its run was killed before the answer was recorded.
	Outcome *Outcome `json:"outcome,omitempty"`
}

// Outcome is the final outcome of an attempt.
type Outcome struct {
	Class    string `json:"class"` // a outcome.Class: ok, overridden, rejected, conflict, failed, skipped
	Status   int    `json:"status,omitempty"`
	ResultID string `json:"result_id,omitempty"`
	Message  string `json:"message,omitempty"`
	// Requests is how many requests the attempt sent, retries included.
	Requests int `json:"requests,omitempty"`
	// InDoubt is true when the API may hold the result though no answer said
	// so: a 5xx, timeout or dropped connection after the request went out.
	InDoubt  bool      `json:"in_doubt,omitempty"`
	Finished time.Time `json:"finished"`
}

// Outcome classes the ledger itself reasons about; they match outcome.Class.
const (
	classOK         = "ok"
	classOverridden = "overridden"
	classRejected   = "rejected"
	classConflict   = "conflict"
)

// Accepted reports whether the outcome means the API stored the result.
func (o *Outcome) Accepted() bool {
	return o != nil && (o.Class == classOK || o.Class == classOverridden)
}

// Where says where the attempt came from, in the user's terms.
func (a *Attempt) Where() string {
	if a.Sheet != "" {
		return fmt.Sprintf("%s, sheet %q, row %d", a.File, a.Sheet, a.Row)
	}
	return fmt.Sprintf("%s, row %d", a.File, a.Row)
}

// Entry is everything the ledger holds about one activity: its attempts, oldest first.
type Entry struct {
	Activity string    `json:"activity"`
	Attempts []Attempt `json:"attempts"`
	// Version grows with every attempt begun or finished for the activity,
	// in a shared store (0 in others), so that BeginAll can tell what
	// happened since the entry was read (Attempt.Checked).
	Version uint64 `json:"-"`
}

// Accepted returns the latest attempt the API accepted, or nil if none was.
func (e *Entry) Accepted() *Attempt {
	for i := len(e.Attempts) - 1; i >= 0; i-- {
		if e.Attempts[i].Outcome.Accepted() {
			return &e.Attempts[i]
		}
	}
	return nil
}

// Unsettled returns the latest attempt, not made by worker in run, that sent
// the same payload (hash) and may have been stored without our knowing: it
// has no final outcome (its run was killed with the request in flight) or its
// outcome is InDoubt (a 5xx, timeout or dropped connection can hide a stored
// result). A 409 for such a payload is our own earlier result, not someone
// else's.
//
// Attempts of this worker in run itself are left out: the attempt in progress
// has no outcome yet and must not vouch for itself. Within a run, the
// submitter knows whether an earlier try of the same request failed in a way
// that may have stored it. Those of other workers of the same run count: a
// worker that died left them. worker is "" in a store of one process.
func (e *Entry) Unsettled(hash, run, worker string) *Attempt {
	for i := len(e.Attempts) - 1; i >= 0; i-- {
		a := &e.Attempts[i]
		if (a.Run == run && a.Worker == worker) || a.Hash != hash {
			continue
		}
		if a.Outcome == nil || a.Outcome.InDoubt {
			return a
		}
	}
	return nil
}

// Verdict is what the ledger says about sending a request again.
type Verdict int

const (
	// Send: nothing of this activity was accepted before; send it.
	Send Verdict = iota
	// Duplicate: the same payload was accepted before; do not send it.
	Duplicate
	// Changed: a different payload was accepted before; sending it would
	// overwrite that result, which only an explicit override may do.
	Changed
	// Decided: the same payload, sent with the same hard_override, got a
	// final refusal that sending it again would only repeat (the API's own
	// advice: never retry a 4xx without changing the request): a 4xx other
	// than 401, 403 and 429 (rejected), or a 409 (conflict).
	Decided
)

// Check says whether a request with payload hash, sent with hard_override
// or not (override), may be sent, and returns the attempt behind a
// Duplicate, Changed or Decided verdict.
func (e *Entry) Check(hash string, override bool) (Verdict, *Attempt) {
	acc := e.Accepted()
	switch {
	case acc == nil:
	case acc.Hash == hash:
		return Duplicate, acc
	default:
		return Changed, acc
	}
	// The latest answer to this very request is the one that counts: a
	// later 5xx or an attempt killed in flight leaves it open again.
	for i := len(e.Attempts) - 1; i >= 0; i-- {
		a := &e.Attempts[i]
		if a.Hash != hash || a.Override != override {
			continue
		}
		if a.Outcome.Decided() {
			return Decided, a
		}
		break
	}
	return Send, nil
}

// Decided reports whether the outcome is a final refusal of the request
// itself, one that the same request would get again: a conflict, or a
// rejection other than of the key (401, 403) or of the pace (429). Those,
// like 5xx and timeouts, are never decided.
func (o *Outcome) Decided() bool {
	switch {
	case o == nil || o.InDoubt:
		return false
	case o.Class == classConflict:
		return true
	case o.Class == classRejected:
		switch o.Status {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests:
			return false
		}
		return o.Status >= 400 && o.Status < 500
	}
	return false
}

// DuplicateMessage explains a skipped row whose payload was accepted before.
func DuplicateMessage(acc *Attempt) string {
	return fmt.Sprintf("already submitted on %s in %s (run %s)",
		acc.Outcome.Finished.UTC().Format("2006-01-02 15:04 UTC"), acc.Where(), acc.Run)
}

// ChangedMessage explains a row held back because its values differ from those
// accepted before.
func ChangedMessage(acc *Attempt) string {
	return fmt.Sprintf("the activity's result was already submitted on %s from %s with different values; "+
		"nothing was sent: if these values should replace it, run again with --hard-override",
		acc.Outcome.Finished.UTC().Format("2006-01-02 15:04 UTC"), acc.Where())
}

// DecidedMessage explains a row not sent because the same request got the
// same final refusal before.
func DecidedMessage(prev *Attempt) string {
	msg := prev.Outcome.Message
	if msg == "" {
		msg = fmt.Sprintf("the API answered %d", prev.Outcome.Status)
	}
	return fmt.Sprintf("unchanged since %s (run %s): %s; fix the row, or pass --force / --hard-override",
		prev.Outcome.Finished.UTC().Format("2006-01-02 15:04 UTC"), prev.Run, msg)
}

// OwnConflictMessage explains a 409 recognised as our own earlier result.
func OwnConflictMessage(prev *Attempt) string {
	return fmt.Sprintf("409 recognised as our own result, sent in run %s from %s whose answer was never recorded",
		prev.Run, prev.Where())
}
