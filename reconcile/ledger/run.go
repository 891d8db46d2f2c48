package ledger

import (
	"context"
	"fmt"
	"sync"

	"github.com/reten/reconcile/importer"
	"github.com/reten/reconcile/reconcile"
	"github.com/reten/reconcile/reconcile/api"
)

// Run is one run's use of a Store, as the submitter sees it: it implements
// reconcile.Ledger. Set its fields before the run; it is safe for the
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
	tickets map[string][]Ticket // activity+"\x00"+hash → attempts begun, not finished
}

var _ reconcile.Ledger = (*Run)(nil)

// Check implements reconcile.Ledger.
func (r *Run) Check(ctx context.Context, req *api.SubmitRequest) (reconcile.LedgerCheck, error) {
	hash, err := PayloadHash(req)
	if err != nil {
		return reconcile.LedgerCheck{}, err
	}
	e, err := r.Store.Lookup(ctx, req.ActivityKey())
	if err != nil {
		return reconcile.LedgerCheck{}, err
	}
	var c reconcile.LedgerCheck
	if !r.Force {
		switch v, acc := e.Check(hash); v {
		case Duplicate:
			return reconcile.LedgerCheck{Verdict: reconcile.LedgerDuplicate, Message: DuplicateMessage(acc)}, nil
		case Changed:
			c = reconcile.LedgerCheck{Verdict: reconcile.LedgerChanged, Message: ChangedMessage(acc)}
		}
	}
	c.Own = e.Unsettled(hash, r.ID) != nil
	return c, nil
}

// Begin implements reconcile.Ledger.
func (r *Run) Begin(ctx context.Context, req *api.SubmitRequest, pos importer.Position) error {
	hash, err := PayloadHash(req)
	if err != nil {
		return err
	}
	key := req.ActivityKey()
	t, err := r.Store.Begin(ctx, Attempt{
		Activity: key, Hash: hash, Override: req.HardOverride,
		Run: r.ID, File: pos.File, Sheet: pos.Sheet, Row: pos.Row,
	})
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tickets == nil {
		r.tickets = make(map[string][]Ticket)
	}
	k := key + "\x00" + hash
	r.tickets[k] = append(r.tickets[k], t)
	return nil
}

// Finish implements reconcile.Ledger.
func (r *Run) Finish(ctx context.Context, req *api.SubmitRequest, o reconcile.Outcome, inDoubt bool) error {
	hash, err := PayloadHash(req)
	if err != nil {
		return err
	}
	key := req.ActivityKey()
	k := key + "\x00" + hash
	r.mu.Lock()
	ts := r.tickets[k]
	var t Ticket
	if len(ts) > 0 {
		t = ts[0]
		if len(ts) == 1 {
			delete(r.tickets, k)
		} else {
			r.tickets[k] = ts[1:]
		}
	}
	r.mu.Unlock()
	if t.Activity == "" {
		return fmt.Errorf("ledger: %s: no attempt of activity %s was begun in this run", o.Row.Pos, key)
	}
	return r.Store.Finish(ctx, t, Outcome{
		Class:    string(o.Class),
		Status:   o.HTTPStatus,
		ResultID: o.ResultID,
		Message:  o.Message,
		Requests: o.Attempts,
		InDoubt:  inDoubt,
	})
}
