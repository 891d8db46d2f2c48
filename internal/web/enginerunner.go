package web

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reten/reconcile/internal/engine"
	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/reports"
	"github.com/reten/reconcile/internal/submit"
)

// EngineRunner is the Runner of `reconcile serve`: each run a copy of Job,
// reading one upload with its mapping and corrections, under the state
// directory's lock from before it starts, so that a run another holds is
// refused at once and nothing is sent.
type EngineRunner struct {
	// Job is what every run is made from: its Submitter (which holds the
	// API's client, and so the key, which the console never reads), state
	// directory, reports and exit codes. Its Files, Import, Edits, RunID,
	// ReportDir and ExpectedRows are each run's own; its Command, if "",
	// is "console".
	Job *engine.Job
	// Logger takes the runs' log lines; nil means slog.Default().
	Logger *slog.Logger
}

var _ Runner = (*EngineRunner)(nil)

// Start implements Runner.
func (er *EngineRunner) Start(_ context.Context, req RunRequest) (Run, error) {
	policy, err := submit.ParseOverridePolicy(req.Policy)
	if err != nil {
		return nil, err
	}
	job := *er.Job
	if job.Command == "" {
		job.Command = "console"
	}
	sub := *job.Submitter
	sub.Policy = policy
	job.Submitter = &sub
	job.Files = []string{req.Input.Path}
	job.Import = req.Input.Options
	job.Edits = nil
	if len(req.Input.Edits) > 0 {
		job.Edits = map[string]importer.Edits{req.Input.Path: req.Input.Edits}
	}
	job.RunID, job.ReportDir, job.ExpectedRows = req.RunID, req.ReportDir, req.Rows
	job.Settings = append(slices.Clone(job.Settings), consoleSettings(req)...)
	release, err := job.Lock()
	if err != nil {
		return nil, err
	}
	log := er.Logger
	if log == nil {
		log = slog.Default()
	}
	r := newEngineRun(log.With("run", job.RunID, "file", req.Input.Name))
	go r.run(&job, release)
	return r, nil
}

// consoleSettings are a console run's settings as the reports list them,
// named as the command line's flags, so that `reconcile retry` of its
// report folder reads its rejects as the run read the upload.
func consoleSettings(req RunRequest) []reports.Setting {
	o := req.Input.Options
	policy := req.Policy
	if policy == "" {
		policy = string(submit.OverrideNever)
	}
	s := []reports.Setting{{Name: "hard-override", Value: policy}}
	for _, kv := range [][2]string{{"mapping", o.MappingFile}, {"sheet", o.Sheet}, {"date-format", o.DateFormat}} {
		if kv[1] != "" {
			s = append(s, reports.Setting{Name: kv[0], Value: kv[1]})
		}
	}
	if o.Location != nil {
		s = append(s, reports.Setting{Name: "timezone", Value: o.Location.String()})
	}
	if len(req.Input.Edits) > 0 {
		s = append(s, reports.Setting{Name: "corrected rows", Value: strconv.Itoa(len(req.Input.Edits))})
	}
	return s
}

// progressEvery is how often a run tells its progress.
const progressEvery = 200 * time.Millisecond

// engineRun is one run of an EngineRunner: the engine's Sink, counting
// with atomics as the command line's does, and the console's Run, handing
// the counts over a few times a second.
type engineRun struct {
	log     *slog.Logger
	ctx     context.Context
	cancel  context.CancelFunc
	started time.Time

	total  atomic.Int64
	done   atomic.Int64
	counts []atomic.Int64 // per class, in the order of outcome.Classes

	progress chan Progress
	ended    chan struct{}
	res      *engine.Result
}

func newEngineRun(log *slog.Logger) *engineRun {
	ctx, cancel := context.WithCancel(context.Background())
	return &engineRun{log: log, ctx: ctx, cancel: cancel, started: time.Now(),
		counts: make([]atomic.Int64, len(outcome.Classes)), progress: make(chan Progress, 1), ended: make(chan struct{})}
}

func (r *engineRun) run(job *engine.Job, release func()) {
	defer close(r.ended)
	stop := make(chan struct{})
	var ticking sync.WaitGroup
	ticking.Add(1)
	go func() {
		defer ticking.Done()
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				r.tell(r.snapshot(false))
			}
		}
	}()
	r.log.Info("sending")
	r.res = job.Run(r.ctx, r)
	release()
	close(stop)
	ticking.Wait()
	r.tell(r.snapshot(true))
	close(r.progress)
	r.log.Info("run ended", "ending", r.res.Ending.String(), "rows", r.done.Load())
}

// tell hands p over, in place of an event the console has not taken yet: a
// slow reader misses intermediate events, never the last.
func (r *engineRun) tell(p Progress) {
	for {
		select {
		case r.progress <- p:
			return
		default:
		}
		select {
		case <-r.progress:
		default:
		}
	}
}

func (r *engineRun) snapshot(final bool) Progress {
	p := Progress{Done: int(r.done.Load()), Total: int(r.total.Load()), Counts: map[outcome.Class]int{}, Elapsed: time.Since(r.started), Final: final}
	for i, c := range outcome.Classes {
		if n := r.counts[i].Load(); n > 0 {
			p.Counts[c] = int(n)
		}
	}
	return p
}

// Total implements engine.Sink.
func (r *engineRun) Total(rows int) { r.total.Store(int64(rows)) }

// Read implements engine.Sink.
func (r *engineRun) Read() {}

// Done implements engine.Sink.
func (r *engineRun) Done(o *outcome.Outcome) {
	r.done.Add(1)
	if i := slices.Index(outcome.Classes, o.Class); i >= 0 {
		r.counts[i].Add(1)
	}
}

// Logger implements engine.Sink: the run's lines go to the server's log.
func (r *engineRun) Logger() *slog.Logger { return r.log }

// Progress implements Run.
func (r *engineRun) Progress() <-chan Progress { return r.progress }

// Cancel implements Run: as Ctrl-C, the engine lets the requests in
// flight finish and reports the rows not sent as skipped.
func (r *engineRun) Cancel() { r.cancel() }

// Wait implements Run.
func (r *engineRun) Wait() (*reports.Summary, error) {
	<-r.ended
	if r.res.Err != nil {
		return r.res.Summary, r.res.Err
	}
	return r.res.Summary, nil
}

var _ engine.Sink = (*engineRun)(nil)
