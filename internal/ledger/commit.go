package ledger

import (
	"context"
	"errors"
	"time"

	bolt "go.etcd.io/bbolt"
)

// batchDelay is how long a write waits for others to share its
// transaction (bolt.DB.MaxBatchDelay; bbolt's default is 10 ms). The
// submitter hands over its intents and outcomes in batches of hundreds, so
// there is little to gather: the wait is what a lone write pays.
const batchDelay = 2 * time.Millisecond

// Begin implements Store. It returns once the attempt is on disk.
func (db *DB) Begin(ctx context.Context, a Attempt) (Ticket, error) {
	ts, err := db.BeginAll(ctx, []Attempt{a})
	if err != nil {
		return Ticket{}, err
	}
	return ts[0], nil
}

// BeginAll implements Store. It returns once the attempts are on disk, all
// committed in one transaction.
func (db *DB) BeginAll(ctx context.Context, as []Attempt) ([]Ticket, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	started := now(db.now)
	for i := range as {
		if err := as[i].Validate(); err != nil {
			return nil, err
		}
	}
	if err := db.sources.intern(as, started, db.write); err != nil {
		return nil, err
	}
	ts := make([]Ticket, len(as))
	recorded := make([]Attempt, len(as))
	err := db.write(func(tx *bolt.Tx) error {
		b, log := tx.Bucket(bucketActivities), tx.Bucket(bucketLog)
		for i, a := range as {
			var check Entry
			if err := addAttempt(&check, a); err != nil {
				return err
			}
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			a.Seq, a.Outcome = seq, nil
			if a.Started.IsZero() {
				a.Started = started
			}
			a.Started = toMilli(a.Started)
			if err := log.Put(seqKey(seq), appendLog(nil, &a, &db.sources)); err != nil {
				return err
			}
			recorded[i] = a
			ts[i] = Ticket{Activity: a.Activity, Seq: seq}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	db.logMu.Lock()
	for _, a := range recorded {
		db.logged[a.Seq] = a
		db.byAct[a.Activity] = append(db.byAct[a.Activity], a.Seq)
	}
	db.logMu.Unlock()
	return ts, nil
}

// Finish implements Store. It returns once the outcome is on disk, and records
// it even when ctx is done: an answer received must not be forgotten because
// the run is stopping.
func (db *DB) Finish(ctx context.Context, t Ticket, o Outcome) error {
	return db.FinishAll(ctx, []Finished{{Ticket: t, Outcome: o}})
}

// FinishAll implements Store. It returns once the outcomes are on disk, all
// committed in one transaction; one that names no attempt begun is not
// recorded, and reported, without holding back the others.
func (db *DB) FinishAll(ctx context.Context, fs []Finished) error {
	finished := now(db.now)
	var bad []error
	var inLog []Attempt // attempts of the log with their outcome, once committed
	err := db.write(func(tx *bolt.Tx) error {
		bad, inLog = bad[:0], inLog[:0]
		log := tx.Bucket(bucketLog)
		for _, f := range fs {
			o := f.Outcome
			if o.Finished.IsZero() {
				o.Finished = finished
			}
			o.Finished = toMilli(o.Finished)
			db.logMu.Lock()
			a, ok := db.logged[f.Ticket.Seq]
			db.logMu.Unlock()
			if ok && a.Activity == f.Ticket.Activity {
				e := Entry{Activity: a.Activity, Attempts: []Attempt{a}}
				if err := setOutcome(&e, a.Seq, o); err != nil {
					bad = append(bad, err)
					continue
				}
				a = e.Attempts[0]
				if err := log.Put(seqKey(a.Seq), appendLog(nil, &a, &db.sources)); err != nil {
					return err
				}
				inLog = append(inLog, a)
				continue
			}
			// Begun before this DB was opened, or already folded.
			e, err := getEntry(tx, f.Ticket.Activity, &db.sources)
			if err != nil {
				return err
			}
			if err := setOutcome(&e, f.Ticket.Seq, o); err != nil {
				bad = append(bad, err)
				continue
			}
			if err := putEntry(tx, &e, &db.sources); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	db.logMu.Lock()
	for _, a := range inLog {
		if db.logged[a.Seq].Outcome == nil {
			db.finished++
		}
		db.logged[a.Seq] = a
	}
	full := db.finished >= foldAt
	db.logMu.Unlock()
	if full {
		db.foldLater()
	}
	return errors.Join(bad...)
}

// write runs fn in a read-write transaction and returns once it is
// committed: through bbolt's DB.Batch, which commits the writes of
// goroutines that come within MaxBatchDelay in one transaction, and if one
// of them fails, runs each alone so that it fails none of the others. fn may
// therefore run more than once, and must start afresh each time.
func (db *DB) write(fn func(*bolt.Tx) error) error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return ErrClosed
	}
	if db.solo {
		return db.bolt.Update(fn)
	}
	return db.bolt.Batch(fn)
}

// toMilli is t as the ledger keeps it (record.go): to the millisecond, in
// UTC. Attempts kept in memory until they are folded are kept so too, so
// that a lookup finds the same before and after.
func toMilli(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.UnixMilli(t.UnixMilli()).UTC()
}
