package main

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reten/reconcile/internal/engine"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/schollz/progressbar/v3"
)

// logEvery is how often a run without a terminal logs its progress.
const logEvery = 5 * time.Second

// progress is the command line's engine.Sink: a bar when stderr is a
// terminal, periodic log lines when it is not (cron, CI, a pipe). Rows are
// counted with atomics and shown by a ticker, so that counting costs a row
// next to nothing however fast rows go (validate checks about a million a
// second).
type progress struct {
	log   *slog.Logger
	bar   *progressbar.ProgressBar // nil without a terminal
	start time.Time

	total  atomic.Int64 // 0: not known
	nRead  atomic.Int64
	nDone  atomic.Int64
	counts []atomic.Int64 // per class, in the order of outcome.AllClasses

	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

var _ engine.Sink = (*progress)(nil)

func newProgress(env *environ) *progress {
	p := &progress{start: time.Now(), counts: make([]atomic.Int64, len(outcome.AllClasses)), stop: make(chan struct{})}
	level := slog.LevelInfo
	if env.stderrIsTerminal && !env.quiet && !env.logJSON {
		// The bar owns the terminal; only warnings interrupt it.
		level = slog.LevelWarn
		p.bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(env.stderr),
			progressbar.OptionSetDescription("rows"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("rows"),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSpinnerType(14),
			// The spinner turns when tick draws, not on a goroutine of the
			// bar's own, which races with drawing (go test -race).
			progressbar.OptionSetSpinnerChangeInterval(0),
			progressbar.OptionClearOnFinish(),
		)
	}
	p.log = newLogger(env, level)
	p.wg.Add(1)
	go p.tick()
	return p
}

// Total implements engine.Sink: the bar, a spinner until then, shows the
// total, a percentage and the time left.
func (p *progress) Total(rows int) {
	p.total.Store(int64(rows))
	if p.bar != nil {
		p.bar.ChangeMax64(int64(rows))
	}
}

// Read implements engine.Sink.
func (p *progress) Read() { p.nRead.Add(1) }

// Done implements engine.Sink.
func (p *progress) Done(o *outcome.Outcome) {
	p.nDone.Add(1)
	if i := slices.Index(outcome.AllClasses, o.Class); i >= 0 {
		p.counts[i].Add(1)
	}
}

// Logger implements engine.Sink.
func (p *progress) Logger() *slog.Logger { return p.log }

func (p *progress) classCounts() map[outcome.Class]int {
	m := make(map[outcome.Class]int, len(outcome.AllClasses))
	for i, c := range outcome.AllClasses {
		if n := p.counts[i].Load(); n > 0 {
			m[c] = int(n)
		}
	}
	return m
}

// tick refreshes the bar, or logs a line, until finish.
func (p *progress) tick() {
	defer p.wg.Done()
	every := logEvery
	if p.bar != nil {
		every = 200 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			if p.bar != nil {
				done := p.nDone.Load()
				if total := p.total.Load(); total > 0 && done > total {
					// The total was an estimate (a cell's own line breaks
					// counted as rows' ends): never past 100%.
					p.total.Store(done)
					p.bar.ChangeMax64(done)
				}
				p.bar.Describe(classCounts(p.classCounts()))
				p.bar.Set64(done)
			} else {
				p.logLine("progress")
			}
		}
	}
}

func (p *progress) logLine(msg string) {
	elapsed := time.Since(p.start)
	done := p.nDone.Load()
	args := []any{"done", done, "read", p.nRead.Load()}
	if total := p.total.Load(); total > 0 {
		args = append(args, "total", total)
	}
	counts := p.classCounts()
	for _, c := range outcome.AllClasses {
		if n := counts[c]; n > 0 {
			args = append(args, string(c), n)
		}
	}
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(done) / s
	}
	args = append(args, "rows_per_s", fmt.Sprintf("%.1f", rate), "elapsed", elapsed.Round(time.Second).String())
	p.log.Info(msg, args...)
}

// finish stops the ticker and clears the bar, or logs the last line. It
// may be called more than once.
func (p *progress) finish() {
	p.once.Do(func() {
		close(p.stop)
		p.wg.Wait()
		if p.bar != nil {
			p.bar.Set64(p.nDone.Load())
			p.bar.Finish()
			return
		}
		p.logLine("finished")
	})
}

// classCounts renders the non-zero counts in report order: "ok=12 invalid=3".
func classCounts(counts map[outcome.Class]int) string {
	var b strings.Builder
	for _, c := range outcome.AllClasses {
		if n := counts[c]; n > 0 {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%s=%d", c, n)
		}
	}
	return b.String()
}
