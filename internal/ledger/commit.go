package ledger

import (
	"context"
	"errors"
	"time"

	bolt "go.etcd.io/bbolt"
)

// maxGroup caps how many writes one transaction commits.
const maxGroup = 256

type commitMode int

const (
	commitGroup commitMode = iota // one transaction for every write waiting, no added delay
	commitSolo                    // one transaction (and fsync) per write
	commitBatch                   // bbolt's DB.Batch: waits up to MaxBatchDelay to fill a batch
)

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

// writeReq is one write waiting for the committer.
type writeReq struct {
	fn   func(*bolt.Tx) error
	done chan error
}

// write runs fn in a read-write transaction and returns once it is committed.
func (db *DB) write(fn func(*bolt.Tx) error) error {
	switch db.commit {
	case commitSolo:
		return db.guard(func() error { return db.bolt.Update(fn) })
	case commitBatch:
		return db.guard(func() error { return db.bolt.Batch(fn) })
	}
	req := writeReq{fn: fn, done: make(chan error, 1)}
	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return ErrClosed
	}
	db.writes <- req
	db.mu.RUnlock()
	return <-req.done
}

// guard runs f unless the DB is closed, keeping Close from closing the file under it.
func (db *DB) guard(f func() error) error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return ErrClosed
	}
	return f()
}

// committer commits writes as they come: it takes every write already waiting
// (without waiting for more, so a lone writer pays no delay) and commits them
// in one transaction, one fsync. While it syncs, the next group gathers.
func (db *DB) committer() {
	defer close(db.done)
	group := make([]writeReq, 0, maxGroup)
	for first := range db.writes {
		group = append(group[:0], first)
	gather:
		for len(group) < maxGroup {
			select {
			case r, ok := <-db.writes:
				if !ok {
					break gather
				}
				group = append(group, r)
			default:
				break gather
			}
		}
		db.commitGroup(group)
	}
}

// commitGroup commits a group in one transaction. If any write fails, the
// transaction is rolled back and each write is committed on its own, so that
// one bad write does not fail the others.
func (db *DB) commitGroup(group []writeReq) {
	if len(group) > 1 {
		err := db.bolt.Update(func(tx *bolt.Tx) error {
			for _, r := range group {
				if err := r.fn(tx); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			for _, r := range group {
				r.done <- nil
			}
			return
		}
	}
	for _, r := range group {
		r.done <- db.bolt.Update(r.fn)
	}
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
