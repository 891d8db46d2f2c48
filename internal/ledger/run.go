package ledger

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/submit"
)

// Run is one run's use of a Store, as the submitter sees it: it implements
// submit.Ledger. Set its fields before the run; it is safe for the
// submitter's concurrent calls.
type Run struct {
	// Store holds what every run recorded.
	Store Store
	// ID names this run in the ledger, and in the messages of later runs.
	ID string
	// Force makes the run ignore results accepted earlier (--force): every
	// row is sent. Its attempts are still recorded, and a 409 for a row an
	// earlier run left in doubt is still recognised as our own.
	Force bool

	mu      sync.Mutex
	tickets map[*api.SubmitRequest]Ticket // attempts begun, not finished
}

var (
	_ submit.Ledger         = (*Run)(nil)
	_ submit.LedgerCheckAll = (*Run)(nil)
)

// Check implements submit.Ledger.
func (r *Run) Check(ctx context.Context, req *api.SubmitRequest) (submit.LedgerCheck, error) {
	cs, err := r.CheckAll(ctx, []*api.SubmitRequest{req})
	if err != nil {
		return submit.LedgerCheck{}, err
	}
	return cs[0], nil
}

// CheckAll implements submit.LedgerCheckAll: one Store.LookupAll for
// every request.
func (r *Run) CheckAll(ctx context.Context, reqs []*api.SubmitRequest) ([]submit.LedgerCheck, error) {
	hashes := make([]string, len(reqs))
	keys := make([]string, len(reqs))
	for i, req := range reqs {
		var err error
		if hashes[i], err = PayloadHash(req); err != nil {
			return nil, err
		}
		keys[i] = req.ActivityKey()
	}
	es, err := r.Store.LookupAll(ctx, keys)
	if err != nil {
		return nil, err
	}
	cs := make([]submit.LedgerCheck, len(reqs))
	for i := range reqs {
		cs[i] = r.check(&es[i], hashes[i], reqs[i].HardOverride)
	}
	return cs, nil
}

// check is what e says of a request whose payload hash is hash, sent
// with hard_override or not (override).
func (r *Run) check(e *Entry, hash string, override bool) submit.LedgerCheck {
	var c submit.LedgerCheck
	if !r.Force {
		switch v, prev := e.Check(hash, override); v {
		case Duplicate:
			return submit.LedgerCheck{Verdict: submit.LedgerDuplicate, Message: DuplicateMessage(prev), Digest: hash}
		case Changed:
			c = submit.LedgerCheck{Verdict: submit.LedgerChanged, Message: ChangedMessage(prev)}
		case Decided:
			c = submit.LedgerCheck{Verdict: submit.LedgerDecided, Message: DecidedMessage(prev),
				Class: outcome.Class(prev.Outcome.Class), Status: prev.Outcome.Status}
		}
	}
	c.Own = e.Unsettled(hash, r.ID, r.worker()) != nil
	c.Digest = digest(hash, e.Version)
	return c
}

// worker names this worker in a shared store, "" in others.
func (r *Run) worker() string {
	if s, ok := r.Store.(Shared); ok {
		return s.Worker()
	}
	return ""
}

// digest is LedgerCheck.Digest: the payload hash, and the entry's version
// that the check read, which a shared store's BeginAll needs
// (Attempt.Checked).
func digest(hash string, version uint64) string {
	return hash + "@" + strconv.FormatUint(version, 10)
}

// parseDigest undoes digest; ok is false for a digest it did not make.
func parseDigest(d string) (hash string, version uint64, ok bool) {
	hash, v, found := strings.Cut(d, "@")
	if !found {
		return "", 0, false
	}
	version, err := strconv.ParseUint(v, 10, 64)
	return hash, version, err == nil && hash != ""
}

// Begin implements submit.Ledger: every intent in one Store.BeginAll. An
// intent that a shared store refuses gets the reason in its Refused field,
// and is not recorded.
func (r *Run) Begin(ctx context.Context, intents []submit.LedgerIntent) error {
	as := make([]Attempt, len(intents))
	var unchecked []int // intents that Check was not asked about
	for i, in := range intents {
		// Check's hash, unless Check was not asked. The request must not
		// have changed since but for hard_override, which the hash leaves out.
		hash, version, ok := parseDigest(in.Digest)
		if !ok {
			var err error
			if hash, err = PayloadHash(in.Req); err != nil {
				return err
			}
			unchecked = append(unchecked, i)
		}
		as[i] = Attempt{
			Activity: in.Req.ActivityKey(), Hash: hash, Override: in.Req.HardOverride,
			Run: r.ID, File: in.Pos.File, Sheet: in.Pos.Sheet, Row: in.Pos.Row,
			Checked: version,
		}
	}
	if _, shared := r.Store.(Shared); shared && len(unchecked) > 0 {
		// What another worker did before now is not news to this one.
		keys := make([]string, len(unchecked))
		for j, i := range unchecked {
			keys[j] = as[i].Activity
		}
		es, err := r.Store.LookupAll(ctx, keys)
		if err != nil {
			return err
		}
		for j, i := range unchecked {
			as[i].Checked = es[j].Version
		}
	}
	ts, err := r.Store.BeginAll(ctx, as)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tickets == nil {
		r.tickets = make(map[*api.SubmitRequest]Ticket)
	}
	for i := range intents {
		if ts[i].Refused != "" {
			intents[i].Refused = ts[i].Refused
			continue
		}
		r.tickets[intents[i].Req] = ts[i]
	}
	return nil
}

// Finish implements submit.Ledger: every outcome in one Store.FinishAll.
func (r *Run) Finish(ctx context.Context, done []submit.LedgerDone) error {
	fs := make([]Finished, len(done))
	r.mu.Lock()
	for i, d := range done {
		t, ok := r.tickets[d.Req]
		if !ok {
			r.mu.Unlock()
			return fmt.Errorf("ledger: %s: no attempt of activity %s was begun in this run", d.Outcome.Row.Pos, d.Req.ActivityKey())
		}
		delete(r.tickets, d.Req)
		o := d.Outcome
		fs[i] = Finished{Ticket: t, Outcome: Outcome{
			Class:    string(o.Class),
			Status:   o.HTTPStatus,
			ResultID: o.ResultID,
			Message:  o.Message,
			Requests: o.Attempts,
			InDoubt:  d.InDoubt,
		}}
	}
	r.mu.Unlock()
	return r.Store.FinishAll(ctx, fs)
}
