package ledger

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// Bucket and key names of the file format.
//
// activities holds each activity's Entry under its key (entryKey). log
// holds the attempts of the running process (the intent, then with its
// outcome) under their sequence number, big-endian: recording one appends
// near the end of the log's B+tree, where activities would rewrite a page
// at a random place per record. The log is folded into activities in large
// transactions (a page rewritten once for many records) when it holds
// enough finished attempts, on Close, and on Open after a crash. sources
// holds each (run, file, sheet) an attempt came from once, so that an
// attempt names it in a byte or two (sourceTable).
//
// Version 2: version 1 and the log. Version 3: binary records. Version 4:
// compact records (record.go), the sources, and activities keyed by
// entryKey. Files of versions 1 to 3 are opened as version 4 and read as
// they are (legacyKeys); what is written to them is of version 4.
var (
	bucketMeta       = []byte("meta")
	bucketActivities = []byte("activities")
	bucketLog        = []byte("log")
	bucketSources    = []byte("sources")
	keyVersion       = []byte("version")
	keyBaseURL       = []byte("base_url")
	// keyLegacy is in meta when the file was written by a reconcile of
	// format 1 to 3: its activities may sit under their plain keys.
	keyLegacy = []byte("legacy_keys")
)

const formatVersion = "4"

// entryKey is activity's key in activities: 16 bytes for an activity id in
// its canonical form (a UUID, as the API spells them); else 0xff and the key
// as given, or, where that would make 16 bytes, 0xfe, the key and 0xfe. So no
// two activities share a key, and none is a plain key of formats 1 to 3,
// which are UTF-8 text (never 0xfe or 0xff).
func entryKey(activity string) []byte {
	if raw, ok := parseUUID(activity); ok {
		return raw[:]
	}
	k := make([]byte, 0, len(activity)+2)
	if len(activity) == 15 {
		return append(append(append(k, 0xfe), activity...), 0xfe)
	}
	return append(append(k, 0xff), activity...)
}

// legacyKey is activity's key in files of formats 1 to 3, and whether it
// differs from entryKey's: an activity id not valid as UTF-8 was never
// given a key of its own kind.
func legacyKey(activity string) ([]byte, bool) {
	return []byte(activity), utf8.ValidString(activity)
}

// source is where attempts come from: a run and the file (and sheet) of its
// rows. A run has a few; each of a million rows would otherwise repeat them.
type source struct{ run, file, sheet string }

// sourceRec is a source as recorded, with the base time its attempts' times
// count from, in milliseconds since 1970.
type sourceRec struct {
	source
	base int64
}

// sourceTable is the sources bucket in memory. An id is put in a record
// only once its source is committed (intern), so a record never names a
// source that a crash or a rolled-back transaction lost.
type sourceTable struct {
	mu    sync.RWMutex
	ids   map[source]uint64
	byID  map[uint64]sourceRec
	write sync.Mutex // held by intern while it commits a new source
}

func (st *sourceTable) get(id uint64) (sourceRec, bool) {
	if st == nil {
		return sourceRec{}, false
	}
	st.mu.RLock()
	defer st.mu.RUnlock()
	s, ok := st.byID[id]
	return s, ok
}

// find returns s's id and base time, or 0 (the attempt then spells its
// source out) when s is not committed yet.
func (st *sourceTable) find(s source) (id uint64, base int64) {
	if st == nil {
		return 0, 0
	}
	st.mu.RLock()
	defer st.mu.RUnlock()
	if id, ok := st.ids[s]; ok {
		return id, st.byID[id].base
	}
	return 0, 0
}

func (st *sourceTable) add(id uint64, r sourceRec) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ids == nil {
		st.ids = make(map[source]uint64)
		st.byID = make(map[uint64]sourceRec)
	}
	st.ids[r.source] = id
	st.byID[id] = r
}

func sourceKey(s source) []byte {
	return appendString(appendString(appendString(nil, s.run), s.file), s.sheet)
}

// load reads the sources bucket of tx.
func (st *sourceTable) load(tx *bolt.Tx) error {
	return tx.Bucket(bucketSources).ForEach(func(k, v []byte) error {
		kd, vd := decoder{b: k}, decoder{b: v}
		s := source{kd.string(), kd.string(), kd.string()}
		id, base := vd.uvarint(), vd.varint()
		if kd.done() != nil || vd.done() != nil || id == 0 {
			return fmt.Errorf("ledger: the source record %q is damaged", k)
		}
		st.add(id, sourceRec{s, base})
		return nil
	})
}

// intern commits, through write, the sources of as that are not recorded
// yet, so that their records can name them.
func (st *sourceTable) intern(as []Attempt, now time.Time, write func(func(*bolt.Tx) error) error) error {
	var missing []source
	for i := range as {
		s := source{as[i].Run, as[i].File, as[i].Sheet}
		if id, _ := st.find(s); id == 0 && !containsSource(missing, s) {
			missing = append(missing, s)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	st.write.Lock()
	defer st.write.Unlock()
	recs := make(map[uint64]sourceRec, len(missing))
	err := write(func(tx *bolt.Tx) error {
		clear(recs)
		b := tx.Bucket(bucketSources)
		for _, s := range missing {
			k := sourceKey(s)
			if v := b.Get(k); v != nil {
				d := decoder{b: v}
				id, base := d.uvarint(), d.varint()
				if err := d.done(); err != nil || id == 0 {
					return fmt.Errorf("ledger: the source record %q is damaged", k)
				}
				recs[id] = sourceRec{s, base}
				continue
			}
			id, err := b.NextSequence()
			if err != nil {
				return err
			}
			r := sourceRec{s, now.UnixMilli()}
			if err := b.Put(k, binary.AppendVarint(binary.AppendUvarint(nil, id), r.base)); err != nil {
				return err
			}
			recs[id] = r
		}
		return nil
	})
	if err != nil {
		return err
	}
	for id, r := range recs {
		st.add(id, r)
	}
	return nil
}

func containsSource(ss []source, s source) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// initFile creates the buckets of a new file, checks those of an old one
// and reads its sources, and folds what a process that died left in the log.
func initFile(bdb *bolt.DB, path, baseURL string, st *sourceTable) error {
	norm := ""
	if baseURL != "" {
		n, _, err := NormalizeBaseURL(baseURL)
		if err != nil {
			return err
		}
		norm = n
	}
	return bdb.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		for _, name := range [][]byte{bucketActivities, bucketLog, bucketSources} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		switch v := meta.Get(keyVersion); {
		case v == nil:
			if err := meta.Put(keyVersion, []byte(formatVersion)); err != nil {
				return err
			}
		case string(v) == "1" || string(v) == "2" || string(v) == "3":
			if err := meta.Put(keyVersion, []byte(formatVersion)); err != nil {
				return err
			}
			if err := meta.Put(keyLegacy, []byte(v)); err != nil {
				return err
			}
		case string(v) != formatVersion:
			return fmt.Errorf("the ledger %s has format %s, this reconcile reads format %s: use the reconcile version that wrote it", path, v, formatVersion)
		}
		if err := st.load(tx); err != nil {
			return err
		}
		// What a process that died left in the log: its attempts, finished
		// or not, go to activities as they are.
		var left []Attempt
		if err := tx.Bucket(bucketLog).ForEach(func(k, v []byte) error {
			var a Attempt
			if err := decodeLog(v, &a, st); err != nil {
				return fmt.Errorf("ledger: the log record %x is damaged: %w", k, err)
			}
			left = append(left, a)
			return nil
		}); err != nil {
			return err
		}
		if err := foldTx(tx, left, st); err != nil {
			return err
		}
		if norm == "" {
			return nil
		}
		switch old := meta.Get(keyBaseURL); {
		case old == nil:
			return meta.Put(keyBaseURL, []byte(norm))
		case !sameBaseURL(string(old), norm):
			return fmt.Errorf("the ledger %s belongs to %s, not %s: pass the --state-dir of this tenant", path, old, norm)
		}
		return nil
	})
}

// sameBaseURL says whether a base URL recorded in a ledger, perhaps by an
// older reconcile that spelt loopback hosts as given, names the API norm does.
func sameBaseURL(recorded, norm string) bool {
	n, _, err := NormalizeBaseURL(recorded)
	return err == nil && n == norm
}

// getEntry reads activity's entry in tx: under its key, and in a file of
// an older format under its plain key too.
func getEntry(tx *bolt.Tx, activity string, st *sourceTable) (Entry, error) {
	b := tx.Bucket(bucketActivities)
	e, err := readEntry(b, entryKey(activity), activity, st, false)
	if err != nil || tx.Bucket(bucketMeta).Get(keyLegacy) == nil {
		return e, err
	}
	k, ok := legacyKey(activity)
	if !ok {
		return e, nil
	}
	old, err := readEntry(b, k, activity, st, true)
	if err != nil {
		return e, err
	}
	// Attempts of the older format came first.
	e.Attempts = append(old.Attempts, e.Attempts...)
	return e, nil
}

// readEntry reads the entry under key k if it is activity's. In a file of
// an older format, an activity's key of format 4 may be another's plain key,
// and its plain key another's key of format 4: records of older formats name
// their activity, and a plain key (legacy) holds no record of format 4.
func readEntry(b *bolt.Bucket, k []byte, activity string, st *sourceTable, legacy bool) (Entry, error) {
	e := Entry{Activity: activity}
	v := b.Get(k)
	if v == nil || (legacy && v[0] == tagEntry) {
		return e, nil
	}
	if err := decodeEntry(v, activity, &e, st); err != nil {
		return Entry{Activity: activity}, fmt.Errorf("ledger: the record of activity %q is damaged: %w", activity, err)
	}
	if e.Activity != activity {
		return Entry{Activity: activity}, nil
	}
	return e, nil
}

// putEntry writes e under its key; in a file of an older format, it
// removes e's record under its plain key, whose attempts e now holds, and
// first moves another activity's record of the older format that sits
// under e's key to that activity's own.
func putEntry(tx *bolt.Tx, e *Entry, st *sourceTable) error {
	b := tx.Bucket(bucketActivities)
	k := entryKey(e.Activity)
	legacy := tx.Bucket(bucketMeta).Get(keyLegacy) != nil
	if v := b.Get(k); legacy && v != nil && v[0] != tagEntry {
		var other Entry
		if err := decodeEntry(v, e.Activity, &other, st); err != nil {
			return fmt.Errorf("ledger: the record under the key of activity %q is damaged: %w", e.Activity, err)
		}
		if other.Activity != e.Activity {
			moved, err := getEntry(tx, other.Activity, st) // other's record among them
			if err != nil {
				return err
			}
			if err := b.Put(entryKey(other.Activity), appendEntry(nil, &moved, st)); err != nil {
				return err
			}
		}
	}
	if err := b.Put(k, appendEntry(nil, e, st)); err != nil {
		return err
	}
	if !legacy {
		return nil
	}
	old, ok := legacyKey(e.Activity)
	if !ok || string(old) == string(k) {
		return nil
	}
	if v := b.Get(old); v != nil && v[0] != tagEntry {
		var prev Entry
		if decodeEntry(v, e.Activity, &prev, st) == nil && prev.Activity == e.Activity {
			return b.Delete(old)
		}
	}
	return nil
}
