package validate

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"os"
	"slices"
	"sort"

	"github.com/reten/reconcile/internal/spill"
)

// A keyRun is keys written out by spill (or merge), sorted by hash, then key.
type keyRun struct {
	f     *os.File
	name  string   // to remove on close, where the file could not be unlinked while open
	n     int      // entries
	first []uint64 // the hash of every blockKeys-th entry, but its low 16 bits
	level int      // 0 written by spill; merging mergeRuns runs of level l gives l+1
	// filter holds the run's keys (1 byte a key), so that a key the
	// global filter may have seen is looked for in the run that has it,
	// not in every run.
	filter bloom
}

// entryLess orders run entries: by hash, then key.
func entryLess(ha uint64, a *[16]byte, hb uint64, b *[16]byte) bool {
	if ha != hb {
		return ha < hb
	}
	return bytes.Compare(a[:], b[:]) < 0
}

// spill writes the keys in memory out as a run and empties the memory,
// merging runs and enlarging the filter as needed. If the run cannot be
// written the keys stay in memory; after any error the set's answers must
// not be trusted (lookup's callers check s.err).
func (s *keySet) spill() error {
	total := s.spilled + s.n
	if s.spilled == 0 {
		// The first filter is made empty, not read back from disk.
		s.filter = newBloom(s.filterSize(total), filterBits)
	}
	rebuild := total > s.filter.keys
	// Keys inserted after the first spill are in the filter already.
	addKeys := !rebuild && s.spilled == 0
	order := s.sorted()
	r, err := s.create(0, s.n)
	if err != nil {
		return err
	}
	w := runWriter{s: s, r: r}
	for _, o := range order {
		i := int(o & 0xFFFF)
		if addKeys {
			// In hash order, so through the filter front to back.
			s.filter.add(o)
		}
		e := &s.keys[i>>chunkBits][i&(chunkKeys-1)]
		w.add(&e.k, e.at, o)
	}
	if err := w.close(); err != nil {
		return err
	}
	s.runs = append(s.runs, r)
	s.spilled = total
	s.n = 0
	clear(s.slots)
	clear(s.counts)
	// Merging costs a read and a write of the runs merged; it pays when
	// lookups reach the runs often (each asks every run's filter). When
	// they rarely do (few duplicates, the filter's rare false "maybe"),
	// runs pile up to maxRuns first.
	for len(s.runs) >= maxRuns || s.asked >= s.spilled/64 {
		j := s.mergeable()
		if j < 0 {
			break
		}
		if err := s.merge(j); err != nil {
			return err
		}
		s.asked = 0
	}
	if rebuild {
		return s.rebuildFilter(total)
	}
	return nil
}

// sorted returns the numbers of the keys in memory in (hash, key) order,
// each in the low 16 bits of its hash.
//
// Hashes are uniform, so a counting sort on their top bits into about n/4
// buckets and a sort of each (a few entries) does it in linear time: a
// general sort took a quarter of the validator's time at a million keys.
func (s *keySet) sorted() []uint64 {
	b := s.bbits
	// insert counted the keys of each bucket in counts[1:].
	starts := s.counts
	for i := 1; i < len(starts); i++ {
		starts[i] += starts[i-1]
	}
	if cap(s.order) < s.n {
		s.order = make([]uint64, s.n)
	}
	o := s.order[:s.n]
	for i := 0; i < s.n; i++ {
		h := s.hash(s.key(i))
		bk := h >> (64 - b)
		o[starts[bk]] = h&^0xFFFF | uint64(i)
		starts[bk]++
	}
	// starts[bk] is now where bucket bk+1 begins.
	lo := uint32(0)
	for _, hi := range starts[:1<<b] {
		if bucket := o[lo:hi]; len(bucket) > 1 {
			if len(bucket) <= 16 {
				for i := 1; i < len(bucket); i++ {
					for j := i; j > 0 && bucket[j] < bucket[j-1]; j-- {
						bucket[j], bucket[j-1] = bucket[j-1], bucket[j]
					}
				}
			} else {
				slices.Sort(bucket)
			}
		}
		lo = hi
	}
	// Keys whose hashes agree but for the low 16 bits came out in the order
	// they were inserted in; put them in (hash, key) order.
	for i := 0; i < len(o); {
		j := i + 1
		for j < len(o) && o[j]>>16 == o[i]>>16 {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(o[i:j], func(a, b uint64) int {
				ka, kb := s.key(int(a&0xFFFF)), s.key(int(b&0xFFFF))
				ha, hb := s.hash(ka), s.hash(kb)
				switch {
				case entryLess(ha, ka, hb, kb):
					return -1
				case entryLess(hb, kb, ha, ka):
					return 1
				}
				return 0
			})
		}
		i = j
	}
	return o
}

// bucketBits is how many top bits of a key's hash pick its bucket for
// sorted: about limit/4 buckets (limit is at most 1<<16).
func (s *keySet) bucketBits() uint {
	return uint(min(max(bits.Len(uint(s.limit))-3, 1), 14))
}

// create opens an empty run file and unlinks it where the system allows.
func (s *keySet) create(level, n int) (*keyRun, error) {
	f, name, err := spill.Create(s.dir, "reconcile-seen-*")
	if err != nil {
		return nil, s.failed("creating", err)
	}
	return &keyRun{f: f, name: name, level: level, filter: newBloom(n, runFilterBits)}, nil
}

func (r *keyRun) close() {
	r.f.Close()
	if r.name != "" {
		os.Remove(r.name)
		spill.Disown(r.name)
	}
}

// failed says what went wrong with a temporary file, and what to do.
func (s *keySet) failed(doing string, err error) error {
	dir := s.dir
	if dir == "" {
		dir = os.TempDir()
	}
	return fmt.Errorf("checking for duplicate activities: %s a temporary file in %s: %w\n"+
		"  what to do: check that %s exists, is writable and has room (about 60 bytes a row while the batch is checked), and run again", doing, dir, err, dir)
}

// runWriter writes entries to a new run, in order, keeping its sparse index.
type runWriter struct {
	s   *keySet
	r   *keyRun
	buf []byte
	off int64
	err error
}

// add appends k, which follows every key added before; h is its hash
// (only the bits above the low 16 are used).
func (w *runWriter) add(k *[16]byte, at rowRef, h uint64) {
	if w.r.n%w.s.blockKeys == 0 {
		w.r.first = append(w.r.first, h&^0xFFFF)
	}
	w.r.n++
	w.r.filter.add(h)
	if w.buf == nil {
		if w.s.wbuf == nil {
			w.s.wbuf = make([]byte, 0, 64<<10)
		}
		w.buf = w.s.wbuf[:0]
	}
	// Stored in place rather than appended: append's checks showed in
	// profiles, at a few million entries a batch.
	n := len(w.buf)
	w.buf = w.buf[:n+entrySize]
	e := w.buf[n : n+entrySize]
	*(*[16]byte)(e) = *k
	binary.LittleEndian.PutUint32(e[16:], uint32(at))
	if n+2*entrySize > cap(w.buf) {
		w.flush()
	}
}

func (w *runWriter) flush() {
	if w.err == nil && len(w.buf) > 0 {
		var n int
		n, w.err = w.r.f.WriteAt(w.buf, w.off)
		w.off += int64(n)
	}
	w.buf = w.buf[:0]
}

// close finishes the run; on an error it removes the file.
func (w *runWriter) close() error {
	w.flush()
	if w.err != nil {
		w.r.close()
		return w.s.failed("writing", w.err)
	}
	return nil
}

// onDisk looks k up in the runs; on a read error it sets s.err.
func (s *keySet) onDisk(k *[16]byte, h uint64) (rowRef, bool) {
	if len(s.block) < s.blockKeys*entrySize {
		s.block = make([]byte, s.blockKeys*entrySize)
	}
	// Each run holds the keys first seen in one stretch of the batch, so
	// the copies of a stretch (an export pasted twice, a file sent again)
	// are found in the run of the last one found: look there first. Then
	// oldest first, which is largest first: most keys are in the old runs.
	s.hit = min(s.hit, len(s.runs)-1)
	for n := 0; n < len(s.runs); n++ {
		i := s.hit
		if n > 0 {
			i = n - 1
			if i >= s.hit {
				i++
			}
		}
		r := s.runs[i]
		if !r.filter.has(h) {
			continue
		}
		// Entries of hash h start in the last block whose first hash is
		// below h, and may run on into blocks that start with h (all
		// without their low 16 bits, as the index has them).
		hi := h &^ 0xFFFF
		start := max(sort.Search(len(r.first), func(j int) bool { return r.first[j] >= hi })-1, 0)
		for b := start; b < len(r.first) && (b == start || r.first[b] <= hi); b++ {
			lo := b * s.blockKeys
			cnt := min(s.blockKeys, r.n-lo)
			blk := s.block[:cnt*entrySize]
			if _, err := r.f.ReadAt(blk, int64(lo)*entrySize); err != nil {
				if s.err == nil {
					s.err = s.failed("reading", err)
				}
				return 0, false
			}
			j := sort.Search(cnt, func(j int) bool {
				e := (*[16]byte)(blk[j*entrySize:])
				return !entryLess(s.hash(e), e, h, k)
			})
			if j < cnt {
				if e := (*[16]byte)(blk[j*entrySize:]); *e == *k {
					s.hit = i
					return rowRef(binary.LittleEndian.Uint32(blk[j*entrySize+16:])), true
				}
				break // an entry above k: k is not in this run
			}
		}
	}
	return 0, false
}

// runReader reads a run's entries in order, a chunk at a time.
type runReader struct {
	r        *keyRun
	buf      []byte
	off      int64 // of the file, after buf
	pos, end int   // in buf
	k        [16]byte
	at       rowRef
	h        uint64
}

func (s *keySet) reader(r *keyRun) *runReader {
	return &runReader{r: r, buf: make([]byte, 1638*entrySize)}
}

// next reads the next entry; false at the end or on an error (err says which).
func (rr *runReader) next(s *keySet) (bool, error) {
	if rr.pos == rr.end {
		left := int64(rr.r.n)*entrySize - rr.off
		if left == 0 {
			return false, nil
		}
		n := int(min(left, int64(len(rr.buf))))
		if _, err := rr.r.f.ReadAt(rr.buf[:n], rr.off); err != nil {
			return false, s.failed("reading", err)
		}
		rr.off += int64(n)
		rr.pos, rr.end = 0, n
	}
	e := rr.buf[rr.pos : rr.pos+entrySize]
	rr.pos += entrySize
	rr.k = [16]byte(e[:16])
	rr.at = rowRef(binary.LittleEndian.Uint32(e[16:]))
	rr.h = s.hash(&rr.k)
	return true, nil
}

// mergeable returns where the first mergeRuns runs of one level in a row
// start, or -1. Levels never increase from the oldest run to the newest,
// and merging the first such runs keeps it so.
func (s *keySet) mergeable() int {
	for j := 0; j+mergeRuns <= len(s.runs); j++ {
		if s.runs[j].level == s.runs[j+mergeRuns-1].level {
			return j
		}
	}
	return -1
}

// merge replaces the mergeRuns runs from j on by one.
func (s *keySet) merge(j int) error {
	from := slices.Clone(s.runs[j : j+mergeRuns])
	n := 0
	for _, r := range from {
		n += r.n
	}
	out, err := s.create(from[0].level+1, n)
	if err != nil {
		return err
	}
	heads := make([]*runReader, 0, len(from))
	for _, r := range from {
		rr := s.reader(r)
		ok, err := rr.next(s)
		if err != nil {
			out.close()
			return err
		}
		if ok {
			heads = append(heads, rr)
		}
	}
	w := runWriter{s: s, r: out}
	for len(heads) > 0 {
		m := 0
		for i := 1; i < len(heads); i++ {
			if entryLess(heads[i].h, &heads[i].k, heads[m].h, &heads[m].k) {
				m = i
			}
		}
		w.add(&heads[m].k, heads[m].at, heads[m].h)
		ok, err := heads[m].next(s)
		if err != nil {
			w.close()
			out.close()
			return err
		}
		if !ok {
			heads = slices.Delete(heads, m, m+1)
		}
	}
	if err := w.close(); err != nil {
		return err
	}
	for _, r := range from {
		r.close()
	}
	s.runs = slices.Replace(s.runs, j, j+mergeRuns, out)
	return nil
}

// rebuildFilter makes a filter for at least keys keys from the runs on disk.
func (s *keySet) rebuildFilter(keys int) error {
	s.filter = bloom{} // a failed rebuild must not leave a filter that misses keys
	f := newBloom(s.filterSize(keys), filterBits)
	for _, r := range s.runs {
		rr := s.reader(r)
		for {
			ok, err := rr.next(s)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			f.add(rr.h)
		}
	}
	s.filter = f
	return nil
}

// filterSize is how many keys a filter for keys keys is made for: the
// first for filterKeys (so that a million keys of one kind need no rebuild,
// and memory is as flat as it can be from the first spill on), the next
// ones twice the last, so that rebuilds cost each key a constant number of
// reads.
func (s *keySet) filterSize(keys int) int {
	c := max(s.filter.keys, min(16*s.limit, filterKeys))
	for c < keys {
		c *= 2
	}
	return c
}
