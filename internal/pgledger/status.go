package pgledger

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reten/reconcile/internal/ledger"
)

// Status is what `reconcile ledger status` shows: who works on the tenant,
// what they hold, and which rows may have been stored without an answer.
type Status struct {
	Version int      // of the schema
	Workers []Worker // not stopped: live, or dead without having closed
	Claims  []Claim  // every claim held, oldest first
	// InDoubt lists, oldest first, up to the limit asked, the attempts that
	// may have been stored without reconcile knowing: no outcome and no live
	// worker sending them, or an outcome in doubt; and no later attempt of
	// the activity accepted. A rerun sends their rows again and takes a 409
	// for them as its own.
	InDoubt      []ledger.Attempt
	InDoubtTotal int // all of them, beyond the limit too
}

// Worker is one registered worker.
type Worker struct {
	ID        string
	Host      string
	PID       int
	Run       string
	Started   time.Time
	Heartbeat time.Time
	TTL       time.Duration
	Live      bool
	Claims    int // claims it holds
}

// Claim is one activity being sent.
type Claim struct {
	Activity string
	Worker   string
	Seq      uint64 // the attempt that holds it
	Since    time.Time
	Live     bool // its worker is live; a dead one's claim is taken over by the next worker to begin it
}

// ReadStatus reads the status of the ledger at url, listing at most limit
// in-doubt attempts. It changes nothing (it registers no worker and migrates
// nothing): a schema other than this reconcile's is an error.
func ReadStatus(ctx context.Context, url string, limit int) (*Status, error) {
	pool, err := connect(ctx, url)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	var st *Status
	err = pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		st, err = readStatus(ctx, tx, limit)
		return err
	})
	return st, err
}

func readStatus(ctx context.Context, tx pgx.Tx, limit int) (*Status, error) {
	v, err := schemaVersion(ctx, tx)
	if err != nil {
		return nil, err
	}
	switch {
	case v > SchemaVersion:
		return nil, &SchemaTooNewError{Version: v, Known: SchemaVersion}
	case v < SchemaVersion:
		return nil, &SchemaTooOldError{Version: v, Known: SchemaVersion}
	}
	st := &Status{Version: v}
	var lockClass int32
	if err := tx.QueryRow(ctx, `SELECT hashtext('reconcile worker ' || current_schema()) & 2147483647`).Scan(&lockClass); err != nil {
		return nil, err
	}
	liveIDs, err := liveWorkers(ctx, tx, lockClass)
	if err != nil {
		return nil, err
	}
	live := map[string]bool{}
	for _, id := range liveIDs {
		live[id] = true
	}

	rows, err := tx.Query(ctx, `SELECT w.id, w.host, w.pid, w.run, w.started, w.heartbeat, extract(epoch FROM w.ttl)::float8,
			(SELECT count(*) FROM claims c WHERE c.worker = w.id)
		FROM workers w WHERE w.stopped IS NULL ORDER BY w.started`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var w Worker
		var pid int32
		var ttl float64
		var claims int64
		if err := rows.Scan(&w.ID, &w.Host, &pid, &w.Run, &w.Started, &w.Heartbeat, &ttl, &claims); err != nil {
			rows.Close()
			return nil, err
		}
		w.PID, w.TTL, w.Claims, w.Live = int(pid), time.Duration(ttl*float64(time.Second)), int(claims), live[w.ID]
		w.Started, w.Heartbeat = w.Started.UTC(), w.Heartbeat.UTC()
		st.Workers = append(st.Workers, w)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}

	rows, err = tx.Query(ctx, `SELECT activity, worker, seq, since FROM claims ORDER BY since, activity`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var c Claim
		var seq int64
		if err := rows.Scan(&c.Activity, &c.Worker, &seq, &c.Since); err != nil {
			rows.Close()
			return nil, err
		}
		c.Seq, c.Since, c.Live = uint64(seq), c.Since.UTC(), live[c.Worker]
		st.Claims = append(st.Claims, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}

	const inDoubt = `FROM attempts a
		WHERE (a.class IS NULL OR a.in_doubt)
		AND NOT EXISTS (SELECT 1 FROM attempts b WHERE b.activity = a.activity AND b.seq > a.seq AND b.class IN ('ok', 'overridden'))
		AND NOT EXISTS (SELECT 1 FROM claims c WHERE c.activity = a.activity AND c.seq = a.seq AND c.worker = ANY($1))`
	if err := tx.QueryRow(ctx, `SELECT count(*) `+inDoubt, liveIDs).Scan(&st.InDoubtTotal); err != nil {
		return nil, err
	}
	rows, err = tx.Query(ctx, `SELECT `+attemptColumns+` `+inDoubt+` ORDER BY a.seq LIMIT $2`, liveIDs, limit)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		a, _, err := scanAttempt(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		st.InDoubt = append(st.InDoubt, a)
	}
	return st, rows.Err()
}
