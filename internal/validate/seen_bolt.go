//go:build boltset

package validate

import (
	"encoding/binary"
	"fmt"
	"os"
	"slices"

	"github.com/reten/reconcile/internal/spill"
	bolt "go.etcd.io/bbolt"
)

// keySet, built with -tags boltset, is the second standard part the
// spilling set of seen.go is measured against: keys in a map until
// boltBatch of them are held, then written in one transaction to a bbolt
// file in the spill folder, where lookups then look too.
type keySet struct {
	pending map[[16]byte]rowRef
	db      *bolt.DB
	tx      *bolt.Tx // a read transaction over what is written, renewed after each write
	path    string
	dir     string
	err     error
}

const (
	// SpillKeys is how many keys wait in memory before they are written.
	SpillKeys = 1 << 16
	boltBatch = SpillKeys
)

var keysBucket = []byte("keys")

func newKeySet() *keySet { return &keySet{pending: map[[16]byte]rowRef{}} }

func (s *keySet) hash(*[16]byte) uint64 { return 0 }

func (s *keySet) lookup(k *[16]byte, _ uint64) (first rowRef, found bool, slot int) {
	if r, ok := s.pending[*k]; ok {
		return r, true, 0
	}
	if s.tx != nil {
		if v := s.tx.Bucket(keysBucket).Get(k[:]); v != nil {
			return rowRef(binary.LittleEndian.Uint32(v)), true, 0
		}
	}
	return 0, false, 0
}

func (s *keySet) insert(k *[16]byte, at rowRef, _ int, _ uint64) {
	s.pending[*k] = at
	if len(s.pending) >= boltBatch && s.err == nil {
		s.err = s.flush()
	}
}

func (s *keySet) flush() error {
	if s.db == nil {
		f, err := os.CreateTemp(cmpDir(s.dir), spill.Pattern("reconcile-keys-*.db"))
		if err != nil {
			return err
		}
		f.Close()
		s.path = f.Name()
		spill.Own(s.path)
		if s.db, err = bolt.Open(s.path, 0o600, &bolt.Options{NoSync: true, NoFreelistSync: true}); err != nil {
			return fmt.Errorf("duplicate detection: %w", err)
		}
	}
	if s.tx != nil {
		s.tx.Rollback()
		s.tx = nil
	}
	keys := make([][16]byte, 0, len(s.pending))
	for k := range s.pending {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [16]byte) int { return compare16(&a, &b) })
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(keysBucket)
		if err != nil {
			return err
		}
		b.FillPercent = 0.9
		// bbolt keeps the slices it is given until the commit.
		vals := make([]byte, 4*len(keys))
		for i := range keys {
			v := vals[4*i : 4*i+4]
			binary.LittleEndian.PutUint32(v, uint32(s.pending[keys[i]]))
			if err := b.Put(keys[i][:], v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("duplicate detection: %w", err)
	}
	clear(s.pending)
	s.tx, err = s.db.Begin(false)
	return err
}

func compare16(a, b *[16]byte) int {
	for i := range a {
		if a[i] != b[i] {
			return int(a[i]) - int(b[i])
		}
	}
	return 0
}

func cmpDir(d string) string {
	if d == "" {
		return os.TempDir()
	}
	os.MkdirAll(d, 0o700)
	return d
}

func (s *keySet) close() {
	if s.tx != nil {
		s.tx.Rollback()
	}
	if s.db != nil {
		s.db.Close()
		os.Remove(s.path)
		spill.Disown(s.path)
	}
	s.pending, s.db, s.tx = nil, nil, nil
}
