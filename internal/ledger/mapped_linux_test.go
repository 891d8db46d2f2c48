package ledger

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// cachedPages is how many of the file's pages are in the page cache, and
// how many it has (mincore on a map of its own, which makes none resident).
func cachedPages(t *testing.T, path string) (cached, pages int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	page := os.Getpagesize()
	vec := make([]byte, (len(m)+page-1)/page)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	for _, v := range vec {
		cached += int(v & 1)
	}
	return cached, len(vec)
}

// A fold leaves the ledger file out of the page cache, so that the next
// fold's reads through the map do not make the cached pages around them
// resident too (mapped_linux.go). Without the eviction, every page the
// folds read or wrote stays cached.
func TestFoldEvictsTheFileFromThePageCache(t *testing.T) {
	defer func(f int, e int64) { foldAt, evictAbove = f, e }(foldAt, evictAbove)
	foldAt, evictAbove = 2000, 0
	dir := t.TempDir()
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		t.Fatal(err)
	}
	if fs.Type == unix.TMPFS_MAGIC {
		t.Skipf("%s is on tmpfs, whose pages cannot be evicted; set TMPDIR to a folder on disk to run this test", dir)
	}
	db, err := Open(dir+"/ledger.db", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	ids := rand.New(rand.NewPCG(3, 4)).Perm(20000)
	for chunk := range 10 {
		var as []Attempt
		for _, i := range ids[chunk*2000 : (chunk+1)*2000] {
			as = append(as, Attempt{Activity: fmt.Sprintf("be000000-0000-4000-8000-%012d", i), Hash: strings.Repeat("cd", 32), Run: "r", File: "f.csv", Row: i + 2})
		}
		ts, err := db.BeginAll(ctx, as)
		if err != nil {
			t.Fatal(err)
		}
		var done []Finished
		for _, tk := range ts {
			done = append(done, Finished{Ticket: tk, Outcome: Outcome{Class: "ok", Status: 201, ResultID: "00000000-0000-4000-8000-000000000002"}})
		}
		if err := db.FinishAll(ctx, done); err != nil {
			t.Fatal(err)
		}
		db.folds.Wait()
	}
	db.fold(true)
	cached, pages := cachedPages(t, db.Path())
	t.Logf("after the last fold, %d of the file's %d pages are in the page cache", cached, pages)
	if pages < 256 {
		t.Fatalf("the ledger has only %d pages: too few to tell", pages)
	}
	if cached > pages/10 {
		t.Errorf("%d of the ledger's %d pages are still in the page cache after a fold, want at most a tenth", cached, pages)
	}
}
