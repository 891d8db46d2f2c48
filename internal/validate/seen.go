package validate

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
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

// close lets go of the temporary files.
func (s *keySet) close() {
	for _, r := range s.runs {
		r.close()
	}
	s.runs, s.spilled, s.filter = nil, 0, bloom{}
}
