package pgledger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/reten/reconcile/internal/ledger"
)

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
