package pgledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/reten/reconcile/internal/ledger"
)

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
