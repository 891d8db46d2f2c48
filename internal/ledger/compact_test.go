package ledger

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"
)

// Close compacts a ledger that a run folded many attempts into: the file
// shrinks, every entry reads back the same, and the sequence goes on; a
// copy a killed Close left behind is removed by the next Open.
func TestDBCompact(t *testing.T) {
	defer func(f, c int) { foldAt, compactAfter = f, c }(foldAt, compactAfter)
	foldAt, compactAfter = 500, 1000
	ctx := context.Background()
	db, path := openTemp(t, Options{})
	ids := rand.New(rand.NewPCG(1, 2)).Perm(4000) // folds insert at random places, as exports do
	var keys []string
	for chunk := range 8 {
		var as []Attempt
		for _, i := range ids[chunk*500 : (chunk+1)*500] {
			as = append(as, Attempt{Activity: fmt.Sprintf("be000000-0000-4000-8000-%012d", i), Hash: strings.Repeat("ab", 32), Run: "r", File: "f.csv", Row: i + 2})
			keys = append(keys, as[len(as)-1].Activity)
		}
		ts, err := db.BeginAll(ctx, as)
		if err != nil {
			t.Fatal(err)
		}
		var fs []Finished
		for _, tk := range ts {
			fs = append(fs, Finished{Ticket: tk, Outcome: Outcome{Class: "ok", Status: 201, ResultID: "00000000-0000-4000-8000-000000000001"}})
		}
		if err := db.FinishAll(ctx, fs); err != nil {
			t.Fatal(err)
		}
	}
	db.folds.Wait()
	db.fold(true)
	before, err := db.LookupAll(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(compactPath(path), []byte("left by a killed run"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	fi2, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi2.Size() >= fi.Size()*3/4 {
		t.Errorf("the ledger is %d bytes after Close, %d before: not compacted", fi2.Size(), fi.Size())
	}
	if _, err := os.Stat(compactPath(path)); err == nil {
		t.Error("the copy is left beside the ledger")
	}
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	after, err := db.LookupAll(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(after, before) {
		t.Error("the entries read differently after the compaction")
	}
	tk, err := db.Begin(ctx, Attempt{Activity: "next", Hash: "h", Run: "r2", File: "g.csv", Row: 2})
	if err != nil || tk.Seq != uint64(len(keys))+1 {
		t.Errorf("the next attempt is %d (%v), want %d", tk.Seq, err, len(keys)+1)
	}
}
