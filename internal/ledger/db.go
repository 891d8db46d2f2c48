package ledger

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Bucket and key names of the file format. Version 2: version 1 and a log.
// Version 3: version 2 with binary records (record.go); records of versions
// 1 and 2 (JSON) are still read, so those files are opened as version 3.
//
// activities holds each activity's Entry under its key. log holds
// attempts of the running process (Attempt, its outcome once known)
// under their sequence number, big-endian: recording one appends near the
// end of the log's B+tree, where activities, keyed by activity id, would
// rewrite a page at a random place per record. The log is folded into
// activities in large transactions (a page rewritten once for many records)
// when it holds enough finished attempts, on Close, and on Open after a
// crash.
var (
	bucketMeta       = []byte("meta")
	bucketActivities = []byte("activities")
	bucketLog        = []byte("log")
	keyVersion       = []byte("version")
	keyBaseURL       = []byte("base_url")
)

const formatVersion = "3"

// foldAt is how many finished attempts the log gathers before they are
// folded into activities.
var foldAt = 8192 // a variable for the tests

// DefaultLockWait is how long Open waits for another run to release a ledger
// when Options.LockWait is zero: long enough to ride out a run that is just
// closing, short enough that a second run started by cron gives up at once.
const DefaultLockWait = 200 * time.Millisecond

// maxGroup caps how many writes one transaction commits.
const maxGroup = 256

// Options configure Open. The zero value is usable.
type Options struct {
	// BaseURL is the tenant's API base URL. It is recorded when the ledger is
	// created and checked on every later open, so that a ledger is never used
	// for another tenant. "" skips the check.
	BaseURL string
	// Run names the run holding the ledger, for the message a second run
	// prints when it finds the ledger locked. "" leaves it out.
	Run string
	// LockWait is how long Open waits for another run to release the ledger;
	// zero means DefaultLockWait.
	LockWait time.Duration
	// Now is the clock for attempts and outcomes given without a time; nil
	// means time.Now.
	Now func() time.Time

	// commit chooses how writes are committed; the zero value groups them.
	// Benchmarks set the others to compare.
	commit commitMode
}

type commitMode int

const (
	commitGroup commitMode = iota // one transaction for every write waiting, no added delay
	commitSolo                    // one transaction (and fsync) per write
	commitBatch                   // bbolt's DB.Batch: waits up to MaxBatchDelay to fill a batch
)

// DB is a Store kept in a bbolt file: one file per tenant, written with an
// fsync per transaction. Concurrent Begin and Finish calls are committed
// together in one transaction (group commit), so their cost does not grow
// with concurrency. The file is locked while the DB is open: a second Open of
// the same file, from any process, fails with a *LockedError.
type DB struct {
	path   string
	now    func() time.Time
	bolt   *bolt.DB
	commit commitMode

	mu     sync.RWMutex // guards closed; writers hold it shared while queueing
	closed bool
	writes chan writeReq
	done   chan struct{} // closed when the committer has stopped

	// logMu guards the attempts committed to the log bucket and not yet
	// folded, kept in memory so that Lookup and Finish need not read the log.
	logMu    sync.Mutex
	logged   map[uint64]Attempt
	byAct    map[string][]uint64
	finished int // attempts in logged with an outcome

	folding atomic.Bool    // a fold runs in the background
	folds   sync.WaitGroup // the background folds, for Close

	dirLock *dirLock // the state directory's lock, when opened by OpenDir
}

var _ Store = (*DB)(nil)

// Holder describes the run holding a ledger. It is written beside the ledger
// file (path + ".holder") while the ledger is open.
type Holder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host,omitempty"`
	Run     string    `json:"run,omitempty"`
	Started time.Time `json:"started"`
}

// LockedError is returned by Open when another run holds the ledger, and by
// OpenDir when another run holds the state directory.
type LockedError struct {
	Path   string  // the ledger file, or the state directory's LockName
	Holder *Holder // nil when the holder did not say who it is
}

func (e *LockedError) Error() string {
	who := "another run"
	if h := e.Holder; h != nil {
		who = fmt.Sprintf("another run (pid %d", h.PID)
		if h.Host != "" {
			who += " on " + h.Host
		}
		who += ", started " + h.Started.UTC().Format("2006-01-02 15:04:05 UTC")
		if h.Run != "" {
			who += ", run " + h.Run
		}
		who += ")"
	}
	what := ""
	if filepath.Base(e.Path) != LockName {
		what = " for the ledger " + filepath.Base(e.Path)
	}
	return fmt.Sprintf("the state directory %s is in use by %s%s: wait for that run to finish, or stop it; runs on one state directory never overlap",
		filepath.Dir(e.Path), who, what)
}

// Open opens (creating if needed, with its directory) the ledger file at
// path and locks it for this process until Close.
func Open(path string, opts Options) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, openFailure(filepath.Dir(path), "the state directory", err)
	}
	wait := opts.LockWait
	if wait <= 0 {
		wait = DefaultLockWait
	}
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: wait})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, &LockedError{Path: path, Holder: readHolder(path)}
	}
	if err != nil {
		return nil, openError(path, err)
	}
	if err := initFile(bdb, path, opts.BaseURL); err != nil {
		bdb.Close()
		return nil, err
	}
	host, _ := os.Hostname()
	writeHolder(path, Holder{PID: os.Getpid(), Host: host, Run: opts.Run, Started: time.Now().UTC()})
	db := &DB{
		path:   path,
		now:    opts.Now,
		bolt:   bdb,
		commit: opts.commit,
		writes: make(chan writeReq),
		done:   make(chan struct{}),
		logged: make(map[uint64]Attempt),
		byAct:  make(map[string][]uint64),
	}
	if db.commit == commitBatch {
		bdb.MaxBatchDelay = 2 * time.Millisecond
	}
	go db.committer()
	return db, nil
}

// initFile creates the buckets of a new file and checks those of an old one.
func initFile(bdb *bolt.DB, path, baseURL string) error {
	norm := ""
	if baseURL != "" {
		n, _, err := NormalizeBaseURL(baseURL)
		if err != nil {
			return err
		}
		norm = n
	}
	return bdb.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if _, err := tx.CreateBucketIfNotExists(bucketActivities); err != nil {
			return err
		}
		if _, err := tx.CreateBucketIfNotExists(bucketLog); err != nil {
			return err
		}
		switch v := meta.Get(keyVersion); {
		case v == nil || string(v) == "1" || string(v) == "2": // version 1 is version 2 without a log; both are read as they are
			if err := meta.Put(keyVersion, []byte(formatVersion)); err != nil {
				return err
			}
		case string(v) != formatVersion:
			return fmt.Errorf("the ledger %s has format %s, this reconcile reads format %s: use the reconcile version that wrote it", path, v, formatVersion)
		}
		// What a process that died left in the log: its attempts, finished
		// or not, go to activities as they are.
		var left []Attempt
		if err := tx.Bucket(bucketLog).ForEach(func(k, v []byte) error {
			var a Attempt
			if err := decodeAttempt(v, &a); err != nil {
				return fmt.Errorf("ledger: the log record %x is damaged: %w", k, err)
			}
			left = append(left, a)
			return nil
		}); err != nil {
			return err
		}
		if err := foldTx(tx, left); err != nil {
			return err
		}
		if norm == "" {
			return nil
		}
		switch old := meta.Get(keyBaseURL); {
		case old == nil:
			return meta.Put(keyBaseURL, []byte(norm))
		case !sameBaseURL(string(old), norm):
			return fmt.Errorf("the ledger %s belongs to %s, not %s: pass the --state-dir of this tenant", path, old, norm)
		}
		return nil
	})
}

// openError says why bbolt could not open the ledger at path. Only a file
// bbolt finds damaged gets the advice to move it aside: that advice costs
// the memory of what was sent, and a ledger that is merely not writable
// needs its permissions fixed instead.
func openError(path string, err error) error {
	switch {
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrChecksum),
		errors.Is(err, bolterrors.ErrVersionMismatch), errors.Is(err, bolterrors.ErrInvalidMapping):
		return fmt.Errorf("the ledger %s is damaged (%w): move it aside and run again; every activity would then be sent again, and 409s reported as conflicts", path, err)
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EROFS):
		return openFailure(path, "the ledger", err)
	}
	return fmt.Errorf("cannot open the ledger %s: %w", path, err)
}

func holderPath(path string) string { return path + ".holder" }

// writeHolder records who holds the ledger. It is advice for the message of a
// run that finds the ledger locked, so failing to write it is not an error.
func writeHolder(path string, h Holder) {
	data, err := json.Marshal(h)
	if err != nil {
		return
	}
	tmp := holderPath(path) + ".tmp" + strconv.Itoa(h.PID)
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return
	}
	if err := os.Rename(tmp, holderPath(path)); err != nil {
		os.Remove(tmp)
	}
}

func readHolder(path string) *Holder { return readHolderFile(holderPath(path)) }

// readHolderFile reads a Holder from file: the ledger's holder file, or the
// state directory's lock file. It is nil when the file names no holder.
func readHolderFile(file string) *Holder {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var h Holder
	if json.Unmarshal(data, &h) != nil || h.PID == 0 {
		return nil
	}
	return &h
}

// Path is the ledger's file.
func (db *DB) Path() string { return db.path }

// Close waits for the writes in progress, then releases the file and its lock.
func (db *DB) Close() error {
	// Whatever fails here stays in the log, which the next Open folds.
	db.folds.Wait()
	db.fold(true)
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return nil
	}
	db.closed = true
	close(db.writes)
	db.mu.Unlock()
	<-db.done
	os.Remove(holderPath(db.path))
	err := db.bolt.Close()
	if e := db.dirLock.unlock(); err == nil {
		err = e
	}
	return err
}

// sameBaseURL says whether a base URL recorded in a ledger, perhaps by an
// older reconcile that spelt loopback hosts as given, names the API norm does.
func sameBaseURL(recorded, norm string) bool {
	n, _, err := NormalizeBaseURL(recorded)
	return err == nil && n == norm
}

// Lookup implements Store.
func (db *DB) Lookup(ctx context.Context, activity string) (Entry, error) {
	es, err := db.LookupAll(ctx, []string{activity})
	if err != nil {
		return Entry{Activity: activity}, err
	}
	return es[0], nil
}

// LookupAll implements Store: one read transaction for every activity.
func (db *DB) LookupAll(ctx context.Context, activities []string) ([]Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The log first: an attempt folded meanwhile is then found in activities.
	logged := make([][]Attempt, len(activities))
	db.logMu.Lock()
	for i, activity := range activities {
		for _, seq := range db.byAct[activity] {
			logged[i] = append(logged[i], cloneAttempt(db.logged[seq]))
		}
	}
	db.logMu.Unlock()
	es := make([]Entry, len(activities))
	err := db.bolt.View(func(tx *bolt.Tx) error {
		for i, activity := range activities {
			var err error
			if es[i], err = getEntry(tx, activity); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		err = ErrClosed
	}
	if err != nil {
		return nil, err
	}
	for i := range es {
		e := &es[i]
		if len(logged[i]) == 0 {
			continue
		}
		for _, a := range logged[i] {
			if !slices.ContainsFunc(e.Attempts, func(b Attempt) bool { return b.Seq == a.Seq }) {
				e.Attempts = append(e.Attempts, a)
			}
		}
		slices.SortFunc(e.Attempts, func(a, b Attempt) int { return cmp.Compare(a.Seq, b.Seq) })
	}
	return es, nil
}

func cloneAttempt(a Attempt) Attempt {
	if a.Outcome != nil {
		o := *a.Outcome
		a.Outcome = &o
	}
	return a
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// foldTx moves attempts from the log to their activities' entries, in seq order.
func foldTx(tx *bolt.Tx, as []Attempt) error {
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
			if err := decodeAttempt(v, &a); err != nil {
				return fmt.Errorf("ledger: the log record %d is damaged: %w", a.Seq, err)
			}
		}
		e, err := getEntry(tx, a.Activity)
		if err != nil {
			return err
		}
		switch i := slices.IndexFunc(e.Attempts, func(b Attempt) bool { return b.Seq == a.Seq }); {
		case i < 0:
			e.Activity = a.Activity
			e.Attempts = append(e.Attempts, a)
			if err := putEntry(tx, &e); err != nil {
				return err
			}
		case e.Attempts[i].Outcome == nil && a.Outcome != nil:
			// Folded before its outcome came: the outcome is the news.
			e.Attempts[i].Outcome = a.Outcome
			if err := putEntry(tx, &e); err != nil {
				return err
			}
		}
		if err := log.Delete(seqKey(a.Seq)); err != nil {
			return err
		}
	}
	return nil
}

// foldChunk is the most attempts one fold transaction moves. The committer
// holds every other write while it commits one: folding 8192 at once held
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
	if err := db.write(func(tx *bolt.Tx) error { return foldTx(tx, as) }); err != nil {
		return err
	}
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
			if err := log.Put(seqKey(seq), appendAttempt(nil, &a)); err != nil {
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
				if err := log.Put(seqKey(a.Seq), appendAttempt(nil, &a)); err != nil {
					return err
				}
				inLog = append(inLog, a)
				continue
			}
			// Begun before this DB was opened, or already folded.
			e, err := getEntry(tx, f.Ticket.Activity)
			if err != nil {
				return err
			}
			if err := setOutcome(&e, f.Ticket.Seq, o); err != nil {
				bad = append(bad, err)
				continue
			}
			if err := putEntry(tx, &e); err != nil {
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

func getEntry(tx *bolt.Tx, activity string) (Entry, error) {
	e := Entry{Activity: activity}
	v := tx.Bucket(bucketActivities).Get([]byte(activity))
	if v == nil {
		return e, nil
	}
	if err := decodeEntry(v, &e); err != nil {
		return e, fmt.Errorf("ledger: the record of activity %q is damaged: %w", activity, err)
	}
	return e, nil
}

func putEntry(tx *bolt.Tx, e *Entry) error {
	return tx.Bucket(bucketActivities).Put([]byte(e.Activity), appendEntry(nil, e))
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
