package ledger

import (
	"os"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// dropMapped tells the kernel that this process no longer needs the pages
// of the ledger file it has read through bbolt's memory map. bbolt maps the
// file shared and read-only and writes with pwrite, so the pages are clean
// copies of the file in the page cache: they stay there (the next read of
// one costs a minor fault, not a disk read), but no longer count in the
// process's resident set. Without this, a run whose folds touch every page
// of a large ledger holds the whole file resident to its end: at a million
// rows, most of its peak RSS.
//
// Each read of a random key faults in about 35 KiB around its pages (the
// kernel maps neighbours already cached, whatever bbolt's MADV_RANDOM says),
// so folds and lookups call it every dropEvery activities, not once a
// transaction: 2000 random reads made 69 MB resident.
//
// It must be called inside a transaction of the DB: bbolt remaps the file
// only when committing a write, which waits for the reads to end, so the
// map cannot move under the call.
// dropEvery is how many activities a fold or a lookup reads between two
// dropMapped: at most about 9 MiB made resident.
const dropEvery = 256

func dropMapped(tx *bolt.Tx) {
	page := int64(os.Getpagesize())
	size := tx.Size() / page * page
	if size == 0 {
		return
	}
	unix.Syscall(unix.SYS_MADVISE, tx.DB().Info().Data, uintptr(size), unix.MADV_DONTNEED)
}
