package submit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/reten/reconcile/internal/api"
)

// This file is the wait between attempts, for rows and for the other calls
// of a run: exponential backoff with jitter from cenkalti/backoff, or the
// server's Retry-After, which every worker waits out and which, if longer
// than MaxWait, stops the run. Every wait is logged with its reason.

// retryLater is an attempt's transient failure: the answer, and the wait the
// server asked for (0: none). Through Unwrap, backoff.Retry finds the wait
// as a *backoff.RetryAfterError and waits it instead of its own backoff.
type retryLater struct {
	cause error
	wait  time.Duration
}

func (e *retryLater) Error() string { return e.cause.Error() }

func (e *retryLater) Unwrap() []error {
	if e.wait > 0 {
		return []error{e.cause, &backoff.RetryAfterError{Duration: e.wait}}
	}
	return []error{e.cause}
}

// errStopped ends the attempts of a call because the run stopped.
var errStopped = errors.New("the run stopped")

// boundedBackOff is backoff's exponential backoff with its jitter kept
// under max: backoff caps the interval, not the jittered wait.
type boundedBackOff struct {
	backoff.ExponentialBackOff
	max time.Duration
}

func (b *boundedBackOff) NextBackOff() time.Duration {
	return min(b.ExponentialBackOff.NextBackOff(), b.max)
}

// newBackOff is the backoff of one call's attempts: before retry n,
// base·2^(n-1) give or take half of it, at most max.
func (r *run) newBackOff() *boundedBackOff {
	return &boundedBackOff{
		ExponentialBackOff: backoff.ExponentialBackOff{
			InitialInterval:     r.base,
			RandomizationFactor: 0.5,
			Multiplier:          2,
			MaxInterval:         r.max,
		},
		max: r.max,
	}
}

// attempter is a call the retry layer makes again: a row, or another
// request of the run. Its String names it in the log.
type attempter interface {
	fmt.Stringer
	// attempt makes one attempt: nil when the call is done, a *retryLater
	// to try again after a wait, any other error to give up.
	attempt() error
}

// retry makes a's attempts until one returns nil or an error other than a
// *retryLater, or the retry budget is spent, waiting between attempts. It
// returns nil; the last *retryLater when the budget is spent; errStopped (or
// the ctx's error) when the run stopped, also when it stopped because the
// server asked for a wait longer than maxWait; or attempt's other error.
func (r *run) retry(a attempter) error {
	// Most calls succeed at once: backoff's loop, and what it allocates,
	// is for those that do not. Its first attempt is the one made here.
	first := a.attempt()
	if first == nil || !errors.As(first, new(*retryLater)) {
		return first
	}
	op := func() (struct{}, error) {
		err := first
		if first != nil {
			first = nil
		} else {
			err = a.attempt()
		}
		var rl *retryLater
		switch {
		case err == nil:
			return struct{}{}, nil
		case !errors.As(err, &rl):
			return struct{}{}, backoff.Permanent(err)
		case rl.wait > r.maxWait:
			r.stop(fmt.Sprintf("not sent: the API asked to wait %v; run again later", rl.wait),
				&WaitError{Wait: rl.wait, MaxWait: r.maxWait, Answer: rl.cause})
			return struct{}{}, backoff.Permanent(errStopped)
		case rl.wait > 0:
			// Every worker, not only this one: the server said so of the
			// client, not of one request.
			r.pause(rl.wait)
		}
		return struct{}{}, err
	}
	notify := func(err error, d time.Duration) {
		var rl *retryLater
		if errors.As(err, &rl) && rl.wait > 0 {
			r.log.Info("the API asked to wait: holding every request", "wait", d, "call", a, "answer", rl.cause.Error())
			return
		}
		r.log.Info("waiting before trying again", "wait", d, "call", a, "answer", err.Error())
	}
	_, err := backoff.Retry(r.ctx, op,
		backoff.WithBackOff(r.newBackOff()),
		backoff.WithMaxTries(uint(r.retries)+1),
		backoff.WithMaxElapsedTime(0), // the budget is in tries; the run's own deadline bounds time
		backoff.WithNotify(notify))
	return err
}

// Retry calls fn until it succeeds, fails in a way not worth retrying (see
// api.Retryable), or the retry budget is spent, waiting between attempts as
// Run does between the attempts of a row, and returns fn's last error. A
// Retry-After longer than MaxWait is not waited: Retry returns a
// *WaitError. It is for the other requests of a run, such as downloading
// the configurations first.
func (s *Submitter) Retry(ctx context.Context, fn func(context.Context) error) error {
	r := s.newRun(ctx)
	defer r.release()
	c := &call{ctx: ctx, fn: fn}
	err := r.retry(c)
	r.mu.Lock()
	stopErr := r.stopErr
	r.mu.Unlock()
	if errors.As(stopErr, new(*WaitError)) {
		return stopErr
	}
	if err == nil {
		return nil
	}
	return c.last
}

// call is a request of Retry's caller, as the retry layer makes it.
type call struct {
	ctx  context.Context
	fn   func(context.Context) error
	last error
}

func (c *call) String() string { return "request" }

func (c *call) attempt() error {
	c.last = c.fn(c.ctx)
	switch {
	case c.last == nil:
		return nil
	case !api.Retryable(c.ctx, c.last):
		return c.last
	}
	rl := &retryLater{cause: c.last}
	if e, ok := api.AsError(c.last); ok {
		rl.wait = e.RetryAfter
	}
	return rl
}
