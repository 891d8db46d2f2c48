package submit_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/submit"
	"github.com/reten/reconcile/internal/validate"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/sandbox"
	"github.com/reten/reconcile/internal/sandbox/sandboxtest"
)

// These tests run the Submitter against the real sandbox over HTTP and check
// what it did by the sandbox's own counters and request log.

func sandboxClient(t *testing.T, base, key string) *api.Client {
	t.Helper()
	c, err := api.NewClient(base, key)
	if err != nil {
		t.Fatal(err)
	}
	c.Timeout = 5 * time.Second
	return c
}

// sandboxItem is a valid row for activity a; result "" means SALE_COMPLETED.
func sandboxItem(a sandbox.Activity, row int, result string) validate.Item {
	if result == "" {
		result = "SALE_COMPLETED"
	}
	return validate.Item{
		Row: importer.Row{Pos: importer.Position{File: "in.csv", Row: row}},
		Request: &api.SubmitRequest{
			ActivityID:         a.ID,
			CommerceExternalID: a.CommerceExternalID,
			OccurredAt:         "2026-04-11T10:30:00.000Z",
			Status:             api.StatusEffective,
			TaskResult:         api.TaskResult{Result: result},
		},
	}
}

func runItems(t *testing.T, ctx context.Context, s *submit.Submitter, items []validate.Item) (map[int]outcome.Outcome, submit.Stats, error) {
	t.Helper()
	var mu sync.Mutex
	got := map[int]outcome.Outcome{}
	st, err := s.Run(ctx, slices.Values(items), func(o outcome.Outcome) {
		mu.Lock()
		defer mu.Unlock()
		if _, dup := got[o.Row.Pos.Row]; dup {
			t.Errorf("row %d has two outcomes", o.Row.Pos.Row)
		}
		got[o.Row.Pos.Row] = o
	})
	if len(got) != len(items) {
		t.Errorf("%d outcomes for %d rows", len(got), len(items))
	}
	return got, st, err
}

func TestSubmitAgainstSandboxUnderFaults(t *testing.T) {
	tenant := sandbox.SyntheticTenant(240)
	for i := range tenant.Activities {
		tenant.Activities[i].HasResult = i%20 == 7 // 12 activities already have a result
	}
	srv, base := sandboxtest.Start(t, tenant, sandbox.Faults{
		FailRate: 0.2, Latency: 2 * time.Millisecond, RateLimit: 60, Seed: 42,
	})
	want := map[int]outcome.Class{}
	var items []validate.Item
	for i, a := range tenant.Activities {
		row := i + 2
		switch {
		case i%20 == 7:
			want[row] = outcome.ClassConflict
			items = append(items, sandboxItem(a, row, ""))
		case i%30 == 11:
			want[row] = outcome.ClassRejected // an unknown code gets past no offline check here: 400
			items = append(items, sandboxItem(a, row, "BOGUS"))
		case i%40 == 13:
			want[row] = outcome.ClassRejected // 404
			it := sandboxItem(a, row, "")
			it.Request.ActivityID = fmt.Sprintf("0badc0de-0000-4000-8000-%012d", i)
			items = append(items, it)
		default:
			want[row] = outcome.ClassOK
			items = append(items, sandboxItem(a, row, ""))
		}
	}
	s := &submit.Submitter{
		Client: sandboxClient(t, base, "rtn_sk_demo"), Concurrency: 8,
		// 12 retries: at 20% transient failures (and some 429s) a row fails 13
		// times in a row about once in a billion, so "failed" here is a bug.
		Retries: 12, BaseDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond,
	}
	got, st, err := runItems(t, context.Background(), s, items)
	if err != nil {
		t.Fatal(err)
	}
	for row, class := range want {
		if o := got[row]; o.Class != class {
			t.Errorf("row %d: %s (%d %s), want %s", row, o.Class, o.HTTPStatus, o.Message, class)
		}
	}

	// The sandbox's log: per activity, every request in order.
	byKey := map[string][]sandbox.Request{}
	for _, r := range srv.Requests() {
		if r.Method == "POST" {
			byKey[r.ActivityKey] = append(byKey[r.ActivityKey], r)
		}
	}
	stats := srv.Stats()
	retried := 0
	for _, it := range items {
		o := got[it.Row.Pos.Row]
		reqs := byKey[it.Request.ActivityID]
		if o.Attempts != len(reqs) {
			t.Errorf("row %d: %d attempts reported, %d requests at the sandbox", it.Row.Pos.Row, o.Attempts, len(reqs))
		}
		// No 4xx (but 429) is ever followed by another request for the row.
		for i, r := range reqs {
			if r.Status >= 400 && r.Status < 500 && r.Status != 429 && i != len(reqs)-1 {
				t.Errorf("row %d: sent again after a %d", it.Row.Pos.Row, r.Status)
			}
		}
		if o.Class == outcome.ClassOK {
			if n := stats.Activities[it.Request.ActivityID].Stored; n != 1 {
				t.Errorf("row %d ok, stored %d times", it.Row.Pos.Row, n)
			}
			if o.Attempts > 1 {
				retried++
			}
		}
	}
	if retried < 20 {
		t.Errorf("only %d ok rows needed a retry under 20%% faults: the faults did not bite", retried)
	}
	if stats.Status[429] == 0 || stats.Status[500]+stats.Status[502]+stats.Status[503] == 0 {
		t.Errorf("the test did not meet every fault: %v", stats.Status)
	}
	if st.Requests != stats.Requests {
		t.Errorf("Stats.Requests %d, the sandbox saw %d", st.Requests, stats.Requests)
	}
}

// A result stored whose answer is lost (a dropped connection) or a 500: the
// retry meets 409, and the row's stored result is read back from the
// listing. Both are this row's values: ok, stored once, nothing sent after
// the 409, under either policy.
func TestSubmitAgainstSandboxStoredButUnanswered(t *testing.T) {
	for _, policy := range []submit.OverridePolicy{submit.OverrideNever, submit.OverrideAlways} {
		t.Run(string(policy), func(t *testing.T) {
			tenant := sandbox.SyntheticTenant(150)
			srv, base := sandboxtest.Start(t, tenant, sandbox.Faults{FailAfterStoreRate: 0.3, Seed: 7})
			var items []validate.Item
			for i, a := range tenant.Activities {
				items = append(items, sandboxItem(a, i+2, ""))
			}
			s := &submit.Submitter{Client: sandboxClient(t, base, "rtn_sk_demo"), Concurrency: 4, Retries: 3, BaseDelay: time.Millisecond, Policy: policy}
			got, _, err := runItems(t, context.Background(), s, items)
			if err != nil {
				t.Fatal(err)
			}
			byKey := map[string][]sandbox.Request{}
			lists := 0
			for _, r := range srv.Requests() {
				if r.Method == "GET" {
					lists++
					continue
				}
				byKey[r.ActivityKey] = append(byKey[r.ActivityKey], r)
			}
			stats := srv.Stats()
			var lost, answered int
			for _, it := range items {
				o, reqs := got[it.Row.Pos.Row], byKey[it.Request.ActivityID]
				if n := stats.Activities[it.Request.ActivityID].Stored; n != 1 {
					t.Errorf("row %d stored %d times", it.Row.Pos.Row, n)
				}
				first := reqs[0]
				switch {
				case len(reqs) == 1:
					if o.Class != outcome.ClassOK || first.Status != 201 {
						t.Errorf("row %d: %s after one request answered %d", it.Row.Pos.Row, o.Class, first.Status)
					}
					continue
				case first.Dropped:
					lost++
				default:
					answered++
				}
				if o.Class != outcome.ClassOK || len(reqs) != 2 || reqs[1].Status != 409 || !strings.Contains(o.Message, "stored by our earlier attempt") {
					t.Errorf("row %d: answer lost or 500 after storing, then %d requests: %s %s", it.Row.Pos.Row, len(reqs), o.Class, o.Message)
				}
			}
			if lost == 0 || answered == 0 || lists != lost+answered {
				t.Errorf("faults met: %d lost answers, %d 500s after storing; %d stored results read back", lost, answered, lists)
			}
		})
	}
}

func TestSubmitRateAtSandbox(t *testing.T) {
	const rate, n = 200.0, 220
	tenant := sandbox.SyntheticTenant(n)
	srv, base := sandboxtest.Start(t, tenant, sandbox.Faults{})
	var items []validate.Item
	for i, a := range tenant.Activities {
		items = append(items, sandboxItem(a, i+2, ""))
	}
	s := &submit.Submitter{Client: sandboxClient(t, base, "rtn_sk_demo"), Concurrency: 8, Rate: rate}
	_, st, err := runItems(t, context.Background(), s, items)
	if err != nil || st.Counts[outcome.ClassOK] != n {
		t.Fatalf("%v %v", err, st.Counts)
	}
	var times []time.Time
	for _, r := range srv.Requests() {
		times = append(times, r.Time)
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	// In any window of 500 ms the bucket lets through rate·0.5 requests plus
	// its burst of 1; and requests it released up to 50 ms earlier may arrive
	// late, bunched by a busy machine.
	const window, jitter = 500 * time.Millisecond, 50 * time.Millisecond
	limit := int(rate*(window+jitter).Seconds()) + 1
	for i := range times {
		j := i
		for j < len(times) && times[j].Sub(times[i]) < window {
			j++
		}
		if j-i > limit {
			t.Fatalf("%d requests within %v from request %d; at %v/s at most %d", j-i, window, i, rate, limit)
		}
	}
}

func TestSubmitBreakerAtSandbox(t *testing.T) {
	tenant := sandbox.SyntheticTenant(100)
	for _, tc := range []struct {
		key         string
		concurrency int
		status      int
	}{
		{"rtn_sk_viewer", 1, 403},  // no SUBMIT_ACTIVITY_RESULT
		{"rtn_sk_unknown", 4, 401}, // not a key of the tenant
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			srv, base := sandboxtest.Start(t, tenant, sandbox.Faults{Latency: 5 * time.Millisecond})
			var items []validate.Item
			for i, a := range tenant.Activities {
				items = append(items, sandboxItem(a, i+2, ""))
			}
			// A slow logger widens the moment between the refusal and the
			// stop: no worker may send through it.
			s := &submit.Submitter{Client: sandboxClient(t, base, tc.key), Concurrency: tc.concurrency, Logger: slog.New(slowHandler{})}
			_, st, err := runItems(t, context.Background(), s, items)
			if e, ok := api.AsError(err); !ok || e.StatusCode != tc.status {
				t.Fatalf("Run returned %v", err)
			}
			// The first answer stops the run: at most the requests already in flight.
			if n := srv.Stats().Requests; n < 1 || n > tc.concurrency {
				t.Errorf("%d requests reached the sandbox at concurrency %d", n, tc.concurrency)
			}
			if st.Counts[outcome.ClassSkipped] < len(items)-tc.concurrency {
				t.Errorf("counts %v", st.Counts)
			}
		})
	}
}

// A server that accepts every request and never answers: once the breaker
// has seen BreakAfter requests in a row go unanswered, nothing more is sent.
// Each row costs about two timeouts (its first attempt and one retry), not
// (1 + Retries) of them; every row is skipped, in doubt, and Run says why.
func TestSubmitHangingServer(t *testing.T) {
	tenant := sandbox.SyntheticTenant(8)
	srv, base := sandboxtest.Start(t, tenant, sandbox.Faults{Hang: true})
	var items []validate.Item
	for i, a := range tenant.Activities {
		items = append(items, sandboxItem(a, i+2, ""))
	}
	const timeout = 300 * time.Millisecond
	c := sandboxClient(t, base, "rtn_sk_demo")
	c.Timeout = timeout
	s := &submit.Submitter{Client: c, Concurrency: 8, Retries: submit.DefaultRetries}
	start := time.Now()
	got, st, err := runItems(t, context.Background(), s, items)
	took := time.Since(start)
	var ue *submit.UnreachableError
	if !errors.As(err, &ue) || ue.Failures != submit.DefaultBreakAfter {
		t.Fatalf("Run returned %v, want an UnreachableError", err)
	}
	// Without the breaker: 6 attempts each, 48 requests, over 6 timeouts
	// and the backoffs between them.
	if n := srv.Stats().Requests; n > submit.DefaultBreakAfter+8 {
		t.Errorf("%d requests reached a server that never answers", n)
	}
	if took > 4*timeout+2*time.Second {
		t.Errorf("took %v at a %v timeout", took, timeout)
	}
	want := "API unreachable since " + ue.Since.Format(time.TimeOnly) + " (10 requests in a row got no answer)"
	for row, o := range got {
		if o.Class != outcome.ClassSkipped || !strings.Contains(o.Message, want) {
			t.Errorf("row %d: %s %q", row, o.Class, o.Message)
		}
	}
	if !strings.Contains(st.Stopped, want) {
		t.Errorf("Stopped = %q", st.Stopped)
	}
}

// A server that echoes the key in the id of its answers: the key is in no
// outcome and no log line.
func TestSubmitEchoedKeyIsRedacted(t *testing.T) {
	tenant := sandbox.SyntheticTenant(20)
	_, base := sandboxtest.Start(t, tenant, sandbox.Faults{EchoKey: true, FailRate: 0.3, Seed: 3})
	var items []validate.Item
	for i, a := range tenant.Activities {
		items = append(items, sandboxItem(a, i+2, ""))
	}
	var logs strings.Builder
	var mu sync.Mutex
	s := &submit.Submitter{Client: sandboxClient(t, base, "rtn_sk_demo"), Retries: 10, BaseDelay: time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	got, _, err := runItems(t, context.Background(), s, items)
	if err != nil {
		t.Fatal(err)
	}
	for row, o := range got {
		if o.Class != outcome.ClassOK || o.ResultID != "[redacted]" {
			t.Errorf("row %d: %+v", row, o)
		}
		if strings.Contains(fmt.Sprintf("%+v", o), "rtn_sk_demo") {
			t.Errorf("row %d holds the key: %+v", row, o)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "waiting before trying again") || strings.Contains(logs.String(), "rtn_sk_demo") {
		t.Errorf("the log shows nothing, or the key:\n%s", logs.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// BenchmarkSubmitSandbox measures the engine alone (no files, no reports)
// against an in-process sandbox, one row per op:
//
//	go test -run XXX -bench SubmitSandbox ./reconcile
func BenchmarkSubmitSandbox(b *testing.B) {
	tenant := sandbox.SyntheticTenant(b.N)
	_, url := sandboxtest.Start(b, tenant, sandbox.Faults{})
	c, err := api.NewClient(url, "rtn_sk_demo")
	if err != nil {
		b.Fatal(err)
	}
	items := func(yield func(validate.Item) bool) {
		for i, a := range tenant.Activities {
			if !yield(sandboxItem(a, i+2, "")) {
				return
			}
		}
	}
	s := &submit.Submitter{Client: c, Concurrency: 8}
	b.ResetTimer()
	st, err := s.Run(context.Background(), items, func(outcome.Outcome) {})
	if err != nil || st.Counts[outcome.ClassOK] != b.N {
		b.Fatalf("%v %v", err, st.Counts)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// slowHandler is a log handler that takes 20 ms per record.
type slowHandler struct{}

func (slowHandler) Enabled(context.Context, slog.Level) bool { return true }
func (slowHandler) Handle(context.Context, slog.Record) error {
	time.Sleep(20 * time.Millisecond)
	return nil
}
func (h slowHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h slowHandler) WithGroup(string) slog.Handler      { return h }
