package submit

import (
	"context"
	"fmt"
	"time"
)

// WaitError is returned by Run when the API asked for a wait (Retry-After)
// longer than Submitter.MaxWait: the run stopped rather than sit idle, and
// every row not sent is skipped.
type WaitError struct {
	Wait, MaxWait time.Duration
	// Answer is the answer that asked for the wait. It is not unwrapped: the
	// run stopped for the wait, not for the answer (a 429 or 503).
	Answer error
}

func (e *WaitError) Error() string {
	return fmt.Sprintf("the API asked to wait %v, longer than the run waits (%v); run again later: %v", e.Wait, e.MaxWait, e.Answer)
}

// UnreachableError is returned by Run when the circuit breaker tripped: so
// many requests got no answer at all that the rest would fare no better.
type UnreachableError struct {
	// Since is when the first of the failures that tripped it happened.
	Since time.Time
	// Failures of Of requests got no answer: Failures in a row when Of is
	// Failures, else among the last Of.
	Failures, Of int
	// Last is the last of those failures.
	Last error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("API unreachable since %s (%s); the last: %v", e.Since.Format(time.TimeOnly), e.count(), e.Last)
}

func (e *UnreachableError) Unwrap() error { return e.Last }

func (e *UnreachableError) count() string {
	if e.Failures == e.Of {
		return fmt.Sprintf("%d requests in a row got no answer", e.Failures)
	}
	return fmt.Sprintf("%d of the last %d requests got no answer", e.Failures, e.Of)
}

// reason is the message of the rows the breaker kept from being sent.
func (e *UnreachableError) reason() string {
	return fmt.Sprintf("not sent: API unreachable since %s (%s)", e.Since.Format(time.TimeOnly), e.count())
}

// DeadlineError is returned by Run when the run's deadline (Submitter.Deadline
// or its ctx's) passed before every row was sent.
type DeadlineError struct {
	Deadline time.Time
	// Unsent is how many rows were skipped for it.
	Unsent int
}

func (e *DeadlineError) Error() string {
	return fmt.Sprintf("the run's deadline (%s) passed: %d rows not sent are skipped; run again to send them", e.Deadline.Format(time.DateTime), e.Unsent)
}

func (e *DeadlineError) Unwrap() error { return context.DeadlineExceeded }
