package submit

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/validate"
)

// OverridePolicy says what to do when the API answers 409 (the activity already
// has a result).
type OverridePolicy string

const (
	// OverrideNever reports the row as a conflict. Rows that ask for
	// hard_override themselves are sent without it.
	OverrideNever OverridePolicy = "never"
	// OverrideAlways sends the row once more with hard_override: true.
	OverrideAlways OverridePolicy = "always"
	// OverrideRow overrides only the rows whose hard_override column says so
	// (Item.Override); they are sent with it from the start.
	OverrideRow OverridePolicy = "row"
)

// ParseOverridePolicy reads the value of --hard-override.
func ParseOverridePolicy(s string) (OverridePolicy, error) {
	switch p := OverridePolicy(strings.ToLower(strings.TrimSpace(s))); p {
	case OverrideNever, OverrideAlways, OverrideRow:
		return p, nil
	}
	return "", fmt.Errorf("hard override policy %q is not one of never, always, row", s)
}

// Defaults of the Submitter's zero fields.
const (
	DefaultConcurrency = 8
	DefaultRetries     = 5
	DefaultBaseDelay   = 250 * time.Millisecond
	DefaultMaxDelay    = 30 * time.Second
	DefaultMaxWait     = 2 * time.Minute
	DefaultBreakAfter  = 10
)

// Submitter sends validated rows to the integration API and classifies each
// into one outcome. Set its fields before calling Run; a Submitter may be run
// more than once but not twice at the same time. It reports progress only
// through Run's emit and stops when Run's ctx is cancelled, so a web handler
// can drive it as the command line does.
type Submitter struct {
	// Client sends the requests.
	Client *api.Client
	// Concurrency is how many requests may be in flight at once; zero means
	// DefaultConcurrency.
	Concurrency int
	// Rate caps requests per second across all workers, retries included; zero
	// means no cap.
	Rate float64
	// Burst is how many requests may go out at once above Rate after a quiet
	// spell; zero means 1 (an even pace).
	Burst int
	// TenantRate, if not nil, is waited on before every request as well as
	// Rate: a pace shared with other processes sending to the same tenant
	// (pgledger.TenantRate), or a *rate.Limiter. Its error stops the run.
	TenantRate Limiter
	// Retries is how many times a request that failed transiently (5xx, 429,
	// timeout, connection error, a 2xx that is not a result) is sent again;
	// zero means never. The command line's default is DefaultRetries.
	Retries int
	// BaseDelay and MaxDelay bound the exponential backoff between retries:
	// before retry n a wait of BaseDelay·2^(n-1), give or take half of it at
	// random, at most MaxDelay. Zero means DefaultBaseDelay and
	// DefaultMaxDelay.
	BaseDelay, MaxDelay time.Duration
	// MaxWait is the longest Retry-After the run waits out, holding every
	// worker; a server asking for longer stops the run (a *WaitError). Zero
	// means DefaultMaxWait.
	MaxWait time.Duration
	// BreakAfter is how many requests in a row may get no answer at all
	// (timeouts, refused or dropped connections) before the run stops as the
	// API unreachable (an *UnreachableError); it also stops when four in
	// five of the last 2·BreakAfter got none. Zero means DefaultBreakAfter.
	BreakAfter int
	// Deadline, if not zero, is when the run stops dispatching: requests in
	// flight finish, every row not sent is skipped and Run returns a
	// *DeadlineError. A deadline of Run's ctx does the same.
	Deadline time.Time
	// Policy is what to do on 409; "" means OverrideNever.
	Policy OverridePolicy
	// Ledger, if not nil, skips rows already accepted in earlier runs and
	// records every submission before it is sent.
	Ledger Ledger
	// DryRun sends nothing: every valid row is skipped as "dry run".
	DryRun bool
	// Logger receives every wait (info: its reason and length) and the reason
	// a run stops (warn); nil means no logging.
	Logger *slog.Logger
}

// DryRunMessage is the message of the valid rows of a dry run.
const DryRunMessage = "dry run: valid, not sent"

// Stats sums up one Run.
type Stats struct {
	Rows     int                   // outcomes emitted, one per input item
	Counts   map[outcome.Class]int // outcomes per class
	Requests int                   // HTTP requests sent, checks of stored results included
	Retried  int                   // rows sent more than once because of transient failures
	// Stopped says why dispatching stopped before the input ended; "" if it did not.
	Stopped string
}

// maxAhead is how many rows the ledger's intents are recorded at once, ahead
// of their requests: the most one Begin carries, and the most that wait,
// recorded, for a worker.
const maxAhead = 512

// Run sends every valid item and calls emit once for every item, valid or not,
// with its outcome. Outcomes may arrive out of input order; emit is called
// from one goroutine, never two at once. items is read by one goroutine, in
// order, at most about 4·maxAhead+Concurrency items ahead of the emitted
// outcomes.
//
// With a Ledger, rows go through it in batches (see batch.go): the valid
// rows ready at hand (up to maxAhead) are checked and their intents recorded
// in one Begin before any of them is handed to the workers, and outcomes are
// recorded in one Finish per batch by a goroutine of their own, off the
// workers' path; an outcome reaches emit only once Finish has returned.
//
// Run stops dispatching when ctx is cancelled, when the API answers 401 or
// 403 (every later request would fail the same way), when it asks to wait
// longer than MaxWait, when it stops answering (BreakAfter), when the
// deadline passes, or when the Ledger fails. Requests already in flight
// finish (each bounded by the client's timeout); every item not sent is
// emitted as skipped with the reason, and Run returns ctx's error, an error
// wrapping the *api.Error that stopped it, a *WaitError, an
// *UnreachableError, a *DeadlineError, or the Ledger's error. A run in
// which not one request got an answer, too few to trip the breaker, also
// returns an *UnreachableError, its rows left failed. Otherwise it
// returns nil, whatever the classes.
func (s *Submitter) Run(ctx context.Context, items iter.Seq[validate.Item], emit func(outcome.Outcome)) (Stats, error) {
	r := s.newRun(ctx)
	defer r.release()

	// Reading (parsing, validating), recording outcomes and emitting (writing
	// reports) each run in a goroutine of their own beside the workers, so
	// that none holds up the requests; the channels between them keep memory
	// bounded, whatever the size of the input.
	in := make(chan validate.Item, maxAhead)
	go func() {
		defer close(in)
		for it := range items {
			in <- it
		}
	}()
	emitted := make(chan struct{})
	go func() {
		defer close(emitted)
		for o := range r.out {
			r.count(o)
			emit(o)
		}
	}()
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		r.finisher()
	}()

	// Concurrency long-lived workers rather than a goroutine per row: each
	// would grow its stack anew through the HTTP client, which cost more CPU
	// than the goroutine itself. work holds a batch whose intents are
	// recorded while the next batch is being recorded.
	var g errgroup.Group
	work := make(chan *job, maxAhead)
	for range r.concurrency {
		g.Go(func() error {
			for j := range work {
				r.send(j)
			}
			return nil
		})
	}
	r.dispatch(in, work)
	close(work)
	g.Wait()
	close(r.done)
	<-finished
	close(r.out)
	<-emitted
	return r.finish()
}

// Limiter paces requests: Wait blocks until one may go out. Its error wraps
// ctx's when ctx is done first, or context.DeadlineExceeded when the next
// slot comes after ctx's deadline; any other error means the pace cannot be
// kept, and stops the run. *rate.Limiter is one.
type Limiter interface {
	Wait(ctx context.Context) error
}
