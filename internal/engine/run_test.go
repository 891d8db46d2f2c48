package engine

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/reports"
	"github.com/reten/reconcile/internal/sandbox"
	"github.com/reten/reconcile/internal/sandbox/sandboxtest"
	"github.com/reten/reconcile/internal/submit"
)

// testSink records what a run tells its Sink, as a web console's would.
type testSink struct {
	total       atomic.Int64
	read, done  atomic.Int64
	mu          sync.Mutex
	counts      map[outcome.Class]int
	inDone      atomic.Int32 // Done calls running now
	overlapping atomic.Bool
	logs        bytes.Buffer
	log         *slog.Logger
	onDone      func(n int64)
}

func newTestSink() *testSink {
	s := &testSink{counts: map[outcome.Class]int{}}
	s.log = slog.New(slog.NewTextHandler(&lockedWriter{w: &s.logs, mu: &s.mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return s
}

func (s *testSink) Total(n int) { s.total.Store(int64(n)) }
func (s *testSink) Read()       { s.read.Add(1) }
func (s *testSink) Done(o *outcome.Outcome) {
	if s.inDone.Add(1) > 1 {
		s.overlapping.Store(true)
	}
	defer s.inDone.Add(-1)
	s.mu.Lock()
	s.counts[o.Class]++
	s.mu.Unlock()
	n := s.done.Add(1)
	if s.onDone != nil {
		s.onDone(n)
	}
}
func (s *testSink) Logger() *slog.Logger { return s.log }

func (s *testSink) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

const testKey = "rtn_sk_demo"

// inputFile writes n valid rows for the synthetic tenant's activities, then
// one invalid row, with an extra column the contract does not know.
func inputFile(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("activity_id,commerce_external_id,occurred_at,status,result,region\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "5e000000-0000-4000-8000-%012d,SYNC-%05d,2026-04-11T10:30:00Z,EFFECTIVE,SALE_COMPLETED,north\n", i, i%1000)
	}
	b.WriteString("5e000000-0000-4000-8000-999999999999,SYNC-00001,2026-04-11T10:30:00Z,EFFECTIVE,NO_SUCH_RESULT,north\n")
	path := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func sendingJob(t *testing.T, base string, files ...string) *Job {
	t.Helper()
	client, err := api.NewClient(base, testKey)
	if err != nil {
		t.Fatal(err)
	}
	return &Job{
		Command:   "run",
		Files:     files,
		Submitter: &submit.Submitter{Client: client, Concurrency: 4},
		StateDir:  filepath.Join(t.TempDir(), "state"),
		ReportDir: filepath.Join(t.TempDir(), "reports"),
		Reports:   reports.Options{XLSX: true, Rejects: true},
		ExitCode:  func(r *Result) int { return 40 + int(r.Ending) },
	}
}

// A run driven as a web handler would drive it: its own sink hears every
// row read and every outcome, one at a time, with the input's warnings.
func TestRunTellsItsSink(t *testing.T) {
	srv, base := sandboxtest.Start(t, sandbox.SyntheticTenant(30), sandbox.Faults{})
	job := sendingJob(t, base, inputFile(t, 30))
	job.ExpectedRows = 31
	sink := newTestSink()
	res := job.Run(context.Background(), sink)
	if res.Ending != Finished || res.Err != nil {
		t.Fatalf("ended %v: %v", res.Ending, res.Err)
	}
	if sink.total.Load() != 31 || sink.read.Load() != 31 || sink.done.Load() != 31 {
		t.Errorf("sink heard total %d, read %d, done %d; want 31 each", sink.total.Load(), sink.read.Load(), sink.done.Load())
	}
	if sink.counts[outcome.ClassOK] != 30 || sink.counts[outcome.ClassInvalid] != 1 {
		t.Errorf("sink counts %v", sink.counts)
	}
	if sink.overlapping.Load() {
		t.Error("Done was called twice at once")
	}
	if !strings.Contains(sink.logText(), "region") {
		t.Errorf("the unknown column was not logged to the sink: %q", sink.logText())
	}
	if res.NeedsPerson() != 1 || res.Counts[outcome.ClassOK] != 30 || res.Stats.Requests != 30 {
		t.Errorf("result counts %v, stats %+v", res.Counts, res.Stats)
	}
	if res.Summary == nil || res.Summary.Total != 31 || res.Summary.ExitCode != 40 {
		t.Errorf("summary %+v; want 31 rows and ExitCode's number", res.Summary)
	}
	if got := srv.Stats().Stored; got != 30 {
		t.Errorf("the sandbox stored %d results, want 30", got)
	}
	// The same job again: the ledger knows every row.
	job.ReportDir = filepath.Join(t.TempDir(), "again")
	res = job.Run(context.Background(), nil)
	if res.Ending != Finished || res.Counts[outcome.ClassSkipped] != 30 || res.Stats.Requests != 0 {
		t.Errorf("second run: %v %v, counts %v, %d requests", res.Ending, res.Err, res.Counts, res.Stats.Requests)
	}
}

// Two runs at once, as two users of a web console: each has its own sink
// and its own cancel; cancelling one stops it alone, and every row of it is
// still in its report.
func TestRunsSideBySideEachWithItsCancel(t *testing.T) {
	_, base := sandboxtest.Start(t, sandbox.SyntheticTenant(400), sandbox.Faults{Latency: 5 * time.Millisecond})
	in := inputFile(t, 200)
	a, b := sendingJob(t, base, in), sendingJob(t, base, in)
	a.Submitter.Concurrency, b.Submitter.Concurrency = 1, 1
	ctxA, cancelA := context.WithCancel(context.Background())
	defer cancelA()
	sinkA, sinkB := newTestSink(), newTestSink()
	sinkA.onDone = func(n int64) {
		if n == 10 {
			cancelA()
		}
	}
	var resA, resB *Result
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); resA = a.Run(ctxA, sinkA) }()
	go func() { defer wg.Done(); resB = b.Run(context.Background(), sinkB) }()
	wg.Wait()

	if resA.Ending != Interrupted {
		t.Errorf("cancelled run ended %v: %v", resA.Ending, resA.Err)
	}
	if resA.Summary == nil || resA.Summary.Total != 201 || resA.Counts[outcome.ClassSkipped] == 0 {
		t.Errorf("cancelled run: summary %+v, counts %v; want every row reported, the rest skipped", resA.Summary, resA.Counts)
	}
	if rows := reportRows(t, a.ReportDir); rows != 201 {
		t.Errorf("cancelled run's report.csv has %d rows, want 201", rows)
	}
	if resB.Ending != Finished || resB.Counts[outcome.ClassOK]+resB.Counts[outcome.ClassConflict]+resB.Counts[outcome.ClassSkipped] != 200 {
		t.Errorf("the other run: %v %v, counts %v", resB.Ending, resB.Err, resB.Counts)
	}
	if !strings.Contains(sinkA.logText(), "interrupted") || strings.Contains(sinkB.logText(), "interrupted") {
		t.Errorf("the interrupt was told to the wrong sink:\nA: %s\nB: %s", sinkA.logText(), sinkB.logText())
	}
}

func reportRows(t *testing.T, dir string) int {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, reports.CSVName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return len(recs) - 1
}

// Without a Submitter the engine validates only: nothing is sent, no ledger
// is opened, valid rows are valid (never ok: nothing was accepted), and
// summary.json counts only the classes of a check.
func TestRunValidatesOnly(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "configs.json")
	tenant := sandbox.SyntheticTenant(0)
	data := fmt.Sprintf(`{"fetched_at":"2026-01-01T00:00:00Z","base_url":"x","configs":[{"code":%q,"label":"Venta"}]}`, tenant.Configs[0].Code)
	if err := os.WriteFile(cache, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "state")
	job := &Job{Command: "validate", Files: []string{inputFile(t, 20)}, ConfigsFile: cache, StateDir: state,
		ReportDir: filepath.Join(t.TempDir(), "r")}
	sink := newTestSink()
	res := job.Run(context.Background(), sink)
	if res.Ending != Finished || res.Counts[outcome.ClassValid] != 20 || res.Counts[outcome.ClassInvalid] != 1 || res.Counts[outcome.ClassOK] != 0 {
		t.Fatalf("ended %v %v, counts %v", res.Ending, res.Err, res.Counts)
	}
	want := map[outcome.Class]int{outcome.ClassValid: 20, outcome.ClassInvalid: 1, outcome.ClassSkipped: 0}
	if got := res.Summary.Counts; !maps.Equal(got, want) {
		t.Errorf("summary counts %v, want %v", got, want)
	}
	if sink.total.Load() != 21 || sink.read.Load() != 21 || sink.done.Load() != 21 {
		t.Errorf("sink heard total %d, read %d, done %d; want 21 each (the file's rows counted before reading)", sink.total.Load(), sink.read.Load(), sink.done.Load())
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("validating opened a ledger: %v", err)
	}
}

// How a run ends before it starts: each early stop has its Ending, and
// nothing is sent or written.
func TestRunEndsEarly(t *testing.T) {
	_, base := sandboxtest.Start(t, sandbox.SyntheticTenant(5), sandbox.Faults{})
	good := inputFile(t, 5)
	for _, tc := range []struct {
		name  string
		setup func(j *Job)
		want  Ending
		say   string
	}{
		{"missing file", func(j *Job) { j.Files = append(j.Files, filepath.Join(t.TempDir(), "nope.csv")) }, BadInput, "nope.csv"},
		{"no files", func(j *Job) { j.Files = nil }, BadInput, "no input files"},
		{"bad cache", func(j *Job) { j.ConfigsFile = filepath.Join(t.TempDir(), "none.json") }, BadInput, "configs pull"},
		{"refused key", func(j *Job) { j.Submitter.Client, _ = api.NewClient(base, "rtn_sk_nobody") }, KeyRefused, "API key"},
		{"unreachable", func(j *Job) { j.Submitter.Client, _ = api.NewClient("http://127.0.0.1:1", testKey) }, APIFailed, "check RETEN_BASE_URL"},
		{"interrupted", func(j *Job) {}, Interrupted, "interrupted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := sendingJob(t, base, good)
			tc.setup(job)
			ctx, cancel := context.WithCancel(context.Background())
			if tc.want == Interrupted {
				cancel()
			}
			defer cancel()
			res := job.Run(ctx, nil)
			if res.Ending != tc.want || res.Err == nil || !strings.Contains(res.Err.Error(), tc.say) {
				t.Errorf("ended %v: %v; want %v saying %q", res.Ending, res.Err, tc.want, tc.say)
			}
			if EndingOf(res.Err) != tc.want {
				t.Errorf("EndingOf(%v) = %v", res.Err, EndingOf(res.Err))
			}
			if _, err := os.Stat(job.ReportDir); !os.IsNotExist(err) {
				t.Errorf("reports written: %v", err)
			}
		})
	}
}

// A run that finds the state directory held stops at once with Locked.
func TestRunLocked(t *testing.T) {
	_, base := sandboxtest.Start(t, sandbox.SyntheticTenant(5), sandbox.Faults{})
	first := sendingJob(t, base, inputFile(t, 5))
	second := sendingJob(t, strings.Replace(base, "127.0.0.1", "localhost", 1), inputFile(t, 5))
	second.StateDir = first.StateDir
	hold := make(chan struct{})
	sink := newTestSink()
	sink.onDone = func(n int64) {
		if n == 1 {
			<-hold
		}
	}
	done := make(chan *Result)
	go func() { done <- first.Run(context.Background(), sink) }()
	for sink.done.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	res := second.Run(context.Background(), nil)
	close(hold)
	if res.Ending != Locked || !strings.Contains(res.Err.Error(), "nothing was sent") {
		t.Errorf("second run: %v %v", res.Ending, res.Err)
	}
	if r := <-done; r.Ending != Finished {
		t.Errorf("first run: %v %v", r.Ending, r.Err)
	}
}

// Corrections made after reading (the web console's preview) are sent in
// place of the file's cells, validated like the rest.
func TestRunSendsEdits(t *testing.T) {
	srv, base := sandboxtest.Start(t, sandbox.SyntheticTenant(4), sandbox.Faults{})
	in := inputFile(t, 3) // rows 2-4 valid, row 5 an unknown result
	job := sendingJob(t, base, in)
	job.Edits = map[string]importer.Edits{in: {
		3: {"5e000000-0000-4000-8000-000000000002", "SYNC-00002", "2026-04-11T10:30:00Z", "EFFECTIVE", "NOT_A_RESULT", "north"},
		5: {"5e000000-0000-4000-8000-000000000004", "SYNC-00004", "2026-04-11T10:30:00Z", "EFFECTIVE", "NO_CONTACT", "north"},
	}}
	res := job.Run(context.Background(), nil)
	if res.Ending != Finished || res.Counts[outcome.ClassInvalid] != 1 || res.Counts[outcome.ClassOK] != 3 {
		t.Fatalf("ended %v %v, counts %v: want row 3's edit invalid, the rest ok", res.Ending, res.Err, res.Counts)
	}
	if r, ok := srv.Result("5e000000-0000-4000-8000-000000000004"); !ok || r.ResultCode != "NO_CONTACT" {
		t.Errorf("activity 4: %+v, %v; want row 5's edit stored", r, ok)
	}
	if _, ok := srv.Result("5e000000-0000-4000-8000-000000000002"); ok {
		t.Error("row 3's invalid edit was sent")
	}
}
