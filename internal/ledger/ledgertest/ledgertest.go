// Package ledgertest checks that a ledger.Store keeps the rules that every
// store shares: one table of behaviours, run against each implementation
// (the bbolt file, memory, PostgreSQL). Behaviours of stores that several
// workers share (claims) run only for those.
package ledgertest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/ledger"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/submit"
)

// Stores makes the stores of one implementation for the tests.
type Stores struct {
	// New returns a new, empty store (for a shared store, its first
	// worker), closed when the test ends.
	New func(t *testing.T) ledger.Store
	// Join returns another worker on the ledger that worker s uses, as
	// another process would open it, closed when the test ends. Nil for a
	// store that is not ledger.Shared: the claim behaviours are skipped.
	Join func(t *testing.T, s ledger.Store) ledger.Store
	// Kill makes worker s die as a process killed with SIGKILL would:
	// nothing released, nothing closed cleanly. Set with Join.
	Kill func(t *testing.T, s ledger.Store)
}

// Test runs every behaviour against the stores.
func Test(t *testing.T, st Stores) {
	for _, b := range behaviours {
		t.Run(b.name, func(t *testing.T) {
			if b.shared && st.Join == nil {
				t.Skip("not a store that workers share")
			}
			b.test(t, st)
		})
	}
}

var behaviours = []struct {
	name   string
	shared bool // only for stores that several workers share
	test   func(*testing.T, Stores)
}{
	{"begin, finish and lookup", false, beginFinishLookup},
	{"concurrent writers, bad writes among good", false, concurrentWriters},
	{"lookup all keeps the order asked", false, lookupAllOrder},
	{"begin all records all or none", false, beginAllOrNone},
	{"an attempt killed in flight makes the next run's 409 ours", false, killedInFlightIsOurs},
	{"an outcome in doubt is ours, a settled failure is not", false, inDoubtIsOurs},
	{"the run's own attempt does not vouch for itself", false, ownRunDoesNotVouch},
	{"duplicate and changed verdicts through Run", false, verdictsThroughRun},
	{"a final refusal of the same request is decided", false, decidedRefusals},
	{"a decided request sent again is open again", false, decidedThenResent},
	{"a live worker's claim is refused to another", true, claimRefused},
	{"finish releases the claim", true, finishReleases},
	{"an activity finished since the check is refused", true, finishedSinceCheck},
	{"a killed worker's claim is taken over, its attempt in doubt", true, killedTakenOver},
	{"workers racing for one batch: each activity begun once", true, racingWorkers},
}

var ctx = context.Background()

func beginFinishLookup(t *testing.T, st Stores) {
	s := st.New(t)
	e, err := s.Lookup(ctx, "A1")
	if err != nil || len(e.Attempts) != 0 || e.Activity != "A1" {
		t.Fatalf("unknown activity: %+v, %v", e, err)
	}
	t1, err := s.Begin(ctx, ledger.Attempt{Activity: "A1", Hash: "h1", Run: "r1", File: "d1.csv", Row: 2})
	if err != nil || t1.Refused != "" {
		t.Fatal(err, t1.Refused)
	}
	e, _ = s.Lookup(ctx, "A1")
	if len(e.Attempts) != 1 || e.Attempts[0].Outcome != nil || e.Attempts[0].Started.IsZero() || e.Attempts[0].Seq != t1.Seq {
		t.Fatalf("after Begin: %+v", e)
	}
	if v, _ := e.Check("h1", false); v != ledger.Send {
		t.Fatalf("an attempt in flight counts as accepted")
	}
	if err := s.Finish(ctx, t1, ledger.Outcome{Class: "ok", Status: 201, ResultID: "res-1"}); err != nil {
		t.Fatal(err)
	}
	t2, err := s.Begin(ctx, ledger.Attempt{Activity: "A1", Hash: "h2", Run: "r2", File: "d2.csv", Sheet: "Hoja1", Row: 3, Override: true})
	if err != nil {
		t.Fatal(err)
	}
	if t2.Seq <= t1.Seq {
		t.Fatalf("sequence went from %d to %d", t1.Seq, t2.Seq)
	}
	e, _ = s.Lookup(ctx, "A1")
	v, acc := e.Check("h2", false)
	if v != ledger.Changed || acc == nil || acc.Outcome.ResultID != "res-1" || acc.Outcome.Status != 201 || acc.File != "d1.csv" || acc.Outcome.Finished.IsZero() {
		t.Fatalf("verdict %d on %+v", v, acc)
	}
	if a := e.Attempts[1]; a.Sheet != "Hoja1" || a.Row != 3 || !a.Override || a.Run != "r2" {
		t.Fatalf("second attempt recorded as %+v", a)
	}
	if err := s.Finish(ctx, ledger.Ticket{Activity: "A1", Seq: 1 << 40}, ledger.Outcome{Class: "ok"}); err == nil {
		t.Fatal("Finish of an unknown attempt succeeded")
	}
	if err := s.Finish(ctx, ledger.Ticket{Activity: "nope", Seq: t1.Seq}, ledger.Outcome{Class: "ok"}); err == nil {
		t.Fatal("Finish of an unknown activity succeeded")
	}
	if err := s.Finish(ctx, t2, ledger.Outcome{}); err == nil {
		t.Fatal("Finish without a class succeeded")
	}
	if _, err := s.Begin(ctx, ledger.Attempt{Hash: "h"}); err == nil {
		t.Fatal("Begin without an activity succeeded")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Begin(cctx, ledger.Attempt{Activity: "A2", Hash: "h"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Begin after cancel: %v; no request may start once the run stops", err)
	}
	if err := s.Finish(cctx, t2, ledger.Outcome{Class: "failed", Status: 503, Message: "m", Requests: 3}); err != nil {
		t.Fatalf("Finish after cancel: %v; an answer received must be kept", err)
	}
	e, _ = s.Lookup(ctx, "A1")
	if o := e.Attempts[1].Outcome; o == nil || o.Class != "failed" || o.Status != 503 || o.Message != "m" || o.Requests != 3 || o.InDoubt {
		t.Fatalf("outcome recorded as %+v", o)
	}
}

func concurrentWriters(t *testing.T, st Stores) {
	s := st.New(t)
	const workers, per = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers*per)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				act := fmt.Sprintf("w%d-%d", w, i)
				tk, err := s.Begin(ctx, ledger.Attempt{Activity: act, Hash: "h", Run: "r", File: "f.csv", Row: i})
				if err == nil {
					err = s.Finish(ctx, tk, ledger.Outcome{Class: "ok", Status: 201})
				}
				if err == nil && i%5 == 0 {
					// a bad write among good ones must fail alone
					if s.Finish(ctx, ledger.Ticket{Activity: act, Seq: 1 << 60}, ledger.Outcome{Class: "ok"}) == nil {
						err = fmt.Errorf("%s: bad Finish succeeded", act)
					}
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	seqs := map[uint64]bool{}
	for w := 0; w < workers; w++ {
		for i := 0; i < per; i++ {
			e, err := s.Lookup(ctx, fmt.Sprintf("w%d-%d", w, i))
			if err != nil || len(e.Attempts) != 1 || !e.Attempts[0].Outcome.Accepted() {
				t.Fatalf("w%d-%d: %+v, %v", w, i, e, err)
			}
			if seqs[e.Attempts[0].Seq] {
				t.Fatalf("sequence %d given twice", e.Attempts[0].Seq)
			}
			seqs[e.Attempts[0].Seq] = true
		}
	}
}

func lookupAllOrder(t *testing.T, st Stores) {
	s := st.New(t)
	ts, err := s.BeginAll(ctx, []ledger.Attempt{
		{Activity: "B", Hash: "hb", Run: "r", File: "f.csv", Row: 2},
		{Activity: "A", Hash: "ha", Run: "r", File: "f.csv", Row: 3},
	})
	if err != nil || len(ts) != 2 || ts[0].Activity != "B" || ts[1].Activity != "A" || ts[1].Seq <= ts[0].Seq {
		t.Fatalf("BeginAll: %+v, %v", ts, err)
	}
	es, err := s.LookupAll(ctx, []string{"A", "never", "B", "A"})
	if err != nil || len(es) != 4 {
		t.Fatalf("LookupAll: %+v, %v", es, err)
	}
	for i, want := range []struct{ act, hash string }{{"A", "ha"}, {"never", ""}, {"B", "hb"}, {"A", "ha"}} {
		e := es[i]
		if e.Activity != want.act || (want.hash == "") != (len(e.Attempts) == 0) || (want.hash != "" && e.Attempts[0].Hash != want.hash) {
			t.Errorf("entry %d: %+v, want %s", i, e, want.act)
		}
	}
}

func beginAllOrNone(t *testing.T, st Stores) {
	s := st.New(t)
	_, err := s.BeginAll(ctx, []ledger.Attempt{
		{Activity: "A", Hash: "h", Run: "r", File: "f.csv", Row: 2},
		{Activity: "B", Run: "r", File: "f.csv", Row: 3}, // no hash
	})
	if err == nil {
		t.Fatal("BeginAll with an attempt without a hash succeeded")
	}
	if e, _ := s.Lookup(ctx, "A"); len(e.Attempts) != 0 {
		t.Fatalf("BeginAll that failed recorded %+v", e)
	}
}

// request is a request for activity act; comment changes its payload.
func request(act, comment string) *api.SubmitRequest {
	return &api.SubmitRequest{
		ActivityID:         act,
		CommerceExternalID: "C-1",
		OccurredAt:         "2026-04-11T10:30:00.000Z",
		Status:             api.StatusEffective,
		TaskResult:         api.TaskResult{Result: "SALE_COMPLETED", Comment: comment},
	}
}

func intent(req *api.SubmitRequest, row int, c submit.LedgerCheck) submit.LedgerIntent {
	return submit.LedgerIntent{Req: req, Pos: importer.Position{File: "in.csv", Row: row}, Digest: c.Digest}
}

// check is r.CheckAll of reqs, failing the test on error.
func check(t *testing.T, r *ledger.Run, reqs ...*api.SubmitRequest) []submit.LedgerCheck {
	t.Helper()
	cs, err := r.CheckAll(ctx, reqs)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// begin checks reqs and begins them in r, as the submitter does.
func begin(t *testing.T, r *ledger.Run, reqs ...*api.SubmitRequest) []submit.LedgerIntent {
	t.Helper()
	cs := check(t, r, reqs...)
	ins := make([]submit.LedgerIntent, len(reqs))
	for i, req := range reqs {
		ins[i] = intent(req, i+2, cs[i])
	}
	if err := r.Begin(ctx, ins); err != nil {
		t.Fatal(err)
	}
	return ins
}

func finish(t *testing.T, r *ledger.Run, req *api.SubmitRequest, class string, inDoubt bool) {
	t.Helper()
	o := submitOutcome(req, class)
	if err := r.Finish(ctx, []submit.LedgerDone{{Req: req, Outcome: o, InDoubt: inDoubt}}); err != nil {
		t.Fatal(err)
	}
}

func killedInFlightIsOurs(t *testing.T, st Stores) {
	s := st.New(t)
	req := request("A1", "x")
	begin(t, &ledger.Run{Store: s, ID: "dead"}, req)
	c := check(t, &ledger.Run{Store: s, ID: "r2"}, req)[0]
	if c.Verdict != submit.LedgerSend || !c.Own {
		t.Fatalf("after a run killed in flight: %+v, want Send and Own", c)
	}
	if c := check(t, &ledger.Run{Store: s, ID: "r2"}, request("A1", "edited"))[0]; c.Own {
		t.Fatalf("another payload taken as ours: %+v", c)
	}
}

func inDoubtIsOurs(t *testing.T, st Stores) {
	s := st.New(t)
	doubt, settled := request("A1", "x"), request("A2", "x")
	r1 := &ledger.Run{Store: s, ID: "r1"}
	begin(t, r1, doubt, settled)
	finish(t, r1, doubt, "failed", true)
	finish(t, r1, settled, "failed", false)
	cs := check(t, &ledger.Run{Store: s, ID: "r2"}, doubt, settled)
	if cs[0].Verdict != submit.LedgerSend || !cs[0].Own {
		t.Errorf("after an outcome in doubt: %+v, want Send and Own", cs[0])
	}
	if cs[1].Verdict != submit.LedgerSend || cs[1].Own {
		t.Errorf("after a settled failure: %+v, want Send, not Own", cs[1])
	}
}

func ownRunDoesNotVouch(t *testing.T, st Stores) {
	s := st.New(t)
	req := request("A1", "x")
	r := &ledger.Run{Store: s, ID: "r1"}
	begin(t, r, req)
	if c := check(t, r, req)[0]; c.Own {
		t.Fatalf("the run's own attempt in flight vouches for its 409: %+v", c)
	}
}

func verdictsThroughRun(t *testing.T, st Stores) {
	s := st.New(t)
	req := request("A1", "first")
	r1 := &ledger.Run{Store: s, ID: "r1"}
	begin(t, r1, req)
	finish(t, r1, req, "ok", false)
	r2 := &ledger.Run{Store: s, ID: "r2"}
	cs := check(t, r2, request("A1", "first"), request("A1", "corrected"), request("A2", "new"))
	if cs[0].Verdict != submit.LedgerDuplicate || !strings.Contains(cs[0].Message, "in.csv, row 2") || !strings.Contains(cs[0].Message, "run r1") {
		t.Errorf("same payload again: %+v", cs[0])
	}
	if cs[1].Verdict != submit.LedgerChanged || !strings.Contains(cs[1].Message, "--hard-override") {
		t.Errorf("changed payload: %+v", cs[1])
	}
	if cs[2].Verdict != submit.LedgerSend || cs[2].Own {
		t.Errorf("new activity: %+v", cs[2])
	}
	forced := check(t, &ledger.Run{Store: s, ID: "r3", Force: true}, request("A1", "first"))[0]
	if forced.Verdict != submit.LedgerSend {
		t.Errorf("--force: %+v", forced)
	}
	// An override that is accepted becomes the result to compare with.
	over := request("A1", "corrected")
	over.HardOverride = true
	begin(t, r2, over)
	finish(t, r2, over, "overridden", false)
	cs = check(t, &ledger.Run{Store: s, ID: "r4"}, request("A1", "corrected"), request("A1", "first"))
	if cs[0].Verdict != submit.LedgerDuplicate || cs[1].Verdict != submit.LedgerChanged {
		t.Errorf("after the override: %+v", cs)
	}
}

func claimRefused(t *testing.T, st Stores) {
	w1 := st.New(t)
	w2 := st.Join(t, w1)
	r1, r2 := &ledger.Run{Store: w1, ID: "run"}, &ledger.Run{Store: w2, ID: "run"}
	a, b := request("A", "x"), request("B", "x")
	begin(t, r1, a)
	ins := begin(t, r2, a, b)
	if msg := ins[0].Refused; !strings.Contains(msg, "being sent by worker "+w1.(ledger.Shared).Worker()) || !strings.Contains(msg, "pid ") || !strings.Contains(msg, " since ") {
		t.Errorf("activity held by another worker: refused %q", msg)
	}
	if ins[1].Refused != "" {
		t.Errorf("free activity refused: %q", ins[1].Refused)
	}
	finish(t, r2, b, "ok", false)
	if err := r2.Finish(ctx, []submit.LedgerDone{{Req: a, Outcome: submitOutcome(a, "ok")}}); err == nil {
		t.Error("a refused intent could be finished")
	}
	e, _ := w1.Lookup(ctx, "A")
	if len(e.Attempts) != 1 || e.Attempts[0].Worker != w1.(ledger.Shared).Worker() {
		t.Errorf("the refused attempt was recorded: %+v", e.Attempts)
	}
}

func finishReleases(t *testing.T, st Stores) {
	w1 := st.New(t)
	w2 := st.Join(t, w1)
	r1, r2 := &ledger.Run{Store: w1, ID: "run"}, &ledger.Run{Store: w2, ID: "run2"}
	a := request("A", "x")
	begin(t, r1, a)
	finish(t, r1, a, "failed", false)
	if ins := begin(t, r2, a); ins[0].Refused != "" {
		t.Fatalf("activity finished (failed) by another worker, checked since, refused: %q", ins[0].Refused)
	}
}

func finishedSinceCheck(t *testing.T, st Stores) {
	w1 := st.New(t)
	w2 := st.Join(t, w1)
	r1, r2 := &ledger.Run{Store: w1, ID: "run"}, &ledger.Run{Store: w2, ID: "run"}
	a, b := request("A", "x"), request("B", "x")
	// Worker 2 checks both; worker 1 then sends A and finishes it.
	cs := check(t, r2, a, b)
	begin(t, r1, a)
	finish(t, r1, a, "ok", false)
	ins := []submit.LedgerIntent{intent(a, 2, cs[0]), intent(b, 3, cs[1])}
	if err := r2.Begin(ctx, ins); err != nil {
		t.Fatal(err)
	}
	if msg := ins[0].Refused; !strings.Contains(msg, "sent meanwhile by worker "+w1.(ledger.Shared).Worker()) || !strings.Contains(msg, "ended ok") {
		t.Errorf("activity finished since the check: refused %q", msg)
	}
	if ins[1].Refused != "" {
		t.Errorf("B refused: %q", ins[1].Refused)
	}
	// Its claim was given back: checked again, it is a duplicate, and a
	// third worker may claim it.
	if c := check(t, r2, a)[0]; c.Verdict != submit.LedgerDuplicate {
		t.Errorf("checked again: %+v", c)
	}
	w3 := st.Join(t, w1)
	if ins := begin(t, &ledger.Run{Store: w3, ID: "run", Force: true}, a); ins[0].Refused != "" {
		t.Errorf("the refused activity's claim was kept: %q", ins[0].Refused)
	}
}

func killedTakenOver(t *testing.T, st Stores) {
	w1 := st.New(t)
	w2 := st.Join(t, w1)
	r1, r2 := &ledger.Run{Store: w1, ID: "run"}, &ledger.Run{Store: w2, ID: "run"}
	a := request("A", "x")
	begin(t, r1, a)
	st.Kill(t, w1)
	c := check(t, r2, a)[0]
	if c.Verdict != submit.LedgerSend || !c.Own {
		t.Fatalf("after worker 1 died with A in flight: %+v, want Send and Own (a 409 is ours)", c)
	}
	ins := []submit.LedgerIntent{intent(a, 2, c)}
	if err := r2.Begin(ctx, ins); err != nil {
		t.Fatal(err)
	}
	if ins[0].Refused != "" {
		t.Fatalf("a dead worker's claim was not taken over: %q", ins[0].Refused)
	}
	finish(t, r2, a, "ok", false)
	e, _ := w2.Lookup(ctx, "A")
	if len(e.Attempts) != 2 || e.Attempts[0].Outcome != nil || e.Attempts[1].Outcome.Class != "ok" {
		t.Fatalf("attempts after the take-over: %+v", e.Attempts)
	}
}

func racingWorkers(t *testing.T, st Stores) {
	w1 := st.New(t)
	workers := []ledger.Store{w1, st.Join(t, w1), st.Join(t, w1)}
	const n = 300
	var wg sync.WaitGroup
	begun := make([][]ledger.Ticket, len(workers))
	errs := make([]error, len(workers))
	for i, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			order := rand.Perm(n)
			for chunk := 0; chunk < n; chunk += 50 {
				var as []ledger.Attempt
				for _, k := range order[chunk : chunk+50] {
					as = append(as, ledger.Attempt{Activity: fmt.Sprintf("act-%03d", k), Hash: "h", Run: "run", File: "f.csv", Row: k + 2})
				}
				ts, err := w.BeginAll(ctx, as)
				if err != nil {
					errs[i] = err
					return
				}
				begun[i] = append(begun[i], ts...)
			}
		}()
	}
	wg.Wait()
	recorded := map[string]int{}
	for i := range workers {
		if errs[i] != nil {
			t.Fatalf("worker %d: %v", i, errs[i])
		}
		for _, tk := range begun[i] {
			if tk.Refused == "" {
				recorded[tk.Activity]++
			}
		}
	}
	for k := 0; k < n; k++ {
		act := fmt.Sprintf("act-%03d", k)
		e, err := w1.Lookup(ctx, act)
		if err != nil {
			t.Fatal(err)
		}
		if recorded[act] != 1 || len(e.Attempts) != 1 {
			t.Errorf("%s: begun %d times, %d attempts recorded; want once", act, recorded[act], len(e.Attempts))
		}
	}
}

// submitOutcome is the submitter's outcome of class for req.
func submitOutcome(req *api.SubmitRequest, class string) outcome.Outcome {
	o := outcome.Outcome{Class: outcome.Class(class), Attempts: 1}
	if class == "ok" || class == "overridden" {
		o.HTTPStatus, o.ResultID = 201, "res-"+req.ActivityKey()
	}
	return o
}
