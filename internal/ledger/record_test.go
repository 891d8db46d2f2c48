package ledger

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func recordSamples() []Attempt {
	started := time.Date(2026, 11, 25, 9, 30, 15, 123456789, time.UTC)
	finished := time.Date(2026, 11, 25, 10, 30, 15, 5, time.UTC)
	return []Attempt{
		{Seq: 1, Activity: "A1", Hash: "ab12", Run: "r1", File: "d.csv", Row: 2, Started: started},
		{Seq: 1 << 40, Activity: "ñandú/€", Hash: "h", Override: true, Run: "r2", File: "d1.xlsx", Sheet: "Hoja 1", Row: 1048576, Started: started,
			Outcome: &Outcome{Class: "overridden", Status: 201, ResultID: "res-9", Message: "a message\nwith \"quotes\"", Requests: 3, InDoubt: true, Finished: finished}},
		{Seq: 7, Activity: "A3", Hash: "h3", Row: -1,
			Outcome: &Outcome{Class: "failed"}},
		{},
	}
}

func TestRecordRoundTrip(t *testing.T) {
	as := recordSamples()
	for _, a := range as {
		var got Attempt
		if err := decodeAttempt(appendAttempt(nil, &a), &got); err != nil {
			t.Fatalf("%+v: %v", a, err)
		}
		if !reflect.DeepEqual(got, a) {
			t.Errorf("attempt round trip:\n got %+v %+v\nwant %+v %+v", got, got.Outcome, a, a.Outcome)
		}
	}
	e := Entry{Activity: "A1", Attempts: as}
	var got Entry
	if err := decodeEntry(appendEntry(nil, &e), &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, e) {
		t.Errorf("entry round trip:\n got %+v\nwant %+v", got, e)
	}
}

// A zone other than UTC keeps its offset and instant, as the JSON of format 2 did.
func TestRecordKeepsOffset(t *testing.T) {
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.FixedZone("CLT", -3*3600))
	a := Attempt{Activity: "A", Hash: "h", Started: at}
	var got Attempt
	if err := decodeAttempt(appendAttempt(nil, &a), &got); err != nil {
		t.Fatal(err)
	}
	if _, off := got.Started.Zone(); !got.Started.Equal(at) || off != -3*3600 {
		t.Errorf("started %v, want %v", got.Started, at)
	}
}

// Every truncation of a record, and trailing bytes, are reported, never read
// as something else.
func TestRecordDamaged(t *testing.T) {
	a := recordSamples()[1]
	full := appendAttempt(nil, &a)
	for n := 1; n < len(full); n++ {
		var got Attempt
		if err := decodeAttempt(full[:n], &got); err == nil {
			t.Errorf("attempt cut to %d of %d bytes read as %+v", n, len(full), got)
		}
	}
	var got Attempt
	if err := decodeAttempt(append(full, 0), &got); err == nil {
		t.Error("attempt with a trailing byte read")
	}
	e := Entry{Activity: "A", Attempts: recordSamples()}
	fullE := appendEntry(nil, &e)
	for n := 1; n < len(fullE); n++ {
		var got Entry
		if err := decodeEntry(fullE[:n], &got); err == nil {
			t.Errorf("entry cut to %d of %d bytes read", n, len(fullE))
		}
	}
}

// A ledger of format 2 (JSON records) written by an earlier reconcile opens:
// its activities and the log its run left are read, and new records are added.
func TestDBReadsFormat2(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	as := recordSamples()
	done := as[1]
	done.Activity = "A1"
	left := as[0]
	left.Seq = 9
	left.Activity = "A2"
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
		meta.Put(keyVersion, []byte("2"))
		ej, _ := json.Marshal(&Entry{Activity: "A1", Attempts: []Attempt{done}})
		acts.Put([]byte("A1"), ej)
		lj, _ := json.Marshal(&left)
		return log.Put(seqKey(left.Seq), lj)
	})
	if err != nil {
		t.Fatal(err)
	}
	bdb.Close()

	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := db.Lookup(ctx, "A1")
	if err != nil || len(e.Attempts) != 1 || !reflect.DeepEqual(e.Attempts[0], done) {
		t.Errorf("A1 of format 2: %+v, %v", e, err)
	}
	e, err = db.Lookup(ctx, "A2")
	if err != nil || len(e.Attempts) != 1 || !reflect.DeepEqual(e.Attempts[0], left) {
		t.Errorf("A2 left in the log of format 2: %+v, %v", e, err)
	}
	tk, err := db.Begin(ctx, Attempt{Activity: "A1", Hash: "h2", Run: "r3", File: "e.csv", Row: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Finish(ctx, tk, Outcome{Class: "ok", Status: 201}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	e, err = db.Lookup(ctx, "A1")
	if err != nil || len(e.Attempts) != 2 || e.Attempts[0].Outcome.ResultID != "res-9" || e.Attempts[1].Outcome.Class != "ok" {
		t.Errorf("A1 after a run of format 3: %+v, %v", e, err)
	}
	db.bolt.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyVersion); string(v) != formatVersion {
			t.Errorf("version %q, want %q", v, formatVersion)
		}
		return nil
	})
}
