package reconcile

import (
	"encoding/binary"
	"math"
	"math/bits"
	"math/rand/v2"
	"sort"

	"github.com/reten/reconcile/importer"
)

// keySet remembers 16-byte activity keys and, for each, the first row that
// held it (as a rowRef). It is the validator's memory of a batch, so it is
// built to hold a million keys in little space and to answer "seen before?"
// and "remember it" with one probe:
//
//   - the keys and their rows are stored once, densely, in insertion order,
//     in fixed-size chunks that are never copied (20 bytes a key);
//   - a hash index of uint32 slots points into them: the key's number plus
//     one (0 is an empty slot) in the low bits, and the top bits of the key's
//     hash in the bits the numbers do not need yet, so a probe rarely reads
//     a key that is not the one asked for. The index is kept at most half
//     full, 8 to 16 bytes a key.
//
// Keys are compared whole: a hash collision only costs a comparison.
type keySet struct {
	keys  [][]([16]byte) // chunks of chunkKeys keys
	rows  [][]rowRef     // aligned with keys
	n     int            // keys stored
	slots []uint32       // len a power of two, or 0
	shift uint           // bits of a slot that hold the key's number; the rest hold the hash's top bits
	seed  uint64
}

const (
	chunkBits = 12
	chunkKeys = 1 << chunkBits
)

// rowRef is a row of the batch in 4 bytes: the place's base plus the row number.
type rowRef uint32

func newKeySet() *keySet { return &keySet{seed: rand.Uint64()} }

func (s *keySet) hash(k *[16]byte) uint64 {
	a := binary.LittleEndian.Uint64(k[:8])
	b := binary.LittleEndian.Uint64(k[8:])
	// Two rounds of multiply and fold (as wyhash does): every key bit
	// reaches the top bits, which pick the slot, whatever the ids look like
	// (sequential provider ids, time-ordered UUIDs).
	hi, lo := bits.Mul64(a^s.seed, b^0x9E3779B97F4A7C15)
	hi, lo = bits.Mul64(hi^lo, 0xE7037ED1A0B428DB^s.seed)
	return hi ^ lo
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

func (s *keySet) key(i int) *[16]byte { return &s.keys[i>>chunkBits][i&(chunkKeys-1)] }
func (s *keySet) row(i int) rowRef    { return s.rows[i>>chunkBits][i&(chunkKeys-1)] }

// lookup returns the row that first held k, and the slot where k would go
// (valid until the next insert into s). h is s.hash(k), which depends only
// on the seed, so it may be worked out on another goroutine beforehand.
func (s *keySet) lookup(k *[16]byte, h uint64) (first rowRef, found bool, slot int) {
	if 2*(s.n+1) > len(s.slots) {
		s.grow()
	}
	slot, found = s.find(k, h)
	if found {
		return s.row(int(s.slots[slot]&(1<<s.shift-1)) - 1), true, slot
	}
	return 0, false, slot
}

// insert stores k at the slot lookup returned for it.
func (s *keySet) insert(k *[16]byte, at rowRef, slot int, h uint64) {
	c := s.n >> chunkBits
	if c == len(s.keys) {
		s.keys = append(s.keys, make([][16]byte, 0, chunkKeys))
		s.rows = append(s.rows, make([]rowRef, 0, chunkKeys))
	}
	s.keys[c] = append(s.keys[c], *k)
	s.rows[c] = append(s.rows[c], at)
	s.n++
	s.slots[slot] = uint32(s.n) | uint32(h>>32)&^(1<<s.shift-1)
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

// bytes is the memory s holds: keys, rows and index.
func (s *keySet) bytes() int {
	return len(s.keys)*chunkKeys*(16+4) + 4*len(s.slots)
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
