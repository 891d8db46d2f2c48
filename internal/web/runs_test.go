package web

import (
	"context"
	"errors"
	"maps"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/engine"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/reports"
)

// fakeRunner stands where the engine will: it records what it is asked to
// run, reads the input as the engine would, and streams progress until the
// rows are done or it is cancelled.
type fakeRunner struct {
	mu   sync.Mutex
	reqs []RunRequest
	rows int // rows the input yielded
}

type fakeRun struct {
	progress chan Progress
	cancel   chan struct{}
	once     sync.Once
	done     chan struct{}
	sum      *reports.Summary
}

func (r *fakeRunner) Start(ctx context.Context, req RunRequest) (Run, error) {
	rd, rows, err := req.Input.Open()
	if err != nil {
		return nil, err
	}
	n := 0
	for {
		if _, err := rows.Next(); err != nil {
			break
		}
		n++
	}
	rd.Close()
	r.mu.Lock()
	r.reqs, r.rows = append(r.reqs, req), n
	r.mu.Unlock()
	run := &fakeRun{progress: make(chan Progress, 1), cancel: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(run.done)
		defer close(run.progress)
		p := Progress{Total: n, Counts: map[outcome.Class]int{}}
		for p.Done < n {
			select {
			case <-run.cancel:
				p.Counts[outcome.ClassSkipped] += n - p.Done
				p.Done, p.Final = n, true
				run.progress <- p.own()
				run.sum = &reports.Summary{ExitCode: 130}
				return
			case <-time.After(time.Millisecond):
			}
			p.Done++
			p.Counts[outcome.ClassOK]++
			p.Final = p.Done == n
			if p.Final {
				run.progress <- p.own()
				break
			}
			select {
			case run.progress <- p.own():
			default: // a slow reader misses this one
			}
		}
		run.sum = &reports.Summary{}
	}()
	return run, nil
}

// own is a copy of p whose counts the sender no longer writes, as a Run
// must hand them over.
func (p Progress) own() Progress {
	p.Counts = maps.Clone(p.Counts)
	return p
}

func (r *fakeRun) Progress() <-chan Progress { return r.progress }
func (r *fakeRun) Cancel()                   { r.once.Do(func() { close(r.cancel) }) }
func (r *fakeRun) Wait() (*reports.Summary, error) {
	<-r.done
	return r.sum, nil
}

// ended waits for a run of the console to end and returns its last progress.
func ended(t *testing.T, lr *liveRun) Progress {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		st := lr.state()
		if st.Ended {
			return st.Progress
		}
		select {
		case <-st.Next:
		case <-timeout:
			t.Fatalf("run %s did not end; last progress %+v", lr.ID, st.Progress)
		}
	}
}

func TestStartRunHandsTheRunnerTheCheckedInput(t *testing.T) {
	runner := &fakeRunner{}
	f := newFixture(t, func(o *Options) { o.Runner = runner })
	b := f.loggedIn()
	id := b.uploadOK("resultados.xlsx", sample(t, "resultados.xlsx"))
	b.mapSuggested(id)
	u, _ := f.srv.loadUpload(id)
	// A correction made in the preview is part of the run.
	b.post("/uploads/"+id+"/rows/7", map[string][]string{"c4": {"EFFECTIVE"}})

	lr, err := f.srv.startRun(context.Background(), u, "row")
	if err != nil {
		t.Fatal(err)
	}
	req := runner.reqs[0]
	if req.Input.Path != u.file(rowsName) || req.Input.Name != "resultados.xlsx" || req.Input.Options.MappingFile != u.file(mappingName) || req.Policy != "row" {
		t.Errorf("request %+v", req)
	}
	if cells := req.Input.Edits[11]; len(cells) < 5 || cells[4] != "EFFECTIVE" {
		t.Errorf("the run was not given the correction of row 11: %v", req.Input.Edits)
	}
	if filepath.Dir(req.ReportDir) != filepath.Join(f.state, reportsDir) || filepath.Base(req.ReportDir) != req.RunID || !engine.ValidRunID(req.RunID) || req.RunID != lr.ID {
		t.Errorf("run %q, report dir %s", req.RunID, req.ReportDir)
	}
	if req.Rows != 20 {
		t.Errorf("the request says the run has %d rows, the check counted 20", req.Rows)
	}
	if runner.rows != 20 {
		t.Errorf("the runner read %d rows of the input, want the sample's 20 (title row skipped)", runner.rows)
	}
	last := ended(t, lr)
	if !last.Final || last.Done != 20 || last.Counts[outcome.ClassOK] != 20 {
		t.Errorf("last progress %+v", last)
	}
	if sum, err := lr.run.Wait(); err != nil || sum.ExitCode != 0 {
		t.Errorf("wait: %+v %v", sum, err)
	}
	if f.srv.liveRunOf(lr.ID) != lr {
		t.Error("the run is not found by its id")
	}
}

func TestCancelRunStopsItAsCtrlC(t *testing.T) {
	runner := &fakeRunner{}
	f := newFixture(t, func(o *Options) { o.Runner = runner })
	b := f.loggedIn()
	id := b.uploadOK("big.csv", largeCSV(5000))
	b.mapSuggested(id)
	u, _ := f.srv.loadUpload(id)
	lr, err := f.srv.startRun(context.Background(), u, "")
	if err != nil {
		t.Fatal(err)
	}
	for {
		st := lr.state()
		if st.Done > 0 {
			break
		}
		<-st.Next
	}
	if err := f.srv.cancelRun(lr.ID); err != nil {
		t.Fatal(err)
	}
	last := ended(t, lr)
	if sum, _ := lr.run.Wait(); sum.ExitCode != 130 || !last.Final || last.Counts[outcome.ClassSkipped] == 0 {
		t.Errorf("after cancel: summary %+v, last progress %+v", sum, last)
	}
	if err := f.srv.cancelRun("nope"); err == nil {
		t.Error("cancelling an unknown run works")
	}
}

func TestStartRunRefuses(t *testing.T) {
	f := newFixture(t)
	b := f.loggedIn()
	id := b.uploadOK("results.csv", sample(t, "results.csv"))
	u, _ := f.srv.loadUpload(id)
	if _, err := f.srv.startRun(context.Background(), u, "never"); !errors.Is(err, errNoRunner) {
		t.Errorf("without a runner: %v", err)
	}
	f.srv.opts.Runner = &fakeRunner{}
	if _, err := f.srv.startRun(context.Background(), u, "never"); err == nil || !strings.Contains(err.Error(), "map the file") {
		t.Errorf("before mapping: %v", err)
	}
	b.mapSuggested(id)
	u, _ = f.srv.loadUpload(id)
	if _, err := f.srv.startRun(context.Background(), u, "sometimes"); err == nil || !strings.Contains(err.Error(), "never, always or row") {
		t.Errorf("an unknown policy: %v", err)
	}
}
