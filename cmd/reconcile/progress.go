package main

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/reten/reconcile/internal/outcome"
	"github.com/schollz/progressbar/v3"
)

// logEvery is how often a run without a terminal logs its progress.
const logEvery = 5 * time.Second

// progress shows a run's progress: a bar when stderr is a terminal, periodic
// log lines when it is not (cron, CI, a pipe).
type progress struct {
	log   *slog.Logger
	bar   *progressbar.ProgressBar // nil without a terminal
	start time.Time

	mu     sync.Mutex
	nRead  int
	nDone  int
	counts map[outcome.Class]int

	stop chan struct{}
	wg   sync.WaitGroup
}

func newProgress(env *environ, start time.Time) *progress {
	p := &progress{start: start, counts: map[outcome.Class]int{}, stop: make(chan struct{})}
	level := slog.LevelInfo
	if env.stderrIsTerminal {
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
			progressbar.OptionClearOnFinish(),
		)
	}
	p.log = slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: level}))
	p.wg.Add(1)
	go p.tick()
	return p
}

func (p *progress) read() {
	p.mu.Lock()
	p.nRead++
	p.mu.Unlock()
}

func (p *progress) done(o outcome.Outcome) {
	p.mu.Lock()
	p.nDone++
	p.counts[o.Class]++
	p.mu.Unlock()
	if p.bar != nil {
		p.bar.Add(1)
	}
}

// doneMany counts n outcomes at once, per class in counts (which it does not
// keep): validate checks up to a million rows a second, so it hands its
// counts over in batches rather than taking the lock for every row.
func (p *progress) doneMany(counts map[outcome.Class]int, n int) {
	p.mu.Lock()
	p.nRead += n
	p.nDone += n
	for c, k := range counts {
		p.counts[c] += k
	}
	p.mu.Unlock()
	if p.bar != nil {
		p.bar.Add(n)
	}
}

// tick refreshes the bar's class counts, or logs a line, until finish.
func (p *progress) tick() {
	defer p.wg.Done()
	every := logEvery
	if p.bar != nil {
		every = 500 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			if p.bar != nil {
				p.mu.Lock()
				desc := classCounts(p.counts)
				p.mu.Unlock()
				p.bar.Describe(desc)
			} else {
				p.logLine("progress")
			}
		}
	}
}

func (p *progress) logLine(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	elapsed := time.Since(p.start)
	args := []any{"done", p.nDone, "read", p.nRead}
	for _, c := range outcome.Classes {
		if n := p.counts[c]; n > 0 {
			args = append(args, string(c), n)
		}
	}
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(p.nDone) / s
	}
	args = append(args, "rows_per_s", fmt.Sprintf("%.1f", rate), "elapsed", elapsed.Round(time.Second).String())
	p.log.Info(msg, args...)
}

// finish stops the ticker and clears the bar, or logs the last line.
func (p *progress) finish() {
	close(p.stop)
	p.wg.Wait()
	if p.bar != nil {
		p.bar.Finish()
		return
	}
	p.logLine("finished")
}
