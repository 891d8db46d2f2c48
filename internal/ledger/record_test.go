package ledger

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func recordSamples() []Attempt {
	started := time.Date(2026, 11, 25, 9, 30, 15, 123000000, time.UTC)
	finished := time.Date(2026, 11, 25, 10, 30, 15, 5000000, time.UTC)
	return []Attempt{
		{Seq: 1, Activity: "A1", Hash: "ab12", Run: "r1", File: "d.csv", Row: 2, Started: started},
		{Seq: 1 << 40, Activity: "ñandú/€", Hash: "h", Override: true, Run: "r2", File: "d1.xlsx", Sheet: "Hoja 1", Row: 1048576, Started: started,
			Outcome: &Outcome{Class: "overridden", Status: 201, ResultID: "res-9", Message: "a message\nwith \"quotes\"", Requests: 3, InDoubt: true, Finished: finished}},
		{Seq: 7, Activity: "A3", Hash: "h3", Row: -1,
			Outcome: &Outcome{Class: "failed"}},
		{Seq: 300, Activity: "be000000-0000-4000-8000-000000373860", Hash: strings.Repeat("0a", 32), Run: "r1", File: "d.csv", Row: 3, Started: started,
			Outcome: &Outcome{Class: "ok", Status: 201, ResultID: "00000000-0000-4000-8000-00000000002a", Requests: 1, Finished: started.Add(31 * time.Millisecond)}},
		{Seq: 301, Activity: "A5", Hash: strings.Repeat("0A", 32), Run: "r1", File: "d.csv", Row: 4, Started: finished,
			Outcome: &Outcome{Class: "a class of tomorrow", Status: 404, ResultID: "00000000-0000-4000-8000-00000000002A", Finished: started}},
		{},
	}
}

// testSources has the source of some samples recorded, not of others.
func testSources() *sourceTable {
	st := &sourceTable{}
	st.add(1, sourceRec{source{"r1", "d.csv", ""}, time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC).UnixMilli()})
	st.add(2, sourceRec{source{"r2", "d1.xlsx", "Hoja 1"}, 0})
	return st
}

func TestRecordRoundTrip(t *testing.T) {
	for _, st := range []*sourceTable{nil, testSources()} {
		as := recordSamples()
		for _, a := range as {
			var got Attempt
			if err := decodeLog(appendLog(nil, &a, st), &got, st); err != nil {
				t.Fatalf("%+v: %v", a, err)
			}
			if !reflect.DeepEqual(got, a) {
				t.Errorf("attempt round trip:\n got %+v %+v\nwant %+v %+v", got, got.Outcome, a, a.Outcome)
			}
		}
		for i := range as {
			as[i].Activity = "A1" // an entry's attempts are all its activity's
		}
		e := Entry{Activity: "A1", Attempts: as}
		var got Entry
		if err := decodeEntry(appendEntry(nil, &e, st), "A1", &got, st); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Errorf("entry round trip:\n got %+v\nwant %+v", got, e)
		}
	}
}

// A row's record is small: the disk and the memory a million rows take
// depend on it (docs/ledger.md).
func TestRecordSize(t *testing.T) {
	a := recordSamples()[3]
	e := Entry{Activity: a.Activity, Attempts: []Attempt{a}}
	if n := len(appendEntry(nil, &e, testSources())); n > 70 {
		t.Errorf("the entry of an accepted row takes %d bytes, want at most 70", n)
	}
	if n := len(entryKey(a.Activity)); n != 16 {
		t.Errorf("the key of activity %s takes %d bytes, want 16", a.Activity, n)
	}
}

// No two activities share a key, whatever they look like.
func TestEntryKey(t *testing.T) {
	ids := []string{
		"be000000-0000-4000-8000-000000373860", "BE000000-0000-4000-8000-000000373860",
		"\xbe\x00\x00\x00\x00\x00\x40\x00\x80\x00\x00\x00\x00\x37\x38\x60",
		"123456789012345", "123456789012345\xff", "1234567890123456", "", "\xff", "p-1",
	}
	seen := map[string]string{}
	for _, id := range ids {
		k := string(entryKey(id))
		if other, ok := seen[k]; ok {
			t.Errorf("activities %q and %q share the key %x", other, id, k)
		}
		seen[k] = id
	}
}

// Every truncation of a record, and trailing bytes, are reported, never read
// as something else.
func TestRecordDamaged(t *testing.T) {
	st := testSources()
	for _, a := range recordSamples()[1:4] {
		full := appendLog(nil, &a, st)
		for n := 1; n < len(full); n++ {
			var got Attempt
			if err := decodeLog(full[:n], &got, st); err == nil {
				t.Errorf("attempt cut to %d of %d bytes read as %+v", n, len(full), got)
			}
		}
		var got Attempt
		if err := decodeLog(append(full, 0), &got, st); err == nil {
			t.Error("attempt with a trailing byte read")
		}
	}
	e := Entry{Activity: "A", Attempts: recordSamples()}
	fullE := appendEntry(nil, &e, st)
	for n := 1; n < len(fullE); n++ {
		var got Entry
		if err := decodeEntry(fullE[:n], "A", &got, st); err == nil {
			t.Errorf("entry cut to %d of %d bytes read", n, len(fullE))
		}
	}
	// A source the table does not hold is damage too.
	a := recordSamples()[3]
	var got Attempt
	if err := decodeLog(appendLog(nil, &a, st), &got, &sourceTable{}); err == nil {
		t.Error("attempt naming an unknown source read")
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
	db := openOldFile(t, path, "2", func(acts, log *bolt.Bucket) error {
		ej, _ := json.Marshal(&Entry{Activity: "A1", Attempts: []Attempt{done}})
		acts.Put([]byte("A1"), ej)
		lj, _ := json.Marshal(&left)
		return log.Put(seqKey(left.Seq), lj)
	})
	e, err := db.Lookup(ctx, "A1")
	if err != nil || len(e.Attempts) != 1 || !reflect.DeepEqual(e.Attempts[0], done) {
		t.Errorf("A1 of format 2: %+v, %v", e, err)
	}
	e, err = db.Lookup(ctx, "A2")
	if err != nil || len(e.Attempts) != 1 || !reflect.DeepEqual(e.Attempts[0], left) {
		t.Errorf("A2 left in the log of format 2: %+v, %v", e, err)
	}
	db = acceptAndReopen(t, db, Attempt{Activity: "A1", Hash: "h2", Run: "r3", File: "e.csv", Row: 3})
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
