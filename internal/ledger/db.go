package ledger

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// foldAt is how many finished attempts the log gathers before they are
// folded into activities.
var foldAt = 8192 // a variable for the tests

// allocSize is how much the file grows by at a time once it is past it.
const allocSize = 1 << 20

// DefaultLockWait is how long Open waits for another run to release a ledger
// when Options.LockWait is zero: long enough to ride out a run that is just
// closing, short enough that a second run started by cron gives up at once.
const DefaultLockWait = 200 * time.Millisecond

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

	// solo commits each write in a transaction of its own, for the
	// benchmarks to compare with DB.Batch.
	solo bool
}

// DB is a Store kept in a bbolt file: one file per tenant, written with an
// fsync per transaction. Concurrent Begin and Finish calls are committed
// together in one transaction (bbolt's DB.Batch), so their cost does not
// grow with concurrency. The file is locked while the DB is open: a second Open of
// the same file, from any process, fails with a *LockedError.
type DB struct {
	path    string
	now     func() time.Time
	bolt    *bolt.DB
	solo    bool
	sources sourceTable

	mu     sync.RWMutex // guards closed; writers hold it shared while they write
	closed bool

	// logMu guards the attempts committed to the log bucket and not yet
	// folded, kept in memory so that Lookup and Finish need not read the log.
	logMu    sync.Mutex
	logged   map[uint64]Attempt
	byAct    map[string][]uint64
	finished int // attempts in logged with an outcome

	folding atomic.Bool    // a fold runs in the background
	folds   sync.WaitGroup // the background folds, for Close
	folded  atomic.Int64   // attempts folded since Open, for Close's compact

	dirLock *dirLock // the state directory's lock, when opened by OpenDir

	cache pageCache // the file's pages in the page cache, for folds and compact
}

var _ Store = (*DB)(nil)

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
	// The freelist as a map: bbolt's default, an array, is searched from
	// the start for every page a commit allocates, and a fold frees and
	// allocates a few thousand pages at a time.
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: wait, FreelistType: bolt.FreelistMapType})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, &LockedError{Path: path, Holder: readHolder(path)}
	}
	if err != nil {
		return nil, openError(path, err)
	}
	// A copy that a killed Close was compacting is not the ledger.
	os.Remove(compactPath(path))
	// bbolt grows a file past 16 MiB 16 MiB at a time (its AllocSize): a
	// twentieth of a ledger of a million rows, never used.
	bdb.AllocSize = allocSize
	db := &DB{
		path:   path,
		now:    opts.Now,
		bolt:   bdb,
		solo:   opts.solo,
		logged: make(map[uint64]Attempt),
		byAct:  make(map[string][]uint64),
	}
	if err := initFile(bdb, path, opts.BaseURL, &db.sources); err != nil {
		bdb.Close()
		return nil, err
	}
	db.cache = openPageCache(path)
	host, _ := os.Hostname()
	writeHolder(path, Holder{PID: os.Getpid(), Host: host, Run: opts.Run, Started: time.Now().UTC()})
	bdb.MaxBatchDelay = batchDelay
	return db, nil
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
	db.closed = true // the writes in progress are done: they held mu
	db.mu.Unlock()
	if db.folded.Load() >= int64(compactAfter) {
		// A copy that fails leaves the ledger as it was, only larger.
		db.compact()
	}
	db.cache.close()
	os.Remove(holderPath(db.path))
	err := db.bolt.Close()
	if e := db.dirLock.unlock(); err == nil {
		err = e
	}
	return err
}
