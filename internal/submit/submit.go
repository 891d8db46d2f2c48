package submit

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

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
)

// Submitter sends validated rows to the integration API and classifies each
// into one outcome. Set its fields before calling Run; a Submitter may be run
// more than once but not twice at the same time.
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
	// Retries is how many times a request that failed transiently (5xx, 429,
	// timeout, connection error) is sent again; zero means never. The
	// command line's default is DefaultRetries.
	Retries int
	// BaseDelay and MaxDelay bound the exponential backoff between retries
	// (full jitter: a random wait up to BaseDelay·2^n, at most MaxDelay); zero
	// means DefaultBaseDelay and DefaultMaxDelay. A Retry-After from the server
	// is waited in full, by every worker.
	BaseDelay, MaxDelay time.Duration
	// Policy is what to do on 409; "" means OverrideNever.
	Policy OverridePolicy
	// Ledger, if not nil, skips rows already accepted in earlier runs and
	// records every submission before it is sent.
	Ledger Ledger
	// DryRun sends nothing: every valid row is skipped as "dry run".
	DryRun bool
	// Logger receives retries (debug) and the reason a run stops (warn); nil
	// means no logging.
	Logger *slog.Logger
}

// DryRunMessage is the message of the valid rows of a dry run.
const DryRunMessage = "dry run: valid, not sent"

// Stats sums up one Run.
type Stats struct {
	Rows     int                   // outcomes emitted, one per input item
	Counts   map[outcome.Class]int // outcomes per class
	Requests int                   // HTTP requests sent
	Retried  int                   // rows sent more than once because of transient failures
	// Stopped says why dispatching stopped before the input ended; "" if it did not.
	Stopped string
}

// maxAhead is how many rows the ledger's intents are recorded at once, ahead
// of their requests: the most one Begin carries, and the most that wait,
// recorded, for a worker.
const maxAhead = 512

// The finisher waits up to finishLinger for minFinish outcomes before it
// records them.
const (
	minFinish    = 512
	finishLinger = 10 * time.Millisecond
)

// Run sends every valid item and calls emit once for every item, valid or not,
// with its outcome. Outcomes may arrive out of input order; emit is called
// from one goroutine, never two at once. items is read by one goroutine, in
// order, at most about 4·maxAhead+Concurrency items ahead of the emitted
// outcomes.
//
// With a Ledger, rows go through it in batches: the valid rows ready at hand
// (up to maxAhead) are checked and their intents recorded in one Begin before
// any of them is handed to the workers, and outcomes are recorded in one
// Finish per batch by a goroutine of their own, off the workers' path; an
// outcome reaches emit only once Finish has returned.
//
// Run stops dispatching when ctx is cancelled, when the API answers 401 or 403
// (every later request would fail the same way), or when the Ledger fails.
// Requests already in flight finish (each bounded by the client's timeout);
// every item not sent is emitted as skipped with the reason, and Run returns
// ctx's error, an error wrapping the *api.Error that stopped it, or the
// Ledger's error. Otherwise it returns nil, whatever the classes.
func (s *Submitter) Run(ctx context.Context, items iter.Seq[validate.Item], emit func(outcome.Outcome)) (Stats, error) {
	r := s.newRun(ctx)
	defer r.cancel()

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
	close(work)
	g.Wait()
	close(r.done)
	<-finished
	close(r.out)
	<-emitted
	return r.finish()
}

// Retry calls fn until it succeeds, fails in a way not worth retrying (see
// api.Retryable), or the retry budget is spent, waiting between attempts as
// Run does between the attempts of a row. It is for the other requests of a
// run, such as downloading the configurations first.
func (s *Submitter) Retry(ctx context.Context, fn func(context.Context) error) error {
	r := s.newRun(ctx)
	defer r.cancel()
	for n := 1; ; n++ {
		err := fn(ctx)
		if err == nil || n > r.retries || !api.Retryable(ctx, err) {
			return err
		}
		d := r.backoff(n)
		if e, ok := api.AsError(err); ok && e.RetryAfter > 0 {
			d = e.RetryAfter
		}
		r.log.Debug("retrying", "answer", err.Error(), "wait", d)
		if !r.sleep(d) {
			return err
		}
	}
}

// run is the state of one Run.
type run struct {
	s           *Submitter
	client      *api.Client
	concurrency int
	retries     int
	base, max   time.Duration
	policy      OverridePolicy
	limiter     *rate.Limiter // nil: no cap
	log         *slog.Logger

	parent context.Context
	// ctx is cancelled when the caller's is or when the run stops itself; waits
	// use it. Requests use reqCtx, which the caller's cancellation does not
	// reach, so that a request in flight gets its answer.
	ctx    context.Context
	cancel context.CancelFunc
	reqCtx context.Context

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

func (s *Submitter) newRun(ctx context.Context) *run {
	r := &run{
		s:           s,
		client:      s.Client,
		concurrency: s.Concurrency,
		retries:     s.Retries,
		base:        s.BaseDelay,
		max:         s.MaxDelay,
		policy:      s.Policy,
		log:         s.Logger,
		parent:      ctx,
		stats:       Stats{Counts: make(map[outcome.Class]int, len(outcome.Classes))},
	}
	if r.concurrency <= 0 {
		r.concurrency = DefaultConcurrency
	}
	r.retries = max(r.retries, 0)
	if r.base <= 0 {
		r.base = DefaultBaseDelay
	}
	if r.max <= 0 {
		r.max = DefaultMaxDelay
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
		r.limiter = rate.NewLimiter(rate.Limit(s.Rate), burst)
	}
	r.out = make(chan outcome.Outcome, r.concurrency)
	// Room for two Finish batches: while the finisher waits on a commit
	// (behind an intents' batch or a fold), the workers hand over their
	// outcomes and go on; with room for one they ran dry.
	r.done = make(chan finished, 2*maxAhead)
	r.ctx, r.cancel = context.WithCancel(ctx)
	r.reqCtx = context.WithoutCancel(ctx)
	return r
}

// emit hands one outcome to the emitting goroutine.
func (r *run) emit(o outcome.Outcome) { r.out <- o }

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
	if reason != "" {
		return reason
	}
	if r.parent.Err() != nil {
		return "not sent: the run was interrupted"
	}
	return ""
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
	// An interrupt that came after the last row was settled changed nothing.
	if err := r.parent.Err(); err != nil && r.unsent.Load() > 0 {
		st.Stopped = "interrupted"
		return st, err
	}
	return st, nil
}

// wait blocks until the row may be sent: after any pause the server asked for,
// and within the rate. It returns false if the run stopped meanwhile.
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
	if r.limiter != nil {
		if err := r.limiter.Wait(r.ctx); err != nil {
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

// backoff is the wait before retry n (1-based): full jitter over an
// exponentially growing ceiling.
func (r *run) backoff(n int) time.Duration {
	ceil := r.max
	if n < 31 {
		if c := r.base << (n - 1); c > 0 && c < ceil {
			ceil = c
		}
	}
	return rand.N(ceil) + 1
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

// job is a valid row on its way to the API: its request as it will be sent,
// and what the ledger said of it.
type job struct {
	it         validate.Item
	req        api.SubmitRequest
	overriding bool // sent with hard_override to replace a result the ledger knows
	check      LedgerCheck
	began      bool // its intent is recorded in the ledger
}

// finished is a row's outcome on its way to the ledger, then to emit.
type finished struct {
	o       outcome.Outcome
	req     *api.SubmitRequest // nil: nothing to record
	inDoubt bool
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
		r.unsent.Add(1)
		r.emit(outcome.Outcome{Row: it.Row, Class: outcome.ClassSkipped, Message: reason})
		return batch
	}
	j := &job{it: it, req: *it.Request}
	j.req.HardOverride = r.wantsOverride(it)
	return append(batch, j)
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
			r.unsent.Add(1)
			r.emit(outcome.Outcome{Row: j.it.Row, Class: outcome.ClassSkipped, Message: reason})
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
		}
		keep = append(keep, j)
	}
	return keep
}

// begin records the intents of a batch in the ledger, in one call. If that
// fails, the run stops and every row of the batch is skipped unsent; its
// entries are set to nil.
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
			r.unsent.Add(1)
			r.emit(outcome.Outcome{Row: j.it.Row, Class: outcome.ClassSkipped, Message: reason})
			batch[i] = nil
		}
		return
	}
	for _, j := range batch {
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

// send sends one job until its outcome is settled, and hands the outcome to
// the finisher.
func (r *run) send(j *job) {
	start := time.Now()
	it, check, overriding := j.it, j.check, j.overriding
	req := &j.req
	o := outcome.Outcome{Row: it.Row}
	// inDoubt: an earlier attempt of this same payload got no answer (a
	// timeout, a lost connection, a gateway's 504), here or in an earlier run,
	// so the API may hold this row's result already: a 409 is then our own
	// result. Without a ledger this is known within the run only.
	inDoubt := check.Own
	// unclear keeps the last unanswered attempt of this run, to explain a 409 after it.
	unclear := ""
	// answered5xx keeps the last other 5xx. The API answered, so it most likely
	// did not store the result; but it may have, so a 409 after it is a
	// conflict that says so. Taking that 409 as ours instead would report an
	// activity that already held someone else's result as ok: a lost row.
	answered5xx := ""
	failures := 0
	var body []byte

	for {
		if !r.wait() {
			reason := r.stopReason()
			r.unsent.Add(1)
			if o.Attempts > 0 {
				reason = "not sent again, " + strings.TrimPrefix(reason, "not sent: ") + "; last answer: " + lastAnswer(o)
			}
			o.Class, o.Message = outcome.ClassSkipped, reason
			break
		}
		if body == nil {
			var err error
			if body, err = api.MarshalRequest(req); err != nil {
				o.Class, o.Message = outcome.ClassFailed, "encoding the request: "+err.Error()
				break
			}
		}

		o.Attempts++
		r.requests.Add(1)
		resp, err := r.client.SubmitRaw(r.reqCtx, body)
		if err == nil {
			o.HTTPStatus, o.Error, o.ResultID = resp.StatusCode, "", resp.ID
			o.Class, o.Message = outcome.ClassOK, ""
			switch {
			case overriding:
				o.Class, o.Message = outcome.ClassOverridden, "the activity had a result; replaced it with hard_override"
			case req.HardOverride:
				o.Message = "sent with hard_override, as the row asked"
			}
			break
		}

		apiErr, isAPI := api.AsError(err)
		if isAPI {
			o.HTTPStatus, o.Error, o.Message = apiErr.StatusCode, apiErr.Err, apiErr.Message
		} else {
			o.HTTPStatus, o.Error, o.Message = 0, "", err.Error()
		}

		switch {
		case isAPI && apiErr.Auth():
			o.Class = outcome.ClassRejected
			r.stop(fmt.Sprintf("not sent: the API refused the key (%d %s)", apiErr.StatusCode, apiErr.Err),
				fmt.Errorf("the API refused the key: %w", apiErr))
		case isAPI && apiErr.StatusCode == http.StatusConflict:
			switch {
			case inDoubt:
				// The earlier attempt whose answer was unclear got through.
				o.Class = outcome.ClassOK
				if unclear != "" {
					o.Message = "409 taken as this row's own result: stored by our earlier attempt, which was answered " + unclear
				} else {
					o.Message = "409 taken as this row's own result: stored by our earlier attempt in a run that got no clear answer"
				}
			case !req.HardOverride && r.mayOverride(it):
				req.HardOverride, overriding, body = true, true, nil
				continue
			default:
				o.Class = outcome.ClassConflict
				if answered5xx != "" {
					o.Message += " (an earlier attempt of this row was answered " + answered5xx + "; if the API stored it all the same, the result it holds is this row's: check it, or send it again with --hard-override)"
				}
			}
		case isAPI && !apiErr.Retryable():
			o.Class = outcome.ClassRejected
		case api.Retryable(r.reqCtx, err):
			switch {
			case !isAPI:
				inDoubt, unclear = true, "with no answer ("+err.Error()+")"
			case apiErr.StatusCode == http.StatusGatewayTimeout:
				// The gateway gave up waiting: the API may have stored it.
				inDoubt, unclear = true, strconv.Itoa(apiErr.StatusCode)+" "+apiErr.Err
			case apiErr.StatusCode >= 500:
				answered5xx = strconv.Itoa(apiErr.StatusCode) + " " + apiErr.Err
			}
			if failures >= r.retries {
				o.Class = outcome.ClassFailed
				o.Message = fmt.Sprintf("%s (after %d attempts)", o.Message, o.Attempts)
				break
			}
			failures++
			d := r.backoff(failures)
			if isAPI && apiErr.RetryAfter > 0 {
				d = apiErr.RetryAfter
				r.pause(d)
			}
			r.log.Debug("retrying", "row", it.Row.Pos.String(), "attempt", o.Attempts, "answer", lastAnswer(o), "wait", d)
			r.sleep(d) // if the run stops meanwhile, wait() settles the row as skipped
			continue
		default:
			o.Class = outcome.ClassFailed
		}
		break
	}

	o.Duration = time.Since(start)
	f := finished{o: o}
	if j.began {
		// An intent recorded but never sent (the run stopped first) is
		// finished as skipped: settled, not in doubt, unless an earlier
		// run left it so.
		f.req, f.inDoubt = req, inDoubt && (o.Class == outcome.ClassFailed || o.Class == outcome.ClassSkipped)
	}
	r.done <- f
}

// lastAnswer describes the latest answer kept in o.
func lastAnswer(o outcome.Outcome) string {
	if o.HTTPStatus == 0 {
		return o.Message
	}
	s := fmt.Sprintf("%d %s", o.HTTPStatus, o.Error)
	if o.Message != "" {
		s += ": " + o.Message
	}
	return s
}
