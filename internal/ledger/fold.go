package ledger

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// foldTx moves attempts from the log to their activities' entries, in seq order.
func foldTx(tx *bolt.Tx, as []Attempt, st *sourceTable) error {
	slices.SortFunc(as, func(a, b Attempt) int { return cmp.Compare(a.Seq, b.Seq) })
	log := tx.Bucket(bucketLog)
	for _, a := range as {
		v := log.Get(seqKey(a.Seq))
		if v == nil {
			continue // folded already
		}
		if a.Outcome == nil {
			// The record on disk is the truth: its outcome may have come
			// since a was read.
			if err := decodeLog(v, &a, st); err != nil {
				return fmt.Errorf("ledger: the log record %d is damaged: %w", a.Seq, err)
			}
		}
		e, err := getEntry(tx, a.Activity, st)
		if err != nil {
			return err
		}
		switch i := slices.IndexFunc(e.Attempts, func(b Attempt) bool { return b.Seq == a.Seq }); {
		case i < 0:
			e.Activity = a.Activity
			e.Attempts = append(e.Attempts, a)
			if err := putEntry(tx, &e, st); err != nil {
				return err
			}
		case e.Attempts[i].Outcome == nil && a.Outcome != nil:
			// Folded before its outcome came: the outcome is the news.
			e.Attempts[i].Outcome = a.Outcome
			if err := putEntry(tx, &e, st); err != nil {
				return err
			}
		}
		if err := log.Delete(seqKey(a.Seq)); err != nil {
			return err
		}
	}
	return nil
}

// evictAbove is the file size past which folds evict the file from the
// page cache. A smaller file can be resident whole for less than reading
// its pages back from the disk costs: at 100 000 rows (11 MB) evicting
// saved 6 MiB of peak RSS and made the run 17 % slower (docs/ledger.md).
var evictAbove int64 = 16 << 20 // a variable for the tests

// foldChunk is the most attempts one fold transaction moves. A write
// transaction holds every other write while it commits: folding 8192 at once held
// the submitter's intents and outcomes for 20-50 ms, long enough for its
// workers to run dry.
const foldChunk = 1024

// fold moves the finished attempts of the log (all of them if all) to
// activities, in transactions of foldChunk attempts, in seq order.
func (db *DB) fold(all bool) error {
	db.logMu.Lock()
	var as []Attempt
	for _, a := range db.logged {
		if all || a.Outcome != nil {
			as = append(as, a)
		}
	}
	db.logMu.Unlock()
	slices.SortFunc(as, func(a, b Attempt) int { return cmp.Compare(a.Seq, b.Seq) })
	for len(as) > 0 {
		n := min(len(as), foldChunk)
		if err := db.foldSome(as[:n]); err != nil {
			return err
		}
		as = as[n:]
	}
	return nil
}

// foldLater folds the finished attempts of the log in a goroutine of its
// own, unless one is folding already: the caller's outcomes are durable, and
// need not wait for the fold.
func (db *DB) foldLater() {
	if !db.folding.CompareAndSwap(false, true) {
		return
	}
	db.folds.Add(1)
	go func() {
		defer db.folds.Done()
		defer db.folding.Store(false)
		// A fold that fails is tried again later, and by the next Open at
		// the latest.
		db.fold(false)
	}()
}

// foldSome folds as in one transaction.
func (db *DB) foldSome(as []Attempt) error {
	// A file folds evict: read the leaves the fold will rewrite from the
	// disk now, outside the write transaction, which holds every other
	// write while it runs.
	db.bolt.View(func(tx *bolt.Tx) error {
		if tx.Size() <= evictAbove {
			return nil
		}
		b := tx.Bucket(bucketActivities)
		for i, a := range as {
			b.Get(entryKey(a.Activity))
			if i%dropEvery == dropEvery-1 {
				dropMapped(tx)
			}
		}
		dropMapped(tx)
		return nil
	})
	err := db.write(func(tx *bolt.Tx) error {
		return foldTx(tx, as, &db.sources)
	})
	if err != nil {
		return err
	}
	// The fold read leaves all over the file, and committing read them
	// again with every page it freed: give them back, and evict a large
	// file so that the next fold's reads map no cached neighbours
	// (pageCache). Dropping them before the commit would only have it
	// fault them in again.
	var size int64
	db.bolt.View(func(tx *bolt.Tx) error { dropMapped(tx); size = tx.Size(); return nil })
	if size > evictAbove {
		db.cache.evict()
	}
	db.folded.Add(int64(len(as)))
	db.logMu.Lock()
	defer db.logMu.Unlock()
	for _, a := range as {
		cur, ok := db.logged[a.Seq]
		if !ok || (cur.Outcome != nil) != (a.Outcome != nil) {
			// Folded by another fold meanwhile, or finished since: the
			// finished one is folded next time.
			continue
		}
		if cur.Outcome != nil {
			db.finished--
		}
		delete(db.logged, a.Seq)
		seqs := slices.DeleteFunc(db.byAct[a.Activity], func(s uint64) bool { return s == a.Seq })
		if len(seqs) == 0 {
			delete(db.byAct, a.Activity)
		} else {
			db.byAct[a.Activity] = seqs
		}
	}
	return nil
}
