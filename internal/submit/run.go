package submit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/outcome"
)

// run is the state of one Run.
type run struct {
	s           *Submitter
	client      *api.Client
	concurrency int
	retries     int
	base, max   time.Duration
	maxWait     time.Duration
	policy      OverridePolicy
	limiters    []Limiter // Rate's, then TenantRate; none: no cap
	log         *slog.Logger
	breaker     breaker

	// parent is the caller's ctx bounded by Submitter.Deadline.
	parent context.Context
	// ctx is cancelled when parent is or when the run stops itself; waits
	// use it. Requests use reqCtx, which neither reaches, so that a request
	// in flight gets its answer.
	ctx    context.Context
	cancel context.CancelFunc
	reqCtx context.Context
	// release frees what the run holds (timers, contexts).
	release func()

	// pauseUntil (unix nanos) holds every worker back after a Retry-After.
	pauseUntil atomic.Int64
	requests   atomic.Int64
	unsent     atomic.Int64 // rows skipped because the run stopped

	out  chan outcome.Outcome // to the one goroutine that calls the caller's emit
	done chan finished        // to the one goroutine that records outcomes in the ledger

	mu      sync.Mutex // guards the fields below
	stats   Stats
	stopped string // why the run stopped itself
	stopErr error
}

// Reasons of the rows a stopped run did not send.
const (
	interruptedReason = "not sent: the run was interrupted"
	deadlineReason    = "not sent: the run's deadline passed"
)

func (s *Submitter) newRun(ctx context.Context) *run {
	r := &run{
		s:           s,
		client:      s.Client,
		concurrency: s.Concurrency,
		retries:     max(s.Retries, 0),
		base:        s.BaseDelay,
		max:         s.MaxDelay,
		maxWait:     s.MaxWait,
		policy:      s.Policy,
		log:         s.Logger,
		breaker:     breaker{limit: s.BreakAfter},
		stats:       Stats{Counts: make(map[outcome.Class]int, len(outcome.Classes))},
	}
	if r.concurrency <= 0 {
		r.concurrency = DefaultConcurrency
	}
	if r.base <= 0 {
		r.base = DefaultBaseDelay
	}
	if r.max <= 0 {
		r.max = DefaultMaxDelay
	}
	if r.maxWait <= 0 {
		r.maxWait = DefaultMaxWait
	}
	if r.breaker.limit <= 0 {
		r.breaker.limit = DefaultBreakAfter
	}
	if r.policy == "" {
		r.policy = OverrideNever
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if s.Rate > 0 {
		burst := s.Burst
		if burst <= 0 {
			burst = 1
		}
		r.limiters = append(r.limiters, rate.NewLimiter(rate.Limit(s.Rate), burst))
	}
	if s.TenantRate != nil {
		r.limiters = append(r.limiters, s.TenantRate)
	}
	r.out = make(chan outcome.Outcome, r.concurrency)
	// Room for two Finish batches: while the finisher waits on a commit
	// (behind an intents' batch or a fold), the workers hand over their
	// outcomes and go on; with room for one they ran dry.
	r.done = make(chan finished, 2*maxAhead)

	r.parent = ctx
	endDeadline := func() {}
	if !s.Deadline.IsZero() {
		r.parent, endDeadline = context.WithDeadline(ctx, s.Deadline)
	}
	r.ctx, r.cancel = context.WithCancel(r.parent)
	r.reqCtx = context.WithoutCancel(ctx)
	// A cron log should say when and why sending stopped, also when no one
	// called stop: the deadline passed.
	endLog := context.AfterFunc(r.parent, func() {
		if r.pastDeadline() {
			r.log.Warn("stopping the run", "reason", deadlineReason)
		}
	})
	r.release = func() {
		endLog()
		r.cancel()
		endDeadline()
	}
	return r
}

// emit hands one outcome to the emitting goroutine.
func (r *run) emit(o outcome.Outcome) { r.out <- o }

// skip emits a row the run did not send because it stopped.
func (r *run) skip(o outcome.Outcome, reason string) {
	r.unsent.Add(1)
	o.Class, o.Code, o.Message = outcome.ClassSkipped, outcome.CodeStopped, reason
	r.emit(o)
}

// count adds an outcome to the stats.
func (r *run) count(o outcome.Outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.Rows++
	r.stats.Counts[o.Class]++
	if o.Attempts > 1 && o.Class != outcome.ClassSkipped {
		r.stats.Retried++
	}
}

// stop ends dispatching for the given reason; the first reason wins.
func (r *run) stop(reason string, err error) {
	r.mu.Lock()
	first := r.stopped == ""
	if first {
		r.stopped, r.stopErr = reason, err
		// Before anything else: a worker must not slip a request through
		// while this one logs.
		r.cancel()
	}
	r.mu.Unlock()
	if first {
		r.log.Warn("stopping the run", "reason", reason)
	}
}

// stopReason says why no more requests may be sent, or "".
func (r *run) stopReason() string {
	r.mu.Lock()
	reason := r.stopped
	r.mu.Unlock()
	switch {
	case reason != "":
		return reason
	case r.pastDeadline():
		return deadlineReason
	case r.parent.Err() != nil:
		return interruptedReason
	}
	return ""
}

// pastDeadline says whether the run's deadline (its own or its ctx's) passed.
func (r *run) pastDeadline() bool {
	return errors.Is(r.parent.Err(), context.DeadlineExceeded)
}

func (r *run) finish() (Stats, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.stats
	st.Requests = int(r.requests.Load())
	st.Stopped = r.stopped
	if r.stopErr != nil {
		return st, r.stopErr
	}

	// An interrupt or a deadline that came after the last row was settled
	// changed nothing.
	if err := r.parent.Err(); err != nil && r.unsent.Load() > 0 {
		if r.pastDeadline() {
			deadline, _ := r.parent.Deadline()
			st.Stopped = deadlineReason
			return st, &DeadlineError{Deadline: deadline, Unsent: int(r.unsent.Load())}
		}
		st.Stopped = "interrupted"
		return st, err
	}
	if ue := r.breaker.none(); ue != nil {
		return st, ue
	}
	return st, nil
}

// wait blocks until a request may be sent: after any pause the server asked
// for, and within the rate. It returns false if the run stopped meanwhile.
func (r *run) wait() bool {
	for {
		until := r.pauseUntil.Load()
		d := time.Until(time.Unix(0, until))
		if until == 0 || d <= 0 {
			break
		}
		if !r.sleep(d) {
			return false
		}
	}
	for _, l := range r.limiters {
		if err := l.Wait(r.ctx); err != nil {
			// *rate.Limiter fails only when the next slot comes after the
			// deadline; another Limiter says so with DeadlineExceeded.
			_, local := l.(*rate.Limiter)
			if !local && r.ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
				// The shared rate's store failed: nothing may go out
				// unpaced.
				r.stop("not sent: the tenant rate could not be read", fmt.Errorf("waiting for the tenant rate: %w", err))
			}
			// No request may go out before the run ends.
			<-r.ctx.Done()
			return false
		}
	}
	return r.ctx.Err() == nil
}

func (r *run) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.ctx.Done():
		return false
	}
}

// pause holds every worker back until d from now (a Retry-After).
func (r *run) pause(d time.Duration) {
	until := time.Now().Add(d).UnixNano()
	for {
		cur := r.pauseUntil.Load()
		if cur >= until || r.pauseUntil.CompareAndSwap(cur, until) {
			return
		}
	}
}
