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
