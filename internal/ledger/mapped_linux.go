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
// A read through the map makes more than its page resident: the kernel
// maps with it every page of the file already in the page cache within the
// same 64 KiB ("fault-around", whatever bbolt's MADV_RANDOM says), so 1024
// random reads in a cached file make up to 64 MiB resident. Lookups call it
// every dropEvery activities; folds call it after each transaction, and
// evict a file past evictAbove from the page cache too (pageCache.evict),
// so that their reads find no cached neighbours to map.
//
// It must be called inside a transaction of the DB: bbolt remaps the file
// only when committing a write, which waits for the reads to end, so the
// map cannot move under the call.
func dropMapped(tx *bolt.Tx) {
	page := int64(os.Getpagesize())
	size := tx.Size() / page * page
	if size == 0 {
		return
	}
	unix.Syscall(unix.SYS_MADVISE, tx.DB().Info().Data, uintptr(size), unix.MADV_DONTNEED)
}

// dropEvery is how many activities a lookup reads between two dropMapped:
// at most about 16 MiB made resident.
const dropEvery = 256

// pageCache is a descriptor of the ledger file through which the ledger
// asks the kernel about the file's pages in the page cache; bbolt keeps its
// own to itself.
type pageCache struct{ f *os.File }

func openPageCache(path string) pageCache {
	f, err := os.Open(path)
	if err != nil {
		return pageCache{} // then the pages stay cached, and only more of them become resident
	}
	return pageCache{f}
}

// evict drops the file's clean pages from the page cache, but for those a
// map still holds (call dropMapped first). A fold's transaction reads and
// rewrites about a thousand leaves all over the file, and its commit reads
// each again through the map (bbolt's nodes point into it) together with
// every page it frees: with the file cached, each of those reads maps its
// cached neighbours too, 64 MiB at a million rows. With the file evicted a
// read maps only its own page, at the price of a read from the disk (about
// 20 µs here, against 2 µs): the fold runs beside the requests, so a run's
// CPU and time barely move (docs/ledger.md).
func (c pageCache) evict() {
	if c.f != nil {
		unix.Fadvise(int(c.f.Fd()), 0, 0, unix.FADV_DONTNEED)
	}
}

// prefetch asks the kernel to read the whole file into the page cache
// ahead of a copy that reads all of it (compact), so that the copy's reads
// are not each a read from the disk.
func (c pageCache) prefetch() {
	if c.f != nil {
		unix.Fadvise(int(c.f.Fd()), 0, 0, unix.FADV_WILLNEED)
	}
}

func (c pageCache) close() {
	if c.f != nil {
		c.f.Close()
	}
}
