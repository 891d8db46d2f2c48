package ledger

import (
	"context"
	"encoding/binary"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The encoder of format 3, as reconcile wrote it, to make files of that format.

// attemptSize is a bound on the length of a's record body, so that it is
// encoded in one allocation.
func attemptSize3(a *Attempt) int {
	n := 10 + 6*5 + 10 + 2*17 + 2 + len(a.Activity) + len(a.Hash) + len(a.Run) + len(a.File) + len(a.Sheet)
	if o := a.Outcome; o != nil {
		n += 4*10 + 2*5 + len(o.Class) + len(o.ResultID) + len(o.Message)
	}
	return n
}

func appendAttemptBody3(b []byte, a *Attempt) []byte {
	b = binary.AppendUvarint(b, a.Seq)
	b = appendString(b, a.Activity)
	b = appendString(b, a.Hash)
	b = appendBool(b, a.Override)
	b = appendString(b, a.Run)
	b = appendString(b, a.File)
	b = appendString(b, a.Sheet)
	b = binary.AppendVarint(b, int64(a.Row))
	b = appendTime(b, a.Started)
	o := a.Outcome
	if o == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	b = appendString(b, o.Class)
	b = binary.AppendVarint(b, int64(o.Status))
	b = appendString(b, o.ResultID)
	b = appendString(b, o.Message)
	b = binary.AppendVarint(b, int64(o.Requests))
	b = appendBool(b, o.InDoubt)
	return appendTime(b, o.Finished)
}

// appendEntry appends e's binary record to b.
func appendEntry3(b []byte, e *Entry) []byte {
	n := 1 + 10 + len(e.Activity) + 10
	for i := range e.Attempts {
		n += attemptSize3(&e.Attempts[i])
	}
	b = slices.Grow(b, n)
	b = append(b, tagEntry3)
	b = appendString(b, e.Activity)
	b = binary.AppendUvarint(b, uint64(len(e.Attempts)))
	for i := range e.Attempts {
		b = appendAttemptBody3(b, &e.Attempts[i])
	}
	return b
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// appendTime keeps what the JSON of format 2 kept: the instant to the
// nanosecond and the zone offset.
func appendTime(b []byte, t time.Time) []byte {
	n := len(b)
	b = append(b, 0)
	out, err := t.AppendBinary(b)
	if err != nil {
		// Only a zone offset that is not a whole minute fails: the instant
		// is kept, in UTC.
		out, _ = t.UTC().AppendBinary(b)
	}
	out[n] = byte(len(out) - n - 1)
	return out
}

// A ledger of format 3 opens and is read as it is; what is written to it
// is of format 4, an activity's record moves to its new key when it gets a
// new attempt, and an activity whose plain key is another's new key (16
// bytes) keeps its attempts apart from that other's.
func TestDBReadsFormat3(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	const (
		uuid  = "be000000-0000-4000-8000-000000373860"
		plain = "ABCDEFGHIJKLMNOP"                     // 16 bytes
		twin  = "41424344-4546-4748-494a-4b4c4d4e4f50" // its new key is plain's old one
	)
	old := recordSamples()[1]
	old.Seq = 3
	db := openOldFile(t, path, "3", func(acts, log *bolt.Bucket) error {
		for _, id := range []string{uuid, plain} {
			a := old
			a.Activity = id
			acts.Put([]byte(id), appendEntry3(nil, &Entry{Activity: id, Attempts: []Attempt{a}}))
		}
		return nil
	})
	var as []Attempt
	for _, id := range []string{uuid, twin, plain} { // twin first: its record takes plain's old key
		as = append(as, Attempt{Activity: id, Hash: "h-" + id, Run: "r4", File: "e.csv", Row: 3})
	}
	db = acceptAndReopen(t, db, as...)
	for id, n := range map[string]int{uuid: 2, plain: 2, twin: 1} {
		e, err := db.Lookup(ctx, id)
		if err != nil || len(e.Attempts) != n {
			t.Fatalf("%s: %+v, %v; want %d attempts", id, e, err, n)
		}
		if n == 2 {
			want := old
			want.Activity = id
			if !reflect.DeepEqual(e.Attempts[0], want) {
				t.Errorf("%s's attempt of format 3:\n got %+v\nwant %+v", id, e.Attempts[0], want)
			}
		}
		if last := e.Attempts[n-1]; last.Hash != "h-"+id || last.Outcome.Class != "ok" || last.File != "e.csv" {
			t.Errorf("%s's new attempt: %+v", id, last)
		}
	}
	db.bolt.View(func(tx *bolt.Tx) error {
		acts := tx.Bucket(bucketActivities)
		if v := acts.Get([]byte(uuid)); v != nil {
			t.Errorf("the record of format 3 of %s is still under its plain key", uuid)
		}
		for _, id := range []string{uuid, plain, twin} {
			if v := acts.Get(entryKey(id)); v == nil || v[0] != tagEntry {
				t.Errorf("%s has no record of format 4 under its key", id)
			}
		}
		if v := tx.Bucket(bucketMeta).Get(keyVersion); string(v) != formatVersion {
			t.Errorf("version %q, want %q", v, formatVersion)
		}
		return nil
	})
}

// acceptAndReopen records each attempt in db, accepted, closes db and
// returns it opened again (closed at the end of the test).
func acceptAndReopen(t *testing.T, db *DB, as ...Attempt) *DB {
	t.Helper()
	ctx := context.Background()
	for _, a := range as {
		tk, err := db.Begin(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Finish(ctx, tk, Outcome{Class: "ok", Status: 201}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := Open(db.Path(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openOldFile writes a ledger file of an older format (version), its
// activities and log filled by fill and the sequence at 9, and opens it.
func openOldFile(t *testing.T, path, version string, fill func(acts, log *bolt.Bucket) error) *DB {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		meta, _ := tx.CreateBucket(bucketMeta)
		acts, _ := tx.CreateBucket(bucketActivities)
		log, _ := tx.CreateBucket(bucketLog)
		for i := 0; i < 9; i++ {
			acts.NextSequence()
		}
		meta.Put(keyVersion, []byte(version))
		return fill(acts, log)
	})
	if err != nil {
		t.Fatal(err)
	}
	bdb.Close()
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}
