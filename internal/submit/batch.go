package submit

import (
	"cmp"
	"fmt"
	"net/http"
	"time"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/validate"
)

// This file is where rows meet the ledger, a batch at a time: Check (or
// CheckAll) and Begin before the workers get them, Finish before emit.

// The finisher waits up to finishLinger for minFinish outcomes before it
// records them.
const (
	minFinish    = 512
	finishLinger = 10 * time.Millisecond
)

// job is a valid row on its way to the API: its request as it will be sent,
// what the ledger said of it, and what its attempts learnt.
type job struct {
	r          *run
	it         validate.Item
	req        api.SubmitRequest
	body       []byte // req encoded; nil until sent, and again after req changes
	overriding bool   // sent with hard_override to replace a result the ledger knows
	check      LedgerCheck
	began      bool // its intent is recorded in the ledger
	o          outcome.Outcome
	// maybeStored: an attempt of this payload, here or in an earlier run, got
	// an answer that may hide a stored result; doubt says which, for the
	// messages.
	maybeStored bool
	doubt       string
	// recheck: the API answered 409 and reading the stored result back
	// failed for now; the next attempt reads it again.
	recheck bool
}

// finished is a row's outcome on its way to the ledger, then to emit.
type finished struct {
	o       outcome.Outcome
	req     *api.SubmitRequest // nil: nothing to record
	inDoubt bool
}

// dispatch reads every item from in, settles those that need no request,
// and hands the others to work, a checked and begun batch at a time.
func (r *run) dispatch(in <-chan validate.Item, work chan<- *job) {
	batch := make([]*job, 0, maxAhead)
	for it := range in {
		batch = r.take(batch[:0], it)
	gather:
		for len(batch) < maxAhead {
			select {
			case it, ok := <-in:
				if !ok {
					break gather
				}
				batch = r.take(batch, it)
			default:
				break gather
			}
		}
		batch = r.check(batch)
		r.begin(batch)
		for _, j := range batch {
			if j != nil {
				work <- j
			}
		}
	}
}

// take settles it at once if it needs no request (invalid, dry run, run
// stopped), else appends its job to batch, for check.
func (r *run) take(batch []*job, it validate.Item) []*job {
	if o, offline := it.Offline(); offline {
		r.emit(o)
		return batch
	}
	if r.s.DryRun {
		r.emit(outcome.Outcome{Row: it.Row, Class: outcome.ClassSkipped, Message: DryRunMessage})
		return batch
	}
	if reason := r.stopReason(); reason != "" {
		r.skip(outcome.Outcome{Row: it.Row}, reason)
		return batch
	}
	j := &job{r: r, it: it, req: *it.Request}
	j.req.HardOverride = r.wantsOverride(it)
	return append(batch, j)
}

// wantsOverride says whether the row is sent with hard_override from the start:
// it asked for it, and the policy lets it.
func (r *run) wantsOverride(it validate.Item) bool {
	asked := it.Override || it.Request.HardOverride
	return asked && (r.policy == OverrideRow || r.policy == OverrideAlways)
}

// mayOverride says whether the row may replace an existing result.
func (r *run) mayOverride(it validate.Item) bool {
	return r.policy == OverrideAlways || r.wantsOverride(it)
}

// check asks the ledger about every job of batch, in one call when it can
// (LedgerCheckAll), settles those the ledger says need no request, and
// returns the others, in batch's array.
func (r *run) check(batch []*job) []*job {
	l := r.s.Ledger
	if l == nil || len(batch) == 0 {
		return batch
	}
	var checks []LedgerCheck
	var err error
	if all, ok := l.(LedgerCheckAll); ok {
		reqs := make([]*api.SubmitRequest, len(batch))
		for i, j := range batch {
			reqs[i] = &j.req
		}
		if checks, err = all.CheckAll(r.reqCtx, reqs); err == nil && len(checks) != len(batch) {
			err = fmt.Errorf("the ledger answered %d checks for %d rows", len(checks), len(batch))
		}
	} else {
		checks = make([]LedgerCheck, len(batch))
		for i, j := range batch {
			if checks[i], err = l.Check(r.reqCtx, &j.req); err != nil {
				break
			}
		}
	}
	if err != nil {
		const reason = "not sent: the ledger could not be read"
		r.stop(reason, fmt.Errorf("reading the ledger: %w", err))
		for _, j := range batch {
			r.skip(outcome.Outcome{Row: j.it.Row}, reason)
		}
		return batch[:0]
	}
	keep := batch[:0]
	for i, j := range batch {
		j.check = checks[i]
		o := outcome.Outcome{Row: j.it.Row}
		switch j.check.Verdict {
		case LedgerDuplicate:
			o.Class, o.Message = outcome.ClassSkipped, cmp.Or(j.check.Message, "already accepted in an earlier run")
			r.emit(o)
			continue
		case LedgerChanged:
			if !r.mayOverride(j.it) {
				o.Class, o.Message = outcome.ClassConflict, cmp.Or(j.check.Message, "a different result was accepted for this activity in an earlier run; nothing was sent")
				r.emit(o)
				continue
			}
			j.req.HardOverride, j.overriding = true, true
		case LedgerDecided:
			if j.check.Class != outcome.ClassConflict || !r.mayOverride(j.it) {
				// The ledger keeps the status, not the API's "error": that
				// is the status's own text in every answer of the contract.
				o.Class, o.HTTPStatus, o.Error, o.Message = j.check.Class, j.check.Status, http.StatusText(j.check.Status), j.check.Message
				r.emit(o)
				continue
			}
			j.req.HardOverride, j.overriding = true, true
		}
		keep = append(keep, j)
	}
	return keep
}

// begin records the intents of a batch in the ledger, in one call. A row
// whose intent the ledger refused (another worker holds its activity) is
// skipped with the ledger's message. If Begin fails, the run stops and every
// row of the batch is skipped unsent. Either way the row's entry is set to nil.
func (r *run) begin(batch []*job) {
	l := r.s.Ledger
	if l == nil || len(batch) == 0 {
		return
	}
	intents := make([]LedgerIntent, len(batch))
	for i, j := range batch {
		intents[i] = LedgerIntent{Req: &j.req, Pos: j.it.Row.Pos, Digest: j.check.Digest}
	}
	if err := l.Begin(r.reqCtx, intents); err != nil {
		const reason = "not sent: the ledger could not record the submission"
		r.stop(reason, fmt.Errorf("recording in the ledger: %w", err))
		for i, j := range batch {
			r.skip(outcome.Outcome{Row: j.it.Row}, reason)
			batch[i] = nil
		}
		return
	}
	for i, j := range batch {
		if msg := intents[i].Refused; msg != "" {
			r.emit(outcome.Outcome{Row: j.it.Row, Class: outcome.ClassSkipped, Message: msg})
			batch[i] = nil
			continue
		}
		j.began = true
	}
}

// finisher records outcomes in the ledger, every outcome waiting in one
// Finish, and only then emits them: a row counts as done once its outcome is
// durable. Workers hand their outcomes over and go on to the next request.
func (r *run) finisher() {
	l := r.s.Ledger
	group := make([]finished, 0, maxAhead)
	done := make([]LedgerDone, 0, maxAhead)
	for first := range r.done {
		group = append(group[:0], first)
		// Fewer, larger commits cost less CPU: wait a little for more
		// outcomes. Only the reports wait; the workers do not.
		var linger <-chan time.Time
		var timer *time.Timer
		if l != nil {
			timer = time.NewTimer(finishLinger)
			linger = timer.C
		}
	gather:
		for len(group) < maxAhead {
			select {
			case f, ok := <-r.done:
				if !ok {
					break gather
				}
				group = append(group, f)
				continue
			default:
			}
			if len(group) >= minFinish || linger == nil {
				break
			}
			select {
			case f, ok := <-r.done:
				if !ok {
					break gather
				}
				group = append(group, f)
			case <-linger:
				break gather
			}
		}
		if timer != nil {
			timer.Stop()
		}
		done = done[:0]
		for _, f := range group {
			if f.req != nil {
				done = append(done, LedgerDone{Req: f.req, Outcome: f.o, InDoubt: f.inDoubt})
			}
		}
		if l != nil && len(done) > 0 {
			if err := l.Finish(r.reqCtx, done); err != nil {
				r.stop("not sent: the ledger could not record an outcome", fmt.Errorf("recording in the ledger: %w", err))
			}
		}
		for _, f := range group {
			r.emit(f.o)
		}
	}
}

// settle hands j's outcome to the finisher.
func (r *run) settle(j *job) {
	f := finished{o: j.o}
	if j.began {
		// An intent recorded but never sent (the run stopped first) is
		// finished as skipped: settled, not in doubt, unless an attempt
		// (here, or of an earlier run) may have stored it.
		c := j.o.Class
		f.req, f.inDoubt = &j.req, j.maybeStored && (c == outcome.ClassFailed || c == outcome.ClassSkipped)
	}
	r.done <- f
}
