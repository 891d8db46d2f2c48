//go:build mapset

package validate

// keySet, built with -tags mapset, is the standard part the spilling set of
// seen.go is measured against: a map of every activity key to its first
// row, all in memory.
type keySet struct {
	m   map[[16]byte]rowRef
	dir string // unused: nothing is spilled
	err error  // never set
}

// SpillKeys is kept for the tests' sake; the map never spills.
const SpillKeys = 1 << 16

func newKeySet() *keySet { return &keySet{m: map[[16]byte]rowRef{}} }

func (s *keySet) hash(*[16]byte) uint64 { return 0 }

func (s *keySet) lookup(k *[16]byte, _ uint64) (first rowRef, found bool, slot int) {
	first, found = s.m[*k]
	return first, found, 0
}

func (s *keySet) insert(k *[16]byte, at rowRef, _ int, _ uint64) { s.m[*k] = at }

func (s *keySet) close() { s.m = nil }
