package pgledger

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/reten/reconcile/internal/ledger"
)

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
