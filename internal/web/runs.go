package web

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/reten/reconcile/internal/reports"
)

// runsDir holds the reports of the runs started from the console, one
// folder a run, named as the CLI names its report folders.
const runsDir = "runs"

// liveRun is a run started from the console and still known to it.
type liveRun struct {
	ID       string
	UploadID string
	Started  time.Time
	Dir      string
	run      Run
}

var errNoRunner = errors.New("this console checks files but was started without a way to send them")

// startRun starts sending an upload, as it was last checked (edits in
// place), with a 409 policy, and returns the run's id. The reports go to a
// new folder under runs/.
func (s *Server) startRun(ctx context.Context, u *upload, policy string) (*liveRun, error) {
	if s.opts.Runner == nil {
		return nil, errNoRunner
	}
	switch policy {
	case "", "never", "always", "row":
	default:
		return nil, fmt.Errorf("%q is not a 409 policy; choose never, always or row", policy)
	}
	if !u.Mapped {
		return nil, errors.New("map the file's columns before sending it")
	}
	l := s.lock(u.ID)
	l.Lock()
	err := u.saveRows()
	l.Unlock()
	if err != nil {
		return nil, err
	}
	in, err := u.editedInput()
	if err != nil {
		return nil, err
	}
	root := filepath.Join(s.opts.StateDir, runsDir)
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, err
	}
	started := s.now()
	id := started.UTC().Format("2006-01-02T150405") + "-" + newID()[:6]
	dir := filepath.Join(root, "reports-"+id)
	run, err := s.opts.Runner.Start(ctx, RunRequest{Input: in, Policy: policy, ReportDir: dir})
	if err != nil {
		return nil, err
	}
	lr := &liveRun{ID: id, UploadID: u.ID, Started: started, Dir: dir, run: run}
	s.runsMu.Lock()
	s.runs[id] = lr
	s.runsMu.Unlock()
	return lr, nil
}

// liveRunOf returns a run started from this console, nil if none has id.
func (s *Server) liveRunOf(id string) *liveRun {
	s.runsMu.Lock()
	defer s.runsMu.Unlock()
	return s.runs[id]
}

// cancelRun stops a run started from this console, as Ctrl-C stops the CLI.
func (s *Server) cancelRun(id string) error {
	lr := s.liveRunOf(id)
	if lr == nil {
		return errors.New("no such run")
	}
	lr.run.Cancel()
	return nil
}

// wait waits for a run's end and returns its summary.
func (lr *liveRun) wait() (*reports.Summary, error) { return lr.run.Wait() }
