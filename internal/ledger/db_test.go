package ledger

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as a child process that holds or writes a ledger,
// so that locking and crash safety are tested across real processes.
const childEnv = "LEDGER_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(child(mode, os.Getenv("LEDGER_TEST_PATH")))
	}
	os.Exit(m.Run())
}

// child opens the ledger at path, then: "hold" keeps it until stdin closes;
// "begin" records attempts, printing each sequence number once it is durable,
// until it is killed.
func child(mode, path string) int {
	if mode == "opendir" {
		// The message a run gets, as whatever user this process runs as.
		db, err := OpenDir(path, "http://127.0.0.1:1", Options{Run: "child-run"})
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		db.Close()
		fmt.Println("opened")
		return 0
	}
	db, err := Open(path, Options{BaseURL: "http://127.0.0.1:1", Run: "child-run"})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	switch mode {
	case "hold":
		fmt.Println("ready")
		io.Copy(io.Discard, os.Stdin)
	case "begin":
		ctx := context.Background()
		for i := 0; i < 100000; i++ {
			act := fmt.Sprintf("act-%05d", i)
			tk, err := db.Begin(ctx, Attempt{Activity: act, Hash: "h", Run: "child-run", File: "f.csv", Row: i + 2})
			if err != nil {
				fmt.Println("error:", err)
				return 1
			}
			fmt.Println("begun", act)
			if i%2 == 0 {
				if err := db.Finish(ctx, tk, Outcome{Class: "ok", Status: 201}); err != nil {
					fmt.Println("error:", err)
					return 1
				}
				fmt.Println("finished", act)
			}
		}
	}
	db.Close()
	return 0
}

func startChild(t *testing.T, mode, path string) (*exec.Cmd, *bufio.Scanner, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, "LEDGER_TEST_PATH="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, bufio.NewScanner(stdout), stdin
}

func openTemp(t *testing.T, opts Options) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state", "ledger.db")
	db, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func TestDBReopenKeepsEverything(t *testing.T) {
	ctx := context.Background()
	db, path := openTemp(t, Options{BaseURL: "https://api.reten.ai"})
	tk, err := db.Begin(ctx, Attempt{Activity: "A1", Hash: "h1", Run: "r1", File: "d1.xlsx", Sheet: "Hoja1", Row: 5, Override: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Finish(ctx, tk, Outcome{Class: "overridden", Status: 201, ResultID: "res-9", Message: "m"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Begin(ctx, Attempt{Activity: "A2", Hash: "h2", Run: "r1", File: "d1.xlsx", Row: 6}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Lookup(ctx, "A1"); !errors.Is(err, ErrClosed) {
		t.Errorf("Lookup after Close: %v", err)
	}
	if _, err := db.Begin(ctx, Attempt{Activity: "A3", Hash: "h"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Begin after Close: %v", err)
	}
	if _, err := os.Stat(path + ".holder"); !os.IsNotExist(err) {
		t.Errorf("holder file left after Close: %v", err)
	}

	db2, err := Open(path, Options{BaseURL: "https://API.reten.ai/"})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	e, _ := db2.Lookup(ctx, "A1")
	if len(e.Attempts) != 1 {
		t.Fatalf("A1 after reopen: %+v", e)
	}
	a := e.Attempts[0]
	if a.Sheet != "Hoja1" || a.Row != 5 || !a.Override || a.Outcome.Class != "overridden" || a.Outcome.ResultID != "res-9" || a.Outcome.Status != 201 {
		t.Errorf("A1 after reopen: %+v / %+v", a, a.Outcome)
	}
	e, _ = db2.Lookup(ctx, "A2")
	if len(e.Attempts) != 1 || e.Attempts[0].Outcome != nil || e.Unsettled("h2", "r2", "") == nil {
		t.Errorf("A2 after reopen should be in flight: %+v", e)
	}
	tk3, err := db2.Begin(ctx, Attempt{Activity: "A3", Hash: "h", Run: "r2"})
	if err != nil || tk3.Seq <= tk.Seq {
		t.Errorf("sequence after reopen: %d (before %d), %v", tk3.Seq, tk.Seq, err)
	}
}

func TestDBRefusesOtherTenant(t *testing.T) {
	db, path := openTemp(t, Options{BaseURL: "https://api.reten.ai"})
	db.Close()
	_, err := Open(path, Options{BaseURL: "https://api-staging.reten.ai"})
	if err == nil || !strings.Contains(err.Error(), "belongs to https://api.reten.ai") {
		t.Fatalf("opening production's ledger for staging: %v", err)
	}
}

func TestDBLockInProcess(t *testing.T) {
	_, path := openTemp(t, Options{Run: "run-one"})
	start := time.Now()
	_, err := Open(path, Options{LockWait: 50 * time.Millisecond})
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second Open: %v, want *LockedError", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("second Open waited %v", time.Since(start))
	}
	if le.Holder == nil || le.Holder.PID != os.Getpid() || le.Holder.Run != "run-one" {
		t.Fatalf("holder %+v", le.Holder)
	}
	msg := le.Error()
	for _, want := range []string{filepath.Dir(path), "pid " + strconv.Itoa(os.Getpid()), "run-one", "started "} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not name %q", msg, want)
		}
	}
}

func TestDBLockAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	cmd, out, stdin := startChild(t, "hold", path)
	if !out.Scan() || out.Text() != "ready" {
		t.Fatalf("child: %q", out.Text())
	}
	_, err := Open(path, Options{})
	var le *LockedError
	if !errors.As(err, &le) || le.Holder == nil || le.Holder.PID != cmd.Process.Pid {
		t.Fatalf("Open while a child holds the ledger: %v (holder %+v), want the child's pid %d", err, le, cmd.Process.Pid)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open after the child let go: %v", err)
	}
	db.Close()
}

// TestDBKilledWriterLosesNothing kills a writer with SIGKILL and checks that
// everything it reported durable is on disk, and that the lock died with it.
func TestDBKilledWriterLosesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	cmd, out, _ := startChild(t, "begin", path)
	begun, finished := map[string]bool{}, map[string]bool{}
	for out.Scan() && len(begun) < 60 {
		f := strings.Fields(out.Text())
		switch {
		case len(f) == 2 && f[0] == "begun":
			begun[f[1]] = true
		case len(f) == 2 && f[0] == "finished":
			finished[f[1]] = true
		default:
			t.Fatalf("child: %q", out.Text())
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	db, err := Open(path, Options{BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatalf("Open after the holder was killed: %v", err)
	}
	defer db.Close()
	ctx := context.Background()
	for act := range begun {
		e, err := db.Lookup(ctx, act)
		if err != nil || len(e.Attempts) != 1 {
			t.Fatalf("%s was reported begun but is not on disk: %+v, %v", act, e, err)
		}
		if finished[act] && !e.Attempts[0].Outcome.Accepted() {
			t.Errorf("%s was reported finished but its outcome is not on disk", act)
		}
	}
}

// Attempts go to the log first and are folded into activities in bulk: what
// Lookup returns must not depend on where a record is, before or after a
// fold, a Close or a crash.
func TestDBLogFold(t *testing.T) {
	defer func(n int) { foldAt = n }(foldAt)
	foldAt = 50
	ctx := context.Background()
	db, path := openTemp(t, Options{})
	var all []Ticket
	for round := range 4 {
		var as []Attempt
		for i := range 40 {
			as = append(as, Attempt{Activity: fmt.Sprintf("act-%03d", i), Hash: "h" + strconv.Itoa(round), Run: "r", File: "f.csv", Row: i + 2})
		}
		ts, err := db.BeginAll(ctx, as)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ts...)
		var fs []Finished
		for i, tk := range ts {
			if round < 3 || i%2 == 0 { // the last round leaves half in flight
				fs = append(fs, Finished{Ticket: tk, Outcome: Outcome{Class: "failed", Status: 500, InDoubt: true}})
			}
		}
		if err := db.FinishAll(ctx, fs); err != nil {
			t.Fatal(err)
		}
	}
	db.folds.Wait() // folds run beside the writers
	db.logMu.Lock()
	inLog := len(db.logged)
	db.logMu.Unlock()
	if inLog == 0 || inLog >= len(all) {
		t.Fatalf("%d of %d attempts in the log: the test folds nothing, or everything", inLog, len(all))
	}
	check := func(db *DB, when string) {
		t.Helper()
		// LookupAll reads the same as Lookup, one by one, in one transaction.
		keys := []string{"never-sent"}
		for i := range 40 {
			keys = append(keys, fmt.Sprintf("act-%03d", i))
		}
		es, err := db.LookupAll(ctx, keys)
		if err != nil || len(es) != len(keys) {
			t.Fatalf("%s: LookupAll: %d entries, %v", when, len(es), err)
		}
		for i, k := range keys {
			e, err := db.Lookup(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(es[i], e) || e.Activity != k {
				t.Errorf("%s: LookupAll gives %s as %+v, Lookup as %+v", when, k, es[i], e)
			}
		}
		if len(es[0].Attempts) != 0 {
			t.Errorf("%s: an activity never sent has attempts: %+v", when, es[0])
		}
		for i := range 40 {
			e, err := db.Lookup(ctx, fmt.Sprintf("act-%03d", i))
			if err != nil {
				t.Fatal(err)
			}
			if len(e.Attempts) != 4 {
				t.Fatalf("%s: act-%03d has %d attempts, want 4", when, i, len(e.Attempts))
			}
			for r, a := range e.Attempts {
				open := r == 3 && i%2 == 1
				if a.Hash != "h"+strconv.Itoa(r) || (a.Outcome == nil) != open || (r > 0 && a.Seq <= e.Attempts[r-1].Seq) {
					t.Errorf("%s: act-%03d attempt %d: %+v", when, i, r, a)
				}
			}
		}
	}
	check(db, "running")
	// A crash: the file as it is, without Close's fold.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	crashed := filepath.Join(t.TempDir(), "crashed.db")
	if err := os.WriteFile(crashed, data, 0o600); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, p := range []string{path, crashed} {
		db2, err := Open(p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		check(db2, "reopened "+filepath.Base(p))
		db2.Close()
	}
}
