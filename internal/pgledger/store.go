// Package pgledger keeps the ledger in PostgreSQL, so that several workers,
// on one host or many, reconcile one tenant without sending a row twice.
// Each worker opens a Store of its own on the same database: every attempt
// it begins is a claim on the activity, which other workers' BeginAll
// refuses while the worker is live, and takes over once it is dead. The
// schema is created and migrated here, and a shared token bucket (TenantRate)
// spreads one tenant rate over every worker.
package pgledger

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reten/reconcile/internal/ledger"
)

// DefaultClaimTTL is how long a worker's claims outlive its last heartbeat
// when Options.ClaimTTL is zero. A worker heartbeats every third of it; a
// killed worker's claims are taken over at once anyway, since its session,
// and the advisory lock it held, die with it: the TTL is for a worker that
// hangs, or whose host drops off the network.
const DefaultClaimTTL = 30 * time.Second

// minClaimTTL leaves a heartbeat (every third of the TTL) time to arrive.
const minClaimTTL = 300 * time.Millisecond

// Options configure Open. The zero value is usable.
type Options struct {
	// BaseURL is the tenant's API base URL. It is recorded when the ledger is
	// created and checked on every later open, so that a database is never
	// used for two tenants. "" skips the check.
	BaseURL string
	// Run names the run this worker belongs to; workers given the same run
	// share it, and their attempts carry it.
	Run string
	// ClaimTTL is how long after its last heartbeat a worker counts as dead;
	// zero means DefaultClaimTTL, and less than minClaimTTL (300 ms) means
	// that. Keep it well above the longest request: a worker cut off for
	// longer may still have requests in flight when another takes over.
	ClaimTTL time.Duration
	// Now is the clock for attempts and outcomes given without a time; nil
	// means time.Now. Leases use the database's clock, the one all hosts share.
	Now func() time.Time
}

// Store is a ledger.Store in PostgreSQL for one worker. Every call is one
// transaction, committed before it returns.
type Store struct {
	pool      *pgxpool.Pool
	url       string // redacted
	id        string
	run       string
	lockClass int32
	ttl       time.Duration
	now       func() time.Time

	// lock is the session holding the worker's advisory lock; it also sends
	// the heartbeats. lockMu serialises its use.
	lockMu sync.Mutex
	lock   *pgx.Conn

	lost      atomic.Pointer[LeaseLostError]
	closed    atomic.Bool
	stopBeat  chan struct{}
	beatDone  chan struct{}
	beatOnce  sync.Once
	closeOnce sync.Once
	closeErr  error
}

var _ ledger.Shared = (*Store)(nil)

// LeaseLostError is returned by BeginAll once this worker may have lost its
// claims to others: its heartbeat failed, or its session (and so its
// advisory lock) was lost. It then claims nothing more; its run should stop.
type LeaseLostError struct {
	Worker string
	Err    error
}

func (e *LeaseLostError) Error() string {
	return fmt.Sprintf("worker %s lost its lease on the ledger (%v): other workers may take over its rows, so it sends nothing more; start the run again once the database is reachable", e.Worker, e.Err)
}

func (e *LeaseLostError) Unwrap() error { return e.Err }

// Open connects to the ledger database at url (postgres://USER:PASSWORD@HOST/DB),
// creates or migrates its schema when needed, and registers this process as
// a worker, heartbeating until Close. A database that cannot be reached gives
// an *UnreachableError; a schema newer than this reconcile a
// *SchemaTooNewError.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	pool, err := connect(ctx, url)
	if err != nil {
		return nil, err
	}
	s, err := open(ctx, pool, url, opts)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

func open(ctx context.Context, pool *pgxpool.Pool, url string, opts Options) (*Store, error) {
	v, err := schemaVersion(ctx, pool)
	if err != nil {
		return nil, fmt.Errorf("cannot read the ledger schema at %s: %w", Redact(url), err)
	}
	if v != SchemaVersion {
		if _, err := migrate(ctx, pool, mustMigrations(migrationFiles), url); err != nil {
			return nil, err
		}
	}
	if err := checkTenant(ctx, pool, url, opts.BaseURL); err != nil {
		return nil, err
	}
	s := &Store{
		pool:     pool,
		url:      Redact(url),
		run:      opts.Run,
		ttl:      max(cmp.Or(opts.ClaimTTL, DefaultClaimTTL), minClaimTTL),
		now:      opts.Now,
		stopBeat: make(chan struct{}),
		beatDone: make(chan struct{}),
	}
	if err := s.register(ctx); err != nil {
		return nil, err
	}
	go s.heartbeat()
	return s, nil
}

// checkTenant records baseURL in a new ledger and compares it in an old one.
func checkTenant(ctx context.Context, pool *pgxpool.Pool, url, baseURL string) error {
	if baseURL == "" {
		return nil
	}
	norm, _, err := ledger.NormalizeBaseURL(baseURL)
	if err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, `INSERT INTO meta (key, value) VALUES ('base_url', $1) ON CONFLICT (key) DO NOTHING`, norm); err != nil {
		return err
	}
	var have string
	if err := pool.QueryRow(ctx, `SELECT value FROM meta WHERE key = 'base_url'`).Scan(&have); err != nil {
		return err
	}
	if have != norm {
		return fmt.Errorf("the ledger at %s belongs to %s, not %s: give each tenant a database (or a schema, with ?search_path=NAME in the URL) of its own", Redact(url), have, norm)
	}
	return nil
}

// register takes the worker's advisory lock on a session of its own and
// records the worker.
func (s *Store) register(ctx context.Context) error {
	cfg := s.pool.Config().ConnConfig.Copy()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return &UnreachableError{URL: s.url, Err: err}
	}
	ok := false
	defer func() {
		if !ok {
			conn.Close(context.Background())
		}
	}()
	if err := conn.QueryRow(ctx, `SELECT hashtext('reconcile worker ' || current_schema()) & 2147483647`).Scan(&s.lockClass); err != nil {
		return err
	}
	var key int32
	for tries := 0; ; tries++ {
		// Keys are unique within a schema; another schema's workers use
		// another class, so a collision is all but impossible. Try another.
		if err := conn.QueryRow(ctx, `SELECT nextval('worker_lock_keys')::integer`).Scan(&key); err != nil {
			return err
		}
		var got bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2)`, s.lockClass, key).Scan(&got); err != nil {
			return err
		}
		if got {
			break
		}
		if tries == 10 {
			return errors.New("pgledger: no free worker lock")
		}
	}
	var b [4]byte
	rand.Read(b[:])
	host, _ := os.Hostname()
	s.id = "w-" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, `INSERT INTO workers (id, lock_key, host, pid, run, started, heartbeat, ttl)
		VALUES ($1, $2, $3, $4, $5, clock_timestamp(), clock_timestamp(), make_interval(secs => $6))`,
		s.id, key, host, os.Getpid(), s.run, s.ttl.Seconds()); err != nil {
		return err
	}
	// Workers that stopped or died long ago, and hold nothing, are history.
	if _, err := conn.Exec(ctx, `DELETE FROM workers w WHERE w.heartbeat < clock_timestamp() - interval '30 days'
		AND NOT EXISTS (SELECT 1 FROM claims c WHERE c.worker = w.id)`); err != nil {
		return err
	}
	s.lock = conn
	ok = true
	return nil
}

// heartbeat renews the worker's lease every third of its TTL, until Close.
// One that fails loses the lease: the lock's session may be gone.
func (s *Store) heartbeat() {
	defer close(s.beatDone)
	t := time.NewTicker(s.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-s.stopBeat:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.ttl/3)
		s.lockMu.Lock()
		tag, err := s.lock.Exec(ctx, `UPDATE workers SET heartbeat = clock_timestamp() WHERE id = $1 AND stopped IS NULL`, s.id)
		s.lockMu.Unlock()
		cancel()
		if err == nil && tag.RowsAffected() != 1 {
			err = errors.New("its registration is gone")
		}
		if err != nil {
			s.lost.CompareAndSwap(nil, &LeaseLostError{Worker: s.id, Err: fmt.Errorf("heartbeat failed: %w", err)})
			return
		}
	}
}

// stopHeartbeat stops the heartbeat and waits until it has.
func (s *Store) stopHeartbeat() {
	s.beatOnce.Do(func() {
		close(s.stopBeat)
		<-s.beatDone
	})
}

// Worker implements ledger.Shared.
func (s *Store) Worker() string { return s.id }

// URL is the ledger's URL, its password redacted.
func (s *Store) URL() string { return s.url }

// Close releases the worker's claims (an attempt still without an outcome
// stays in doubt, for whichever worker sends its row again), marks the worker
// stopped and closes its connections.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.stopHeartbeat()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.lockMu.Lock()
		_, err := s.lock.Exec(ctx, `DELETE FROM claims WHERE worker = $1`, s.id)
		if err == nil {
			_, err = s.lock.Exec(ctx, `UPDATE workers SET stopped = clock_timestamp() WHERE id = $1`, s.id)
		}
		s.lock.Close(ctx)
		s.lockMu.Unlock()
		s.pool.Close()
		if err != nil {
			s.closeErr = fmt.Errorf("closing the ledger at %s: %w: its claims are released when its lease ends", s.url, err)
		}
	})
	return s.closeErr
}

// attemptColumns are the columns scanAttempt reads, in its order.
const attemptColumns = `seq, activity, hash, override, run, worker, file, sheet, row, started,
	class, status, result_id, message, requests, in_doubt, finished, finished_seq`

// scanAttempt reads one row of attemptColumns, and the version it adds.
func scanAttempt(row pgx.Row) (ledger.Attempt, uint64, error) {
	var a ledger.Attempt
	var (
		seq                         int64
		class, resultID, message    *string
		status, requests            *int32
		inDoubt                     *bool
		finished                    *time.Time
		finishedSeq                 *int64
		row32                       int32
		activity, hash, run, worker string
	)
	err := row.Scan(&seq, &activity, &hash, &a.Override, &run, &worker, &a.File, &a.Sheet, &row32, &a.Started,
		&class, &status, &resultID, &message, &requests, &inDoubt, &finished, &finishedSeq)
	if err != nil {
		return a, 0, err
	}
	a.Seq, a.Activity, a.Hash, a.Run, a.Worker, a.Row = uint64(seq), activity, hash, run, worker, int(row32)
	a.Started = a.Started.UTC()
	version := uint64(seq)
	if class != nil {
		o := &ledger.Outcome{Class: *class}
		if status != nil {
			o.Status = int(*status)
		}
		if requests != nil {
			o.Requests = int(*requests)
		}
		if resultID != nil {
			o.ResultID = *resultID
		}
		if message != nil {
			o.Message = *message
		}
		o.InDoubt = inDoubt != nil && *inDoubt
		if finished != nil {
			o.Finished = finished.UTC()
		}
		if finishedSeq != nil {
			version = max(version, uint64(*finishedSeq))
		}
		a.Outcome = o
	}
	return a, version, nil
}

// Lookup implements ledger.Store.
func (s *Store) Lookup(ctx context.Context, activity string) (ledger.Entry, error) {
	es, err := s.LookupAll(ctx, []string{activity})
	if err != nil {
		return ledger.Entry{Activity: activity}, err
	}
	return es[0], nil
}

// LookupAll implements ledger.Store: one query for every activity.
func (s *Store) LookupAll(ctx context.Context, activities []string) ([]ledger.Entry, error) {
	if s.closed.Load() {
		return nil, ledger.ErrClosed
	}
	rows, err := s.pool.Query(ctx, `SELECT `+attemptColumns+` FROM attempts WHERE activity = ANY($1) ORDER BY seq`, activities)
	if err != nil {
		return nil, s.wrap(err)
	}
	byAct := make(map[string]*ledger.Entry, len(activities))
	for rows.Next() {
		a, version, err := scanAttempt(rows)
		if err != nil {
			rows.Close()
			return nil, s.wrap(err)
		}
		e := byAct[a.Activity]
		if e == nil {
			e = &ledger.Entry{Activity: a.Activity}
			byAct[a.Activity] = e
		}
		e.Attempts = append(e.Attempts, a)
		e.Version = max(e.Version, version)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(err)
	}
	es := make([]ledger.Entry, len(activities))
	for i, act := range activities {
		if e := byAct[act]; e != nil {
			es[i] = *e
			// The same activity asked twice must not share attempts.
			e.Attempts = slices.Clone(e.Attempts)
		} else {
			es[i] = ledger.Entry{Activity: act}
		}
	}
	return es, nil
}

// Begin implements ledger.Store.
func (s *Store) Begin(ctx context.Context, a ledger.Attempt) (ledger.Ticket, error) {
	ts, err := s.BeginAll(ctx, []ledger.Attempt{a})
	if err != nil {
		return ledger.Ticket{}, err
	}
	return ts[0], nil
}

// BeginAll implements ledger.Store. In one transaction it claims each
// attempt's activity for this worker, refuses those that another live worker
// holds or finished since a.Checked, and records the others. It fails, and
// records nothing, once this worker's lease is lost.
func (s *Store) BeginAll(ctx context.Context, as []ledger.Attempt) ([]ledger.Ticket, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.closed.Load() {
		return nil, ledger.ErrClosed
	}
	for i := range as {
		if err := as[i].Validate(); err != nil {
			return nil, err
		}
	}
	if lost := s.lost.Load(); lost != nil {
		return nil, lost
	}
	if len(as) == 0 {
		return nil, nil
	}
	started := now(s.now)
	var ts []ledger.Ticket
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		ts, err = s.beginTx(ctx, tx, as, started)
		return err
	})
	if err != nil {
		return nil, err
	}
	return ts, nil
}

func (s *Store) beginTx(ctx context.Context, tx pgx.Tx, as []ledger.Attempt, started time.Time) ([]ledger.Ticket, error) {
	live, err := liveWorkers(ctx, tx, s.lockClass)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(live, s.id) {
		lost := &LeaseLostError{Worker: s.id, Err: errors.New("its lease lapsed or its session ended")}
		s.lost.CompareAndSwap(nil, lost)
		return nil, lost
	}
	rows, err := tx.Query(ctx, `SELECT nextval(pg_get_serial_sequence('attempts', 'seq')) FROM generate_series(1, $1) ORDER BY 1`, len(as))
	if err != nil {
		return nil, err
	}
	seqs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, err
	}
	ts := make([]ledger.Ticket, len(as))
	for i, a := range as {
		ts[i] = ledger.Ticket{Activity: a.Activity, Seq: uint64(seqs[i])}
	}

	// The claims, in the order of their activities, so that two workers
	// claiming overlapping batches lock them in the same order.
	lastSeq := map[string]int64{}
	checked := map[string]uint64{}
	for i, a := range as {
		lastSeq[a.Activity] = seqs[i]
		if c, ok := checked[a.Activity]; !ok || a.Checked < c {
			checked[a.Activity] = a.Checked
		}
	}
	acts := make([]string, 0, len(lastSeq))
	for act := range lastSeq {
		acts = append(acts, act)
	}
	slices.Sort(acts)
	claimSeqs := make([]int64, len(acts))
	for i, act := range acts {
		claimSeqs[i] = lastSeq[act]
	}
	rows, err = tx.Query(ctx, `INSERT INTO claims (activity, worker, seq, since)
		SELECT u.activity, $2, u.seq, clock_timestamp() FROM unnest($1::text[], $3::bigint[]) AS u(activity, seq) ORDER BY u.activity
		ON CONFLICT (activity) DO UPDATE SET worker = EXCLUDED.worker, seq = EXCLUDED.seq, since = EXCLUDED.since
		WHERE claims.worker = EXCLUDED.worker OR NOT claims.worker = ANY($4::text[])
		RETURNING activity`, acts, s.id, claimSeqs, live)
	if err != nil {
		return nil, err
	}
	wonList, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	won := make(map[string]bool, len(wonList))
	for _, act := range wonList {
		won[act] = true
	}
	refused := map[string]string{}
	var held []string
	for _, act := range acts {
		if !won[act] {
			held = append(held, act)
		}
	}
	if len(held) > 0 {
		rows, err := tx.Query(ctx, `SELECT c.activity, c.worker, c.since, coalesce(w.host, ''), coalesce(w.pid, 0)
			FROM claims c LEFT JOIN workers w ON w.id = c.worker WHERE c.activity = ANY($1)`, held)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var act, worker, host string
			var since time.Time
			var pid int32
			if err := rows.Scan(&act, &worker, &since, &host, &pid); err != nil {
				rows.Close()
				return nil, err
			}
			refused[act] = fmt.Sprintf("being sent by worker %s since %s", who(worker, host, pid), since.UTC().Format(timeLayout))
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		for _, act := range held {
			if refused[act] == "" {
				refused[act] = "being sent by another worker"
			}
		}
	}

	// Won, but another worker finished the activity after the caller
	// checked it: sending now would send it twice.
	if len(wonList) > 0 {
		wonChecked := make([]int64, len(wonList))
		for i, act := range wonList {
			wonChecked[i] = int64(checked[act])
		}
		rows, err := tx.Query(ctx, `SELECT a.activity, a.worker, coalesce(w.host, ''), coalesce(w.pid, 0), a.file, a.sheet, a.row, a.class, a.finished
			FROM unnest($1::text[], $2::bigint[]) AS u(activity, checked)
			JOIN attempts a ON a.activity = u.activity AND a.finished_seq > u.checked
			LEFT JOIN workers w ON w.id = a.worker
			WHERE a.worker <> $3
			ORDER BY a.finished_seq`, wonList, wonChecked, s.id)
		if err != nil {
			return nil, err
		}
		var late []string
		for rows.Next() {
			var act, worker, host, file, sheet, class string
			var pid, row int32
			var finished time.Time
			if err := rows.Scan(&act, &worker, &host, &pid, &file, &sheet, &row, &class, &finished); err != nil {
				rows.Close()
				return nil, err
			}
			if refused[act] == "" {
				late = append(late, act)
			}
			where := (&ledger.Attempt{File: file, Sheet: sheet, Row: int(row)}).Where()
			refused[act] = fmt.Sprintf("sent meanwhile by worker %s from %s: it ended %s at %s",
				who(worker, host, pid), where, class, finished.UTC().Format(timeLayout))
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if len(late) > 0 {
			if _, err := tx.Exec(ctx, `DELETE FROM claims WHERE activity = ANY($1) AND worker = $2`, late, s.id); err != nil {
				return nil, err
			}
		}
	}

	var (
		seqCol                                  []int64
		actCol, hashCol, runCol, fileCol, sheet []string
		overrideCol                             []bool
		rowCol                                  []int32
		startedCol                              []time.Time
	)
	for i, a := range as {
		if msg := refused[a.Activity]; msg != "" {
			ts[i] = ledger.Ticket{Activity: a.Activity, Refused: msg}
			continue
		}
		st := a.Started
		if st.IsZero() {
			st = started
		}
		seqCol = append(seqCol, seqs[i])
		actCol = append(actCol, a.Activity)
		hashCol = append(hashCol, a.Hash)
		overrideCol = append(overrideCol, a.Override)
		runCol = append(runCol, a.Run)
		fileCol = append(fileCol, a.File)
		sheet = append(sheet, a.Sheet)
		rowCol = append(rowCol, int32(a.Row))
		startedCol = append(startedCol, st)
	}
	if len(seqCol) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO attempts (seq, activity, hash, override, run, worker, file, sheet, row, started)
			SELECT u.seq, u.activity, u.hash, u.override, u.run, $6, u.file, u.sheet, u.row, u.started
			FROM unnest($1::bigint[], $2::text[], $3::text[], $4::boolean[], $5::text[], $7::text[], $8::text[], $9::integer[], $10::timestamptz[])
				AS u(seq, activity, hash, override, run, file, sheet, row, started)`,
			seqCol, actCol, hashCol, overrideCol, runCol, s.id, fileCol, sheet, rowCol, startedCol); err != nil {
			return nil, err
		}
	}
	return ts, nil
}

const timeLayout = "2006-01-02 15:04:05 UTC"

// who names a worker in a refusal: "w-3fa1c2d4 (pid 4711 on host cron1)".
func who(worker, host string, pid int32) string {
	if host == "" {
		return worker
	}
	return fmt.Sprintf("%s (pid %d on host %s)", worker, pid, host)
}

// liveSQL lists the live workers: not stopped, a heartbeat younger than
// their TTL, and their session holding their advisory lock. The last makes
// a killed worker dead at once: its session ends with it.
const liveSQL = `SELECT w.id FROM workers w
	WHERE w.stopped IS NULL AND w.heartbeat > clock_timestamp() - w.ttl
	AND EXISTS (SELECT 1 FROM pg_locks l
		WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
		AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND l.classid = $1::integer::oid AND l.objid = w.lock_key::oid)`

func liveWorkers(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, lockClass int32) ([]string, error) {
	rows, err := q.Query(ctx, liveSQL, lockClass)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// Finish implements ledger.Store.
func (s *Store) Finish(ctx context.Context, t ledger.Ticket, o ledger.Outcome) error {
	return s.FinishAll(ctx, []ledger.Finished{{Ticket: t, Outcome: o}})
}

// finishTimeout bounds FinishAll, whose context an interrupt does not end.
const finishTimeout = 30 * time.Second

// FinishAll implements ledger.Store: the outcomes in one transaction, which
// also releases their claims. It records them even when ctx is done; an
// outcome that names no attempt begun is not recorded, and reported, without
// holding back the others.
func (s *Store) FinishAll(ctx context.Context, fs []ledger.Finished) error {
	if s.closed.Load() {
		return ledger.ErrClosed
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	finished := now(s.now)
	var bad []error
	var (
		seqCol                                  []int64
		actCol, classCol, resultCol, messageCol []string
		statusCol, requestsCol                  []int32
		inDoubtCol                              []bool
		finishedCol                             []time.Time
		fsOK                                    []ledger.Finished
	)
	for _, f := range fs {
		o := f.Outcome
		if err := o.Validate(f.Ticket.Activity); err != nil {
			bad = append(bad, err)
			continue
		}
		if o.Finished.IsZero() {
			o.Finished = finished
		}
		fsOK = append(fsOK, f)
		seqCol = append(seqCol, int64(f.Ticket.Seq))
		actCol = append(actCol, f.Ticket.Activity)
		classCol = append(classCol, o.Class)
		statusCol = append(statusCol, int32(o.Status))
		resultCol = append(resultCol, o.ResultID)
		messageCol = append(messageCol, o.Message)
		requestsCol = append(requestsCol, int32(o.Requests))
		inDoubtCol = append(inDoubtCol, o.InDoubt)
		finishedCol = append(finishedCol, o.Finished)
	}
	if len(fsOK) == 0 {
		return errors.Join(bad...)
	}
	var found map[int64]bool
	err := s.tx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE attempts a SET class = u.class, status = u.status, result_id = u.result_id, message = u.message,
				requests = u.requests, in_doubt = u.in_doubt, finished = u.finished,
				finished_seq = nextval(pg_get_serial_sequence('attempts', 'seq'))
			FROM unnest($1::bigint[], $2::text[], $3::text[], $4::integer[], $5::text[], $6::text[], $7::integer[], $8::boolean[], $9::timestamptz[])
				AS u(seq, activity, class, status, result_id, message, requests, in_doubt, finished)
			WHERE a.seq = u.seq AND a.activity = u.activity
			RETURNING a.seq`,
			seqCol, actCol, classCol, statusCol, resultCol, messageCol, requestsCol, inDoubtCol, finishedCol)
		if err != nil {
			return err
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		found = make(map[int64]bool, len(got))
		for _, seq := range got {
			found[seq] = true
		}
		// Lock the claims in activity order, as BeginAll does, then let go.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM claims WHERE activity = ANY($1) AND worker = $2 ORDER BY activity FOR UPDATE`, actCol, s.id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM claims c USING unnest($1::text[], $2::bigint[]) AS u(activity, seq)
			WHERE c.activity = u.activity AND c.seq = u.seq AND c.worker = $3`, actCol, seqCol, s.id)
		return err
	})
	if err != nil {
		return err
	}
	for _, f := range fsOK {
		if !found[int64(f.Ticket.Seq)] {
			bad = append(bad, fmt.Errorf("ledger: activity %q has no attempt %d to finish", f.Ticket.Activity, f.Ticket.Seq))
		}
	}
	return errors.Join(bad...)
}

// tx runs fn in a transaction, again if PostgreSQL broke a deadlock or a
// serialisation failure by aborting it.
func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	for try := 0; ; try++ {
		err := pgx.BeginFunc(ctx, s.pool, fn)
		var pgErr *pgconn.PgError
		if try < 5 && errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001") {
			continue
		}
		return s.wrap(err)
	}
}

// wrap says which ledger an error of the database came from.
func (s *Store) wrap(err error) error {
	var lost *LeaseLostError
	if err == nil || errors.As(err, &lost) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("the ledger at %s: %w", s.url, err)
}

func now(f func() time.Time) time.Time {
	if f == nil {
		return time.Now().UTC()
	}
	return f().UTC()
}
