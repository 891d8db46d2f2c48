package ledger

import (
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// compactAfter is how many attempts a DB must have folded for Close to
// compact the file.
var compactAfter = 10000 // a variable for the tests

// compactChunk is how many bytes of records one transaction of the copy
// writes.
const compactChunk = 4 << 20

// compactDropEvery is how many records the copy reads between two
// dropMapped of the source: the leaves of a folded file lie all over it,
// and each read maps 64 KiB around its page, so 2048 records (about 70
// leaves) make at most about 5 MiB resident.
const compactDropEvery = 2048

// compactPath is where compact writes the new file before it takes the
// ledger's place; one left by a killed run is removed by the next Open.
func compactPath(path string) string { return path + ".compact" }

// compact rewrites the ledger into a new file and puts it in the old one's
// place. Folds insert at random places in activities, whose pages then
// split half full; the copy writes every bucket in key order with its pages
// full, and leaves out the pages the folds freed: a ledger a run added a
// million rows to shrinks to about two thirds. The new file is on disk
// (fsync) before it is renamed over the old, so a crash at any point leaves
// one or the other whole. It must be called with no write in progress, and
// before the DB is closed.
func (db *DB) compact() (err error) {
	tmp := compactPath(db.path)
	os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			dst.Close()
			os.Remove(tmp)
		}
	}()
	dst.AllocSize = allocSize
	db.cache.prefetch() // folds evicted it; the copy reads all of it
	err = db.bolt.View(func(src *bolt.Tx) error {
		return src.ForEach(func(name []byte, b *bolt.Bucket) error {
			return copyBucket(dst, src, name, b)
		})
	})
	if err != nil {
		return err
	}
	if err := dst.Sync(); err != nil {
		return err
	}
	if err := dst.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, db.path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(db.path))
}

// copyBucket copies bucket name of src into dst in transactions of about
// compactChunk bytes, giving the pages it has read back to the kernel every
// compactDropEvery records (dropMapped: src is in a transaction, so its map
// cannot move). Put keeps the value it is given, not a copy, until the
// commit writes it: values are copied out of src's map first, or each
// commit would read the whole chunk through the map again, after the drops.
func copyBucket(dst *bolt.DB, src *bolt.Tx, name []byte, b *bolt.Bucket) error {
	err := dst.Update(func(tx *bolt.Tx) error {
		nb, err := tx.CreateBucket(name)
		if err != nil {
			return err
		}
		return nb.SetSequence(b.Sequence())
	})
	if err != nil {
		return err
	}
	c := b.Cursor()
	k, v := c.First()
	read := 0
	// The chunk's values, which Put points to until the commit; reused by
	// the next chunk once it has been written.
	values := make([]byte, 0, compactChunk+64<<10)
	for k != nil {
		values = values[:0]
		err := dst.Update(func(tx *bolt.Tx) error {
			nb := tx.Bucket(name)
			nb.FillPercent = 1.0 // keys come in order: nothing is inserted between them
			for n := 0; k != nil && n < compactChunk; k, v = c.Next() {
				if v == nil {
					return fmt.Errorf("ledger: bucket %s holds a bucket %q", name, k)
				}
				if len(values)+len(v) > cap(values) {
					values = make([]byte, 0, compactChunk) // the full one stays with the values that point to it
				}
				values = append(values, v...)
				if err := nb.Put(k, values[len(values)-len(v):]); err != nil {
					return err
				}
				n += len(k) + len(v)
				if read++; read%compactDropEvery == 0 {
					dropMapped(src)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		dropMapped(src)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
