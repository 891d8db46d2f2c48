package submit

import (
	"sync"
	"time"
)

// breaker notices an API that no longer answers: after limit requests in a
// row got no answer at all (a timeout, a refused or dropped connection, a
// page from something in the way), or four in five of the last 2·limit
// (an API that answers one request in five is as good as gone, though it
// never fails limit times in a row), sending more would only cost each row
// its timeouts. Any answer from the API, an error included, breaks a run of
// failures. Its zero value, with limit set, is ready.
type breaker struct {
	limit int

	mu      sync.Mutex
	inARow  int
	streak  time.Time   // when the current run of failures began
	window  []time.Time // the last 2·limit requests: when each failed, or zero
	next    int         // where the next request goes in window
	tripped bool
	total   int   // requests recorded
	last    error // the last request's failure
}

// record notes one request's fate at now. The first time the breaker trips
// it returns the error to stop the run with.
func (b *breaker) record(noAnswer bool, now time.Time, last error) *UnreachableError {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.window == nil {
		b.window = make([]time.Time, 2*b.limit)
	}
	b.window[b.next] = time.Time{}
	b.total++
	b.last = last
	if noAnswer {
		b.window[b.next] = now
		if b.inARow == 0 {
			b.streak = now
		}
		b.inARow++
	} else {
		b.inARow = 0
	}
	b.next = (b.next + 1) % len(b.window)
	if b.tripped || !noAnswer {
		return nil
	}
	if b.inARow >= b.limit {
		b.tripped = true
		return &UnreachableError{Since: b.streak, Failures: b.inARow, Of: b.inARow, Last: last}
	}
	failed, since := 0, now
	for _, t := range b.window {
		if !t.IsZero() {
			failed++
			if t.Before(since) {
				since = t
			}
		}
	}
	if 5*failed >= 4*len(b.window) {
		b.tripped = true
		return &UnreachableError{Since: since, Failures: failed, Of: len(b.window), Last: last}
	}
	return nil
}

// none says, once the run is over, whether not one of its requests got an
// answer though the breaker never tripped (too few of them to): the API was
// as unreachable as one that trips it, and the run must say so rather than
// leave the rows failed as if each had a problem of its own.
func (b *breaker) none() *UnreachableError {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tripped || b.total == 0 || b.inARow != b.total {
		return nil
	}
	return &UnreachableError{Since: b.streak, Failures: b.total, Of: b.total, Last: b.last}
}
