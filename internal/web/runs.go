package web

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/reten/reconcile/internal/engine"
	"github.com/reten/reconcile/internal/outcome"
)

// reportsDir holds the reports of the runs started from the console, one
// folder a run, named by its run id. Runs started elsewhere keep theirs
// where they were written; the state directory's history says where.
const reportsDir = "reports"

// policies are the 409 policies a run may be started with.
var policies = []string{"never", "always", "row"}

// liveRun is a run started from this console: its progress as last heard,
// which every page and event stream of it reads.
type liveRun struct {
	ID       string
	UploadID string
	Name     string // the upload's file name
	Policy   string
	Started  time.Time
	Dir      string
	run      Run

	mu      sync.Mutex
	last    Progress
	seq     int           // bumped at each change; the events' ids
	changed chan struct{} // closed, and replaced, at each change
	ended   bool
	endErr  error
	rate    rateWindow
	stopped bool // cancelled: finishing the requests in flight
}

// cancel stops the run as Ctrl-C stops the CLI's.
func (lr *liveRun) cancel() {
	lr.mu.Lock()
	lr.stopped = true
	lr.bumpLocked()
	lr.mu.Unlock()
	lr.run.Cancel()
}

func (lr *liveRun) stopping() bool {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return lr.stopped && !lr.ended
}

// requestError is a request the person can put right, said in their terms.
type requestError struct{ msg string }

func (e *requestError) Error() string { return e.msg }

var errNoRunner = errors.New("this console checks files but was started without a way to send them")

// startRun starts sending an upload, as it was last checked (edits in
// place), with a 409 policy. The reports go to a new folder under
// reports/. Another run holding the state directory is an error wrapping
// *ledger.LockedError, and nothing is sent.
func (s *Server) startRun(ctx context.Context, u *upload, policy string) (*liveRun, error) {
	if s.opts.Runner == nil {
		return nil, errNoRunner
	}
	if policy == "" {
		policy = "never"
	}
	if !slices.Contains(policies, policy) {
		return nil, &requestError{fmt.Sprintf("%q is not a 409 policy; choose never, always or row", policy)}
	}
	if !u.Mapped {
		return nil, &requestError{"map the file's columns before sending it"}
	}
	c, err := s.viewCheck(u)
	if err != nil {
		return nil, err
	}
	if c.sum.Err != "" {
		return nil, &requestError{"the file cannot be read to its end, so it is not sent: " + c.sum.Err}
	}
	in, err := u.editedInput()
	if err != nil {
		return nil, err
	}
	root := filepath.Join(s.opts.StateDir, reportsDir)
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, err
	}
	started := s.now()
	id := engine.NewRunID(started)
	dir := filepath.Join(root, id)
	run, err := s.opts.Runner.Start(ctx, RunRequest{Input: in, Policy: policy, RunID: id, ReportDir: dir, Rows: c.sum.Rows})
	if err != nil {
		return nil, err
	}
	lr := &liveRun{ID: id, UploadID: u.ID, Name: u.Name, Policy: policy, Started: started, Dir: dir, run: run,
		changed: make(chan struct{}), last: Progress{Total: c.sum.Rows}}
	s.runsMu.Lock()
	s.runs[id] = lr
	s.runsMu.Unlock()
	s.following.Add(1)
	go func() {
		defer s.following.Done()
		lr.follow()
	}()
	return lr, nil
}

// follow takes in the run's progress until it ends.
func (lr *liveRun) follow() {
	for p := range lr.run.Progress() {
		lr.mu.Lock()
		lr.last = p
		lr.rate.add(p.Elapsed, p.Done)
		lr.bumpLocked()
		lr.mu.Unlock()
	}
	_, err := lr.run.Wait()
	lr.mu.Lock()
	lr.ended, lr.endErr = true, err
	lr.bumpLocked()
	lr.mu.Unlock()
}

func (lr *liveRun) bumpLocked() {
	lr.seq++
	close(lr.changed)
	lr.changed = make(chan struct{})
}

// runState is where a run of the console is.
type runState struct {
	Progress
	Seq    int  // changes so far
	Ended  bool // the run has ended
	EndErr error
	Rate   float64         // rows a second, lately
	Next   <-chan struct{} // closed at the next change
}

func (lr *liveRun) state() runState {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	st := runState{Progress: lr.last, Seq: lr.seq, Ended: lr.ended, EndErr: lr.endErr, Rate: lr.rate.perSecond(), Next: lr.changed}
	st.Counts = make(map[outcome.Class]int, len(lr.last.Counts))
	for c, n := range lr.last.Counts {
		st.Counts[c] = n
	}
	return st
}

// liveRunOf returns a run started from this console, nil if none has id.
func (s *Server) liveRunOf(id string) *liveRun {
	s.runsMu.Lock()
	defer s.runsMu.Unlock()
	return s.runs[id]
}

// liveRunOfUpload returns the run of an upload still going, or nil.
func (s *Server) liveRunOfUpload(uploadID string) *liveRun {
	s.runsMu.Lock()
	defer s.runsMu.Unlock()
	for _, lr := range s.runs {
		if lr.UploadID != uploadID {
			continue
		}
		if !lr.state().Ended {
			return lr
		}
	}
	return nil
}

var errNoLiveRun = errors.New("no run of this console has that id")

// cancelRun stops a run started from this console, as Ctrl-C stops the CLI.
func (s *Server) cancelRun(id string) error {
	lr := s.liveRunOf(id)
	if lr == nil {
		return errNoLiveRun
	}
	lr.cancel()
	return nil
}

// StopRuns cancels every run started from the console that is still going,
// as Ctrl-C stops the CLI's (the requests in flight finish, the rows not
// sent are skipped, the reports are written), and returns once each has
// ended; their event streams end with them. A server shutting down calls it
// before it stops serving.
func (s *Server) StopRuns() {
	s.runsMu.Lock()
	runs := make([]*liveRun, 0, len(s.runs))
	for _, lr := range s.runs {
		runs = append(runs, lr)
	}
	s.runsMu.Unlock()
	for _, lr := range runs {
		lr.cancel()
	}
	s.following.Wait()
	s.closeOnce.Do(func() { close(s.closing) })
}

// rateWindow measures rows a second over the last few seconds, so that the
// rate and the time left follow a run that slows down (retries, a rate
// limit) rather than its average since the start.
type rateWindow struct {
	at   []time.Duration
	done []int
}

const rateSpan = 10 * time.Second

func (w *rateWindow) add(elapsed time.Duration, done int) {
	w.at, w.done = append(w.at, elapsed), append(w.done, done)
	// Keep one sample older than the span, to measure across all of it.
	for len(w.at) > 2 && elapsed-w.at[1] > rateSpan {
		w.at, w.done = w.at[1:], w.done[1:]
	}
}

func (w *rateWindow) perSecond() float64 {
	n := len(w.at)
	if n == 0 {
		return 0
	}
	if n == 1 || w.at[n-1]-w.at[0] < time.Second {
		if s := w.at[n-1].Seconds(); s > 0 {
			return float64(w.done[n-1]) / s
		}
		return 0
	}
	return float64(w.done[n-1]-w.done[0]) / (w.at[n-1] - w.at[0]).Seconds()
}
