package ledger_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/submit"
	"github.com/reten/reconcile/internal/validate"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/ledger"
	"github.com/reten/reconcile/internal/sandbox"
	"github.com/reten/reconcile/internal/sandbox/sandboxtest"
	"github.com/reten/reconcile/samples"
)

// tenantSandbox serves the demo tenant on loopback.
func tenantSandbox(t *testing.T) (*sandbox.Server, *sandbox.Tenant, *api.Client) {
	t.Helper()
	data, err := samples.FS.ReadFile("tenant.json")
	if err != nil {
		t.Fatal(err)
	}
	tenant, err := sandbox.ParseTenant(data)
	if err != nil {
		t.Fatal(err)
	}
	sb, url := sandboxtest.Start(t, tenant, sandbox.Faults{})
	c, err := api.NewClient(url, "rtn_sk_demo")
	if err != nil {
		t.Fatal(err)
	}
	return sb, tenant, c
}

// open lists the tenant's activities without a result.
func open(tenant *sandbox.Tenant) []sandbox.Activity {
	var acts []sandbox.Activity
	for _, a := range tenant.Activities {
		if !a.HasResult {
			acts = append(acts, a)
		}
	}
	return acts
}

// item is a valid row about a, read at row n of file.
func item(a sandbox.Activity, file string, n int, comment string) validate.Item {
	return validate.Item{
		Row: importer.Row{Pos: importer.Position{File: file, Row: n}, Cells: []string{a.ID}},
		Request: &api.SubmitRequest{
			ActivityID:         a.ID,
			CommerceExternalID: a.CommerceExternalID,
			OccurredAt:         "2026-04-11T10:30:00.000Z",
			Status:             api.StatusEffective,
			TaskResult:         api.TaskResult{Result: "SALE_COMPLETED", Comment: comment},
		},
	}
}

// submit runs items through a Submitter with a Run on store, and returns the
// outcomes by activity.
func send(t *testing.T, c *api.Client, store ledger.Store, run *ledger.Run, policy submit.OverridePolicy, items []validate.Item) map[string]outcome.Outcome {
	t.Helper()
	run.Store = store
	s := &submit.Submitter{Client: c, Ledger: run, Policy: policy, Retries: 0, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}
	var mu sync.Mutex
	got := map[string]outcome.Outcome{}
	if _, err := s.Run(context.Background(), slices.Values(items), func(o outcome.Outcome) {
		mu.Lock()
		defer mu.Unlock()
		got[o.Row.Cells[0]] = o
	}); err != nil && !errors.As(err, new(*submit.UnreachableError)) {
		// Unreachable: every request of a run the test made fail got no
		// answer; the rows are failed, as the test wants.
		t.Fatal(err)
	}
	if len(got) != len(items) {
		t.Fatalf("%d outcomes for %d rows", len(got), len(items))
	}
	return got
}

func stores(t *testing.T) map[string]func() ledger.Store {
	return map[string]func() ledger.Store{
		"Memory": func() ledger.Store { return &ledger.Memory{} },
		"DB": func() ledger.Store {
			db, err := ledger.Open(filepath.Join(t.TempDir(), "l.db"), ledger.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		},
	}
}

// The nightly cumulative export: day 2 repeats day 1's rows, edits one and
// adds new ones. Only the new ones are sent; the edited one is held back until
// the user lets it override.
func TestRunCumulativeExport(t *testing.T) {
	for name, newStore := range stores(t) {
		t.Run(name, func(t *testing.T) {
			sb, tenant, c := tenantSandbox(t)
			st := newStore()
			acts := open(tenant)
			var day1, day2 []validate.Item
			for i := 0; i < 3; i++ {
				day1 = append(day1, item(acts[i], "day1.csv", i+2, "first"))
				comment := "first"
				if i == 1 {
					comment = "corrected"
				}
				day2 = append(day2, item(acts[i], "day2.csv", i+2, comment))
			}
			for i := 3; i < 5; i++ {
				day2 = append(day2, item(acts[i], "day2.csv", i+2, "new"))
			}
			for k, o := range send(t, c, st, &ledger.Run{ID: "r1"}, submit.OverrideNever, day1) {
				if o.Class != outcome.ClassOK {
					t.Fatalf("day 1, %s: %+v", k, o)
				}
			}
			before := sb.Stats().Requests
			got := send(t, c, st, &ledger.Run{ID: "r2"}, submit.OverrideNever, day2)
			if sent := sb.Stats().Requests - before; sent != 2 {
				t.Errorf("day 2 sent %d requests, want 2 (the new rows)", sent)
			}
			for i, want := range []outcome.Class{outcome.ClassSkipped, outcome.ClassConflict, outcome.ClassSkipped, outcome.ClassOK, outcome.ClassOK} {
				o := got[acts[i].ID]
				if o.Class != want {
					t.Errorf("day 2 row %d: %s (%s), want %s", i+2, o.Class, o.Message, want)
				}
				if want != outcome.ClassOK && (o.Attempts != 0 || !strings.Contains(o.Message, "day1.csv, row")) {
					t.Errorf("day 2 row %d: %+v", i+2, o)
				}
			}
			if m := got[acts[1].ID].Message; !strings.Contains(m, "--hard-override") {
				t.Errorf("edited row's message %q does not say what to do", m)
			}

			got = send(t, c, st, &ledger.Run{ID: "r3"}, submit.OverrideAlways, day2)
			if o := got[acts[1].ID]; o.Class != outcome.ClassOverridden {
				t.Errorf("edited row with override: %+v", o)
			}
			if n := sb.Stats().Activities[acts[1].ID]; n.Stored != 2 || n.Overrides != 1 {
				t.Errorf("edited activity: %+v", n)
			}
			got = send(t, c, st, &ledger.Run{ID: "r4"}, submit.OverrideNever, day1)
			if o := got[acts[1].ID]; o.Class != outcome.ClassConflict || !strings.Contains(o.Message, "day2.csv") {
				t.Errorf("day 1's version after the override: %+v", o)
			}
		})
	}
}

func TestRunForce(t *testing.T) {
	sb, tenant, c := tenantSandbox(t)
	st := &ledger.Memory{}
	items := []validate.Item{item(open(tenant)[0], "in.csv", 2, "x")}
	send(t, c, st, &ledger.Run{ID: "r1"}, submit.OverrideNever, items)
	got := send(t, c, st, &ledger.Run{ID: "r2", Force: true}, submit.OverrideNever, items)
	a := open(tenant)[0].ID
	if o := got[a]; o.Class != outcome.ClassConflict || sb.Stats().Activities[a].Posts != 2 {
		t.Errorf("--force did not send the accepted row again: %+v", o)
	}
	e, _ := st.Lookup(context.Background(), a)
	if len(e.Attempts) != 2 || e.Attempts[1].Outcome.Class != "conflict" || e.Attempts[1].Run != "r2" {
		t.Errorf("the forced attempt was not recorded: %+v", e)
	}
}

// A 409 is our own result only when an earlier run sent the same payload and
// never learnt its fate.
func TestRunRecognisesOwnConflict(t *testing.T) {
	sb, tenant, c := tenantSandbox(t)
	st := &ledger.Memory{}
	ctx := context.Background()
	acts := open(tenant)
	killed, lost, other := item(acts[0], "in.csv", 2, "x"), item(acts[1], "in.csv", 3, "x"), item(acts[2], "in.csv", 4, "x")

	// A run killed with "killed" in flight: the request landed, nothing was recorded after Begin.
	dead := &ledger.Run{ID: "dead", Store: st}
	if err := dead.Begin(ctx, []submit.LedgerIntent{{Req: killed.Request, Pos: killed.Row.Pos}}); err != nil {
		t.Fatal(err)
	}
	// A run whose request for "lost" was stored but its answer lost.
	// (FailAfterStoreRate answers half 500, half a dropped connection; this
	// seed drops the first.)
	sb.SetFaults(sandbox.Faults{FailAfterStoreRate: 1, Seed: 2})
	send(t, c, st, &ledger.Run{ID: "r1"}, submit.OverrideNever, []validate.Item{lost})
	if e, _ := st.Lookup(ctx, acts[1].ID); len(e.Attempts) != 1 || !e.Attempts[0].Outcome.InDoubt || sb.Stats().Activities[acts[1].ID].Stored != 1 {
		t.Fatalf("the lost answer was not recorded in doubt: %+v", e.Attempts)
	}
	sb.SetFaults(sandbox.Faults{})
	// Everything is now stored; "other" by someone else.
	plain := &submit.Submitter{Client: c}
	if _, err := plain.Run(ctx, slices.Values([]validate.Item{killed, other}), func(outcome.Outcome) {}); err != nil {
		t.Fatal(err)
	}
	edited := item(acts[0], "in.csv", 5, "edited")
	edited.Row.Cells = []string{"edited"}

	got := send(t, c, st, &ledger.Run{ID: "r2"}, submit.OverrideNever, []validate.Item{killed, lost, other, edited})
	if o := got[acts[0].ID]; o.Class != outcome.ClassOK || o.HTTPStatus != 409 {
		t.Errorf("row in flight at the kill: %+v", o)
	}
	if o := got[acts[1].ID]; o.Class != outcome.ClassOK || o.HTTPStatus != 409 {
		t.Errorf("row whose answer was lost: %+v", o)
	}
	if o := got[acts[2].ID]; o.Class != outcome.ClassConflict {
		t.Errorf("someone else's result taken as ours: %+v", o)
	}
	if o := got["edited"]; o.Class != outcome.ClassConflict {
		t.Errorf("a different payload's 409 taken as ours: %+v", o)
	}
	before := sb.Stats().Requests
	send(t, c, st, &ledger.Run{ID: "r3"}, submit.OverrideNever, []validate.Item{killed, lost})
	if n := sb.Stats().Requests - before; n != 0 {
		t.Errorf("%d requests after the 409s were settled as ours", n)
	}
}

func TestRunRecordsWhere(t *testing.T) {
	_, tenant, c := tenantSandbox(t)
	st := &ledger.Memory{}
	it := item(open(tenant)[0], "junio.xlsx", 7, "x")
	it.Row.Pos.Sheet = "Hoja1"
	send(t, c, st, &ledger.Run{ID: "r1"}, submit.OverrideNever, []validate.Item{it})
	e, _ := st.Lookup(context.Background(), it.Request.ActivityID)
	hash, _ := ledger.PayloadHash(it.Request)
	if len(e.Attempts) != 1 {
		t.Fatalf("%+v", e)
	}
	a := e.Attempts[0]
	if a.Run != "r1" || a.File != "junio.xlsx" || a.Sheet != "Hoja1" || a.Row != 7 || a.Hash != hash ||
		a.Outcome == nil || a.Outcome.Class != "ok" || a.Outcome.Status != 201 || a.Outcome.ResultID == "" || a.Outcome.Requests != 1 {
		t.Errorf("recorded %+v / %+v", a, a.Outcome)
	}
}

// Any 5xx may come after the write: the run that got it records the row
// failed and in doubt, and the next run reads the stored result back after
// its 409. The row's own values make it ok, stored once, also under
// --hard-override always; someone else's keep it a conflict under never.
func TestRunConflictAfter5xxIsChecked(t *testing.T) {
	for _, policy := range []submit.OverridePolicy{submit.OverrideNever, submit.OverrideAlways} {
		t.Run(string(policy), func(t *testing.T) {
			sb, tenant, c := tenantSandbox(t)
			st := &ledger.Memory{}
			ctx := context.Background()
			acts := open(tenant)
			ours, theirs := item(acts[0], "in.csv", 2, "x"), item(acts[1], "in.csv", 3, "x")
			sb.SetFaults(sandbox.Faults{StoreThen500Rate: 1})
			got := send(t, c, st, &ledger.Run{ID: "r1"}, policy, []validate.Item{ours})
			sb.SetFaults(sandbox.Faults{FailRate: 1})
			for k, v := range send(t, c, st, &ledger.Run{ID: "r1"}, policy, []validate.Item{theirs}) {
				got[k] = v
			}
			for _, a := range acts[:2] {
				if o := got[a.ID]; o.Class != outcome.ClassFailed || o.HTTPStatus < 500 {
					t.Fatalf("first run: %+v", o)
				}
				if e, _ := st.Lookup(ctx, a.ID); len(e.Attempts) != 1 || e.Attempts[0].Outcome == nil || !e.Attempts[0].Outcome.InDoubt {
					t.Fatalf("a 5xx was not recorded in doubt: %+v", e.Attempts)
				}
			}
			// Someone else stores another result for the second activity.
			sb.SetFaults(sandbox.Faults{})
			other := theirs
			other.Request = &api.SubmitRequest{}
			*other.Request = *theirs.Request
			other.Request.Status, other.Request.TaskResult.Result = api.StatusNotEffective, "NOT_INTERESTED"
			if _, err := c.SubmitResult(ctx, other.Request); err != nil {
				t.Fatal(err)
			}

			got = send(t, c, st, &ledger.Run{ID: "r2"}, policy, []validate.Item{ours, theirs})
			if o := got[acts[0].ID]; o.Class != outcome.ClassOK || o.HTTPStatus != 409 || !strings.Contains(o.Message, "stored by our earlier attempt") {
				t.Errorf("second run, our result: %+v", o)
			}
			if n := sb.Stats().Activities[acts[0].ID].Stored; n != 1 {
				t.Errorf("our result stored %d times", n)
			}
			o := got[acts[1].ID]
			switch policy {
			case submit.OverrideNever:
				if o.Class != outcome.ClassConflict || !strings.Contains(o.Message, "NOT_INTERESTED") {
					t.Errorf("second run, someone else's result: %+v", o)
				}
			case submit.OverrideAlways:
				if o.Class != outcome.ClassOverridden {
					t.Errorf("second run, someone else's result under always: %+v", o)
				}
			}
		})
	}
}

// Intents are recorded ahead of their requests, in batches: a run killed
// between recording and sending leaves intents never sent. The next run sends
// each once, and it is stored once.
func TestRunKilledBetweenIntentAndSend(t *testing.T) {
	sb, tenant, c := tenantSandbox(t)
	path := filepath.Join(t.TempDir(), "l.db")
	db, err := ledger.Open(path, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	acts := open(tenant)[:5]
	var items []validate.Item
	var intents []submit.LedgerIntent
	for i, a := range acts {
		it := item(a, "in.csv", i+2, "x")
		items = append(items, it)
		intents = append(intents, submit.LedgerIntent{Req: it.Request, Pos: it.Row.Pos})
	}
	if err := (&ledger.Run{ID: "dead", Store: db}).Begin(ctx, intents); err != nil {
		t.Fatal(err)
	}
	db.Close() // the kill: nothing recorded after the intents, nothing sent
	if db, err = ledger.Open(path, ledger.Options{}); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got := send(t, c, db, &ledger.Run{ID: "r2"}, submit.OverrideNever, items)
	st := sb.Stats()
	for _, a := range acts {
		if o := got[a.ID]; o.Class != outcome.ClassOK || o.HTTPStatus != 201 || o.Attempts != 1 {
			t.Errorf("intent never sent: %+v", o)
		}
		if n := st.Activities[a.ID]; n.Posts != 1 || n.Stored != 1 {
			t.Errorf("activity %s: %d POSTs, stored %d times", a.ID, n.Posts, n.Stored)
		}
	}
}

// A run that stops (here on 401) with intents recorded but not sent finishes
// them as skipped, not in doubt: the next run sends them as new, and a 409
// for them would not be taken as ours.
func TestRunStoppedWithIntentsRecorded(t *testing.T) {
	sb, tenant, good := tenantSandbox(t)
	bad, err := api.NewClient(good.BaseURL, "rtn_sk_wrong")
	if err != nil {
		t.Fatal(err)
	}
	st := stores(t)["DB"]()
	ctx := context.Background()
	acts := open(tenant)[:20]
	var items []validate.Item
	for i, a := range acts {
		items = append(items, item(a, "in.csv", i+2, "x"))
	}
	run := &ledger.Run{ID: "r1", Store: st}
	s := &submit.Submitter{Client: bad, Ledger: run, Concurrency: 1, Retries: 0}
	if _, err := s.Run(ctx, slices.Values(items), func(outcome.Outcome) {}); err == nil {
		t.Fatal("a refused key did not stop the run")
	}
	if n := sb.Stats().Requests; n != 1 {
		t.Errorf("%d requests after a 401, want 1", n)
	}
	begun := 0
	for _, a := range acts {
		e, err := st.Lookup(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, at := range e.Attempts {
			begun++
			if at.Outcome == nil || at.Outcome.InDoubt || at.Outcome.Accepted() {
				t.Errorf("activity %s: intent left %+v", a.ID, at.Outcome)
			}
		}
	}
	if begun < 2 {
		t.Errorf("only %d intents were recorded ahead: the test shows nothing", begun)
	}
	got := send(t, good, st, &ledger.Run{ID: "r2"}, submit.OverrideNever, items)
	for _, a := range acts {
		if o := got[a.ID]; o.Class != outcome.ClassOK || o.HTTPStatus != 201 {
			t.Errorf("after the stop: %+v", o)
		}
	}
}
