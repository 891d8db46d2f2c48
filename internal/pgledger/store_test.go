package pgledger

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/time/rate"

	"github.com/reten/reconcile/internal/ledger"
	"github.com/reten/reconcile/internal/ledger/ledgertest"
	"github.com/reten/reconcile/internal/pgledger/pgtest"
)

// envURL names the variable giving the test database; .ci/run sets it.
const envURL = pgtest.EnvURL

var ctx = context.Background()

func testURL(t testing.TB) string { t.Helper(); return pgtest.URL(t) }

func openStore(t *testing.T, url string, opts Options) *Store {
	t.Helper()
	s, err := Open(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// kill stops worker s as SIGKILL would: nothing released, its connections
// dropped. It returns once the server has seen the session end, as it does
// within moments of a process dying.
func kill(t *testing.T, s *Store) {
	t.Helper()
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.stopHeartbeat()
		pid := s.lock.PgConn().PID()
		s.lock.PgConn().Close(ctx)
		s.pool.Close()
		waitSessionGone(t, pid)
	})
}

// waitSessionGone waits until the server's backend pid has exited and its
// locks are released.
func waitSessionGone(t *testing.T, pid uint32) {
	t.Helper()
	conn, err := pgx.Connect(ctx, os.Getenv(envURL))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for deadline := time.Now().Add(10 * time.Second); ; {
		var n int
		if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_stat_activity WHERE pid = $1) + (SELECT count(*) FROM pg_locks WHERE pid = $1)`, int32(pid)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the session of backend %d did not end", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStoreContract(t *testing.T) {
	urls := map[ledger.Store]string{}
	var mu sync.Mutex
	open := func(t *testing.T, url string) ledger.Store {
		s := openStore(t, url, Options{Run: "run", BaseURL: "https://api.reten.ai"})
		mu.Lock()
		urls[s] = url
		mu.Unlock()
		return s
	}
	ledgertest.Test(t, ledgertest.Stores{
		New: func(t *testing.T) ledger.Store { return open(t, testURL(t)) },
		Join: func(t *testing.T, s ledger.Store) ledger.Store {
			mu.Lock()
			url := urls[s]
			mu.Unlock()
			return open(t, url)
		},
		Kill: func(t *testing.T, s ledger.Store) { kill(t, s.(*Store)) },
	})
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://ana:s3cr3t@db1:5432/ledger", "postgres://ana:***@db1:5432/ledger"},
		{"postgresql://ana:p%40ss%2Fw@db1/ledger?sslmode=require", "postgresql://ana:***@db1/ledger?sslmode=require"},
		{"postgres://ana@db1/ledger", "postgres://ana@db1/ledger"},
		{"postgres://db1/ledger?user=ana&password=s3cr3t&sslmode=disable", "postgres://db1/ledger?user=ana&password=***&sslmode=disable"},
		{"postgres://ana:s3c ret@db1/ledger%zz", "postgres://ana:***@db1/ledger%zz"}, // net/url refuses it
		{"host=db1 user=ana password=s3cr3t dbname=ledger", "host=db1 user=ana password=*** dbname=ledger"},
		{"host=db1 password = 's3 cr\\'et' dbname=ledger", "host=db1 password = *** dbname=ledger"},
		{"host=db1 PASSWORD=s3cr3t", "host=db1 PASSWORD=***"},
		{"host=db1 dbname=ledger", "host=db1 dbname=ledger"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestOpenUnreachable(t *testing.T) {
	// Port 1 on loopback: nothing listens there.
	for _, dsn := range []string{
		"postgres://ana:s3cr3t@127.0.0.1:1/ledger?connect_timeout=5",
		"host=127.0.0.1 port=1 user=ana password=s3cr3t dbname=ledger connect_timeout=5",
	} {
		s, err := Open(ctx, dsn, Options{})
		if err == nil {
			s.Close()
			t.Fatalf("Open of %s succeeded", dsn)
		}
		var ue *UnreachableError
		if !errors.As(err, &ue) {
			t.Fatalf("Open of %s: %T %v, want *UnreachableError", dsn, err, err)
		}
		msg := err.Error()
		if strings.Contains(msg, "s3cr3t") || !strings.Contains(msg, "***") || !strings.Contains(msg, "nothing was sent") {
			t.Errorf("message %q: the password shows, or the URL is missing, or it does not say nothing was sent", msg)
		}
	}
	for _, dsn := range []string{"postgres://ana:s3cr3t@db1:notaport/ledger", "host=db1 password=s3cr3t port=notaport"} {
		_, err := Open(ctx, dsn, Options{})
		if err == nil || strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), "not valid") {
			t.Errorf("Open of a malformed URL: %v", err)
		}
	}
}

func TestMigrate(t *testing.T) {
	url := testURL(t)
	// Four workers starting at once on an empty database: one migrates,
	// none fails.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(ctx, url, Options{})
			if err == nil {
				err = s.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	m, err := Migrate(ctx, url)
	if err != nil || m.From != SchemaVersion || m.To != SchemaVersion {
		t.Fatalf("Migrate of a current schema: %+v, %v", m, err)
	}
	st, err := ReadStatus(ctx, url, 10)
	if err != nil || st.Version != SchemaVersion {
		t.Fatalf("status: %+v, %v", st, err)
	}
}

func TestMigrateStepsAndRefusesNewer(t *testing.T) {
	url := testURL(t)
	pool, err := connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	files := fstest.MapFS{
		"migrations/001_a.sql": {Data: []byte("CREATE TABLE a (x int);")},
		"migrations/002_b.sql": {Data: []byte("ALTER TABLE a ADD COLUMN y int; CREATE TABLE b (z int);")},
	}
	two := mustMigrations(files)
	files["migrations/003_c.sql"] = &fstest.MapFile{Data: []byte("ALTER TABLE b ADD COLUMN w int;")}
	three := mustMigrations(files)

	if m, err := migrate(ctx, pool, two, url); err != nil || m != (Migration{0, 2}) {
		t.Fatalf("first migration: %+v, %v", m, err)
	}
	if m, err := migrate(ctx, pool, three, url); err != nil || m != (Migration{2, 3}) {
		t.Fatalf("from 2 to 3: %+v, %v", m, err)
	}
	if _, err := pool.Exec(ctx, "INSERT INTO b (z, w) VALUES (1, 2)"); err != nil {
		t.Fatalf("the third migration's column: %v", err)
	}
	_, err = migrate(ctx, pool, two, url)
	var tooNew *SchemaTooNewError
	if !errors.As(err, &tooNew) || err.Error() != "the ledger schema is version 3, this reconcile knows up to 2: upgrade reconcile" {
		t.Fatalf("a binary that knows 2 on a schema of 3: %v", err)
	}

	// A migration that fails leaves the schema as it was.
	files["migrations/004_bad.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE c (v int); SELECT nonsense FROM nowhere;")}
	if _, err := migrate(ctx, pool, mustMigrations(files), url); err == nil || !strings.Contains(err.Error(), "004_bad.sql") {
		t.Fatalf("a failing migration: %v", err)
	}
	if v, _ := schemaVersion(ctx, pool); v != 3 {
		t.Fatalf("version %d after a failed migration, want 3", v)
	}
	var c *string
	if err := pool.QueryRow(ctx, "SELECT to_regclass('c')::text").Scan(&c); err != nil || c != nil {
		t.Fatalf("a failed migration left table c: %v, %v", c, err)
	}

	if _, err := readMigrations(fstest.MapFS{"migrations/002_x.sql": {}}); err == nil {
		t.Error("a gap in the versions was accepted")
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	url := testURL(t)
	openStore(t, url, Options{})
	pool, err := connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, "INSERT INTO ledger_schema (version, name) VALUES ($1, 'from the future')", SchemaVersion+4); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, url, Options{})
	want := fmt.Sprintf("the ledger schema is version %d, this reconcile knows up to %d: upgrade reconcile", SchemaVersion+4, SchemaVersion)
	var tooNew *SchemaTooNewError
	if !errors.As(err, &tooNew) || err.Error() != want {
		t.Fatalf("Open of a newer schema: %v, want %q", err, want)
	}
	if _, err := ReadStatus(ctx, url, 1); !errors.As(err, &tooNew) {
		t.Fatalf("status of a newer schema: %v", err)
	}
}

func TestOpenRefusesOtherTenant(t *testing.T) {
	url := testURL(t)
	openStore(t, url, Options{BaseURL: "https://api.reten.ai"})
	openStore(t, url, Options{BaseURL: "https://API.reten.ai/"}).Close()
	_, err := Open(ctx, url, Options{BaseURL: "https://api-staging.reten.ai"})
	if err == nil || !strings.Contains(err.Error(), "belongs to https://api.reten.ai") {
		t.Fatalf("opening production's ledger for staging: %v", err)
	}
}

func attempt(act string) ledger.Attempt {
	return ledger.Attempt{Activity: act, Hash: "h", Run: "run", File: "f.csv", Row: 2}
}

// When the session holding its advisory lock ends, a worker stops claiming,
// and others take its claims over at once, without waiting for the TTL.
func TestSessionLostStopsClaiming(t *testing.T) {
	url := testURL(t)
	w1 := openStore(t, url, Options{})
	w2 := openStore(t, url, Options{})
	if _, err := w1.Begin(ctx, attempt("A")); err != nil {
		t.Fatal(err)
	}
	pid := w1.lock.PgConn().PID()
	if _, err := w2.pool.Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
		t.Fatal(err)
	}
	waitSessionGone(t, pid)
	_, err := w1.Begin(ctx, attempt("B"))
	var lost *LeaseLostError
	if !errors.As(err, &lost) || !strings.Contains(err.Error(), "sends nothing more") {
		t.Fatalf("Begin after the worker's session ended: %v, want *LeaseLostError", err)
	}
	if e, _ := w2.Lookup(ctx, "B"); len(e.Attempts) != 0 {
		t.Fatalf("a worker without a lease recorded %+v", e.Attempts)
	}
	tk, err := w2.Begin(ctx, attempt("A"))
	if err != nil || tk.Refused != "" {
		t.Fatalf("taking over the claim of a worker whose session ended: %+v, %v", tk, err)
	}
}

// A worker whose heartbeat stops (hung, or cut off) is dead once its TTL
// has passed: its claims are taken over, and it claims nothing more.
func TestLeaseLapses(t *testing.T) {
	url := testURL(t)
	const ttl = 600 * time.Millisecond
	w1 := openStore(t, url, Options{ClaimTTL: ttl})
	w2 := openStore(t, url, Options{})
	if _, err := w1.Begin(ctx, attempt("A")); err != nil {
		t.Fatal(err)
	}
	if tk, err := w2.Begin(ctx, attempt("A")); err != nil || !strings.Contains(tk.Refused, "being sent by worker "+w1.Worker()) {
		t.Fatalf("while worker 1 is live: %+v, %v", tk, err)
	}
	w1.stopHeartbeat() // the session stays
	time.Sleep(ttl + 300*time.Millisecond)
	if tk, err := w2.Begin(ctx, attempt("A")); err != nil || tk.Refused != "" {
		t.Fatalf("after worker 1's lease lapsed: %+v, %v", tk, err)
	}
	var lost *LeaseLostError
	if _, err := w1.Begin(ctx, attempt("B")); !errors.As(err, &lost) {
		t.Fatalf("worker 1 claimed after its lease lapsed: %v", err)
	}
}

// With the connection lost mid-run, BeginAll and FinishAll fail: no row is
// sent without a recorded claim, and the run stops.
func TestConnectionLost(t *testing.T) {
	direct := testURL(t)
	u, _ := url.Parse(direct)
	p := pgtest.StartProxy(t, u.Host)
	u.Host = p.Addr()
	q := u.Query()
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()
	w := openStore(t, u.String(), Options{})
	tk, err := w.Begin(ctx, attempt("A"))
	if err != nil {
		t.Fatal(err)
	}
	pid := w.lock.PgConn().PID()
	p.Cut()
	if _, err := w.BeginAll(ctx, []ledger.Attempt{attempt("B"), attempt("C")}); err == nil {
		t.Fatal("BeginAll succeeded with the database cut off")
	}
	if err := w.Finish(ctx, tk, ledger.Outcome{Class: "ok", Status: 201}); err == nil {
		t.Fatal("Finish succeeded with the database cut off")
	}
	other := openStore(t, direct, Options{})
	es, err := other.LookupAll(ctx, []string{"A", "B", "C"})
	if err != nil {
		t.Fatal(err)
	}
	if len(es[0].Attempts) != 1 || es[0].Attempts[0].Outcome != nil || len(es[1].Attempts)+len(es[2].Attempts) != 0 {
		t.Fatalf("after the cut: %+v", es)
	}
	// Its session died with the connection: A's claim is free at once.
	waitSessionGone(t, pid)
	if tk, err := other.Begin(ctx, attempt("A")); err != nil || tk.Refused != "" {
		t.Fatalf("the cut-off worker's claim: %+v, %v", tk, err)
	}
}

func TestStatus(t *testing.T) {
	url := testURL(t)
	w1 := openStore(t, url, Options{Run: "run-1"})
	w2 := openStore(t, url, Options{Run: "run-1"})
	ts, err := w1.BeginAll(ctx, []ledger.Attempt{attempt("A"), attempt("B"), attempt("D")})
	if err != nil {
		t.Fatal(err)
	}
	if err := w1.FinishAll(ctx, []ledger.Finished{
		{Ticket: ts[1], Outcome: ledger.Outcome{Class: "failed", InDoubt: true}},
		{Ticket: ts[2], Outcome: ledger.Outcome{Class: "ok", Status: 201}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := w2.Begin(ctx, attempt("C")); err != nil {
		t.Fatal(err)
	}
	kill(t, w2)
	st, err := ReadStatus(ctx, url, 10)
	if err != nil {
		t.Fatal(err)
	}
	live := map[string]bool{}
	for _, w := range st.Workers {
		live[w.ID] = w.Live
		if w.Run != "run-1" || w.PID != os.Getpid() || w.Host == "" || w.Heartbeat.IsZero() || w.TTL != DefaultClaimTTL {
			t.Errorf("worker %+v", w)
		}
	}
	if len(st.Workers) != 2 || !live[w1.Worker()] || live[w2.Worker()] {
		t.Errorf("workers %+v: want worker 1 live, worker 2 dead", st.Workers)
	}
	claims := map[string]Claim{}
	for _, c := range st.Claims {
		claims[c.Activity] = c
	}
	if len(claims) != 2 || !claims["A"].Live || claims["A"].Worker != w1.Worker() || claims["C"].Live {
		t.Errorf("claims %+v: want A live, C held by the dead worker", st.Claims)
	}
	var doubt []string
	for _, a := range st.InDoubt {
		doubt = append(doubt, a.Activity)
	}
	if st.InDoubtTotal != 2 || strings.Join(doubt, ",") != "B,C" {
		t.Errorf("in doubt: %v of %d, want B (in doubt) and C (killed in flight)", doubt, st.InDoubtTotal)
	}
	if st, err := ReadStatus(ctx, url, 1); err != nil || len(st.InDoubt) != 1 || st.InDoubtTotal != 2 {
		t.Errorf("status with a limit of 1: %+v, %v", st, err)
	}
	if _, err := ReadStatus(ctx, testURL(t), 1); err == nil || !strings.Contains(err.Error(), "reconcile ledger migrate") {
		t.Errorf("status of an empty database: %v", err)
	}
}

// Two workers drawing on one tenant rate pass no more than it allows
// between them; each alone at the full rate would pass twice as much.
func TestTenantRateShared(t *testing.T) {
	url := testURL(t)
	const perSecond, burst = 100, 5
	limiters := []*TenantRate{
		openStore(t, url, Options{}).TenantRate(perSecond, burst),
		openStore(t, url, Options{}).TenantRate(perSecond, burst),
	}
	dctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	counts := make([]int, len(limiters))
	for i, l := range limiters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for l.Wait(dctx) == nil {
				counts[i]++
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	total := counts[0] + counts[1]
	bound := int(perSecond*elapsed.Seconds()) + burst + 2*limiters[0].chunk + 1
	if total > bound {
		t.Fatalf("%d requests passed in %v (%v), more than rate·T + burst + N·chunk = %d", total, elapsed, counts, bound)
	}
	if counts[0] == 0 || counts[1] == 0 {
		t.Fatalf("a worker got nothing: %v", counts)
	}
	t.Logf("%d requests in %v (%v), bound %d", total, elapsed, counts, bound)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := limiters[0].Wait(cctx); err == nil {
		t.Error("Wait with a cancelled context succeeded")
	}
}

// The submitter waits on a per-process limiter or the tenant's alike.
var _ = []interface{ Wait(context.Context) error }{(*rate.Limiter)(nil), (*TenantRate)(nil)}
