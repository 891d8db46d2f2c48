package validate

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"os"
	"slices"
	"sort"

	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/spill"
)

// keySet remembers 16-byte activity keys and, for each, the first row that
// held it (as a rowRef): the validator's memory of a batch. It answers
// exactly ("seen before, and where?"; "remember it") for any number of keys,
// in memory that grows with them by 3 bytes a key only:
//
//   - the newest keys (up to limit) are held in memory, densely, in
//     insertion order, in fixed-size chunks that are never copied (20 bytes a
//     key with its row), with a hash index of uint32 slots pointing into
//     them: the key's number plus one (0 is an empty slot) in the low bits,
//     and the top bits of the key's hash in the bits the numbers do not need
//     yet, so a probe rarely reads a key that is not the one asked for. The
//     index is kept at most half full, 8 to 16 bytes a key.
//   - when limit keys are held, they are sorted by hash and written out to a
//     temporary file as a run, and the memory is reused. Of a run only the
//     hash of every blockKeys-th entry stays in memory (a sparse index), and
//     one Bloom filter over every key written out (2 bytes a key, one cache
//     line a probe) tells that a key is surely not on disk. Only when it says
//     "maybe" are the runs asked: each has a filter of its own (1 byte a key),
//     and only a run whose filter says "maybe" has one block read (pread) and
//     searched.
//   - mergeRuns runs of one size are merged into one, so that lookups ask
//     few runs: as soon as lookups reach the runs often (duplicates), else
//     once maxRuns runs pile up.
//
// Keys are compared whole: a hash collision only costs a comparison. The
// temporary files are unlinked as soon as they are created (where the
// system allows it), so nothing is left behind even if the process is
// killed; their space goes back when the set is closed or collected.
type keySet struct {
	keys  [][]keyEntry // chunks of chunkKeys keys
	n     int          // keys in memory
	slots []uint32     // len a power of two, or 0
	shift uint         // bits of a slot that hold the key's number; the rest hold the hash's top bits
	seed  uint64
	hmask uint64 // ANDed into every hash: all ones, but tests narrow it to force collisions

	limit     int    // keys held in memory before they are written out: 1 to 1<<16
	blockKeys int    // entries of a run per sparse index entry (and per read)
	dir       string // where the temporary files go (Validator.SpillDir); "" is os.TempDir()

	runs    []*keyRun // on disk, oldest first; a key is in at most one of them or in memory
	spilled int       // keys in runs
	filter  bloom     // every key in runs, and the keys in memory inserted since the first spill
	err     error     // the first failure of a temporary file; the set's answers are no longer complete

	hit    int      // the run the last key found on disk was in
	asked  int      // lookups that reached the runs since the last merge
	order  []uint64 // scratch for spill
	counts []uint32 // keys in memory by top bits of their hash, from counts[1], for spill
	bbits  uint     // s.bucketBits(), once counts is made
	wbuf   []byte   // scratch for writing runs
	block  []byte   // scratch for one block read
}

const (
	chunkBits = 12
	chunkKeys = 1 << chunkBits

	// SpillKeys is how many activity keys of each kind (activity_id and
	// provider_activity_id) the validator holds in memory before it writes
	// them, sorted, to a temporary file: 1.75 MiB a kind (20 bytes a key
	// with its row, 8 of index). Past it, what stays in memory is a Bloom
	// filter sized for 1<<20 keys of the kind (2 MiB, doubled when full),
	// 1 byte a key for the runs' own filters and 8 bytes per 128 keys of
	// sparse index. The files take 20 bytes a key, up to twice while runs
	// are merged.
	SpillKeys = 1 << 16

	spillBlockKeys = 128     // 2.5 KiB read per run when the filter says maybe
	mergeRuns      = 8       // runs merged at once
	maxRuns        = 32      // runs kept before merging even if lookups rarely reach them
	entrySize      = 16 + 4  // a key and its rowRef, little-endian, in a run file
	filterBits     = 16      // Bloom filter bits a spilled key
	runFilterBits  = 8       // and in its run's own filter
	filterKeys     = 1 << 20 // keys the first global filter is sized for
)

// rowRef is a row of the batch in 4 bytes: the place's base plus the row number.
type rowRef uint32

func newKeySet() *keySet {
	return &keySet{seed: rand.Uint64(), hmask: ^uint64(0), limit: SpillKeys, blockKeys: spillBlockKeys}
}

func (s *keySet) hash(k *[16]byte) uint64 {
	a := binary.LittleEndian.Uint64(k[:8])
	b := binary.LittleEndian.Uint64(k[8:])
	// Two rounds of multiply and fold (as wyhash does): every key bit
	// reaches the top bits, which pick the slot, whatever the ids look like
	// (sequential provider ids, time-ordered UUIDs).
	hi, lo := bits.Mul64(a^s.seed, b^0x9E3779B97F4A7C15)
	hi, lo = bits.Mul64(hi^lo, 0xE7037ED1A0B428DB^s.seed)
	return (hi ^ lo) & s.hmask
}

// find returns the slot of k: where it is (found) or where it would go.
func (s *keySet) find(k *[16]byte, h uint64) (slot int, found bool) {
	mask := len(s.slots) - 1
	tag := uint32(h>>32) &^ (1<<s.shift - 1)
	for i := int(h) & mask; ; i = (i + 1) & mask {
		e := s.slots[i]
		if e == 0 {
			return i, false
		}
		if e&^(1<<s.shift-1) == tag && *s.key(int(e&(1<<s.shift-1)) - 1) == *k {
			return i, true
		}
	}
}

// keyEntry is a key and its first row, side by side so that spill reads
// each with one cache miss.
type keyEntry struct {
	k  [16]byte
	at rowRef
}

func (s *keySet) key(i int) *[16]byte { return &s.keys[i>>chunkBits][i&(chunkKeys-1)].k }
func (s *keySet) row(i int) rowRef    { return s.keys[i>>chunkBits][i&(chunkKeys-1)].at }

// lookup returns the row that first held k, and the slot where k would go
// (valid until the next insert into s). h is s.hash(k), which depends only
// on the seed, so it may be worked out on another goroutine beforehand.
// Once s.err is set the answer may be wrong and must not be used.
func (s *keySet) lookup(k *[16]byte, h uint64) (first rowRef, found bool, slot int) {
	if s.n >= s.limit && s.err == nil {
		// A failed spill leaves every key in memory: the set goes on
		// growing there, as it would without files, but s.err says so.
		s.err = s.spill()
	}
	if 2*(s.n+1) > len(s.slots) {
		s.grow()
	}
	slot, found = s.find(k, h)
	if found {
		return s.row(int(s.slots[slot]&(1<<s.shift-1)) - 1), true, slot
	}
	if s.spilled > 0 && s.filter.has(h) {
		s.asked++
		if first, found = s.onDisk(k, h); found {
			return first, true, slot
		}
	}
	return 0, false, slot
}

// insert stores k at the slot lookup returned for it.
func (s *keySet) insert(k *[16]byte, at rowRef, slot int, h uint64) {
	c := s.n >> chunkBits
	if c == len(s.keys) {
		s.keys = append(s.keys, make([]keyEntry, chunkKeys))
	}
	// Chunks are full length, so storing a key writes no slice header
	// (which holds a pointer: a write barrier while a collection runs).
	s.keys[c][s.n&(chunkKeys-1)] = keyEntry{*k, at}
	s.n++
	if s.counts == nil {
		s.bbits = s.bucketBits()
		s.counts = make([]uint32, 1<<s.bbits+1)
	}
	s.counts[h>>(64-s.bbits)+1]++
	s.slots[slot] = uint32(s.n) | uint32(h>>32)&^(1<<s.shift-1)
	if s.spilled > 0 && len(s.filter.blocks) > 0 {
		// Once there is a filter, a key goes into it now, not when it is
		// written out: lookup has just read its block, so this costs no
		// cache miss, where spill's pass would take one a key. The filter
		// then also holds keys still in memory, which lookup finds first.
		s.filter.add(h)
	}
}

// grow doubles the index and puts every key back into it.
func (s *keySet) grow() {
	size := max(2*len(s.slots), 64)
	if size > 1<<32 {
		panic("reconcile: more than 2^31 distinct activities in one batch")
	}
	s.slots = make([]uint32, size)
	// Key numbers go up to size/2, so they need log2(size) bits.
	s.shift = uint(bits.Len(uint(size / 2)))
	mask := size - 1
	tagMask := ^uint32(0) &^ (1<<s.shift - 1)
	for i := 0; i < s.n; i++ {
		h := s.hash(s.key(i))
		j := int(h) & mask
		for s.slots[j] != 0 {
			j = (j + 1) & mask
		}
		s.slots[j] = uint32(i+1) | uint32(h>>32)&tagMask
	}
}

// bytes is the memory s holds: keys, rows, index, filter and sparse indexes.
func (s *keySet) bytes() int {
	b := len(s.keys)*chunkKeys*entrySize + 4*len(s.slots) + 32*len(s.filter.blocks)
	for _, r := range s.runs {
		b += 8*len(r.first) + 32*len(r.filter.blocks)
	}
	return b
}

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

// close lets go of the temporary files.
func (s *keySet) close() {
	for _, r := range s.runs {
		r.close()
	}
	s.runs, s.spilled, s.filter = nil, 0, bloom{}
}

// bloom is a split-block Bloom filter (as Parquet's): a key sets one bit in
// each of the 8 words of one 32-byte block, so a probe reads one cache line.
// It uses the hash's top 48 bits only, which sorted keeps.
// At 16 bits a key about 1 in 2,000 keys not in it is a false "maybe".
type bloom struct {
	blocks [][8]uint32
	keys   int // what it was sized for
}

func newBloom(keys, bitsPerKey int) bloom {
	return bloom{blocks: make([][8]uint32, max(keys*bitsPerKey/256, 1)), keys: keys}
}

var bloomSalt = [8]uint32{0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d, 0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31}

func (f *bloom) block(h uint64) *[8]uint32 {
	return &f.blocks[(h>>32*uint64(len(f.blocks)))>>32]
}

func (f *bloom) add(h uint64) {
	b, x := f.block(h), uint32(h>>16)
	for i := range b {
		b[i] |= 1 << (x * bloomSalt[i] >> 27)
	}
}

// has reports whether h may have been added; false is certain.
func (f *bloom) has(h uint64) bool {
	if len(f.blocks) == 0 {
		return false
	}
	// Every word tested, without a branch: whether the first one misses is
	// a coin toss the processor cannot predict.
	b, x := f.block(h), uint32(h>>16)
	miss := uint32(0)
	for i := range b {
		miss |= ^b[i] & (1 << (x * bloomSalt[i] >> 27))
	}
	return miss == 0
}

// places turns rowRefs back into positions. Each file (and sheet) read gets
// a base: the previous place's base plus its highest row, so a rowRef is a
// base plus a row number and places stay in increasing order of base.
type places struct {
	list []place
}

type place struct {
	file, sheet string
	base        uint64
	maxRow      int
}

// ref returns pos as a rowRef, opening a new place when pos is in another
// file or sheet than the last row's.
func (p *places) ref(pos importer.Position) rowRef {
	n := len(p.list)
	if n == 0 || p.list[n-1].file != pos.File || p.list[n-1].sheet != pos.Sheet || pos.Row < p.list[n-1].maxRow {
		var base uint64
		if n > 0 {
			base = p.list[n-1].base + uint64(p.list[n-1].maxRow) + 1
		}
		p.list = append(p.list, place{file: pos.File, sheet: pos.Sheet, base: base})
		n++
	}
	last := &p.list[n-1]
	last.maxRow = max(last.maxRow, pos.Row)
	ref := last.base + uint64(pos.Row)
	if ref > math.MaxUint32 {
		panic("reconcile: more than 2^32 rows in one batch")
	}
	return rowRef(ref)
}

// position is the inverse of ref.
func (p *places) position(r rowRef) importer.Position {
	i := sort.Search(len(p.list), func(i int) bool { return p.list[i].base > uint64(r) }) - 1
	pl := p.list[i]
	return importer.Position{File: pl.file, Sheet: pl.sheet, Row: int(uint64(r) - pl.base)}
}
