package validate

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/importer"
)

// keySet answers as a map would, through many growths, for keys that differ
// in one byte only, the zero key, and keys whose hashes share their top bits.
func TestKeySet(t *testing.T) {
	s := newKeySet()
	want := map[[16]byte]rowRef{}
	rng := rand.New(rand.NewPCG(1, 2))
	var keys [][16]byte
	for i := 0; i < 50_000; i++ {
		var k [16]byte
		switch i % 4 {
		case 0: // random
			for j := range k {
				k[j] = byte(rng.Uint32())
			}
		case 1: // sequential, like provider ids
			copy(k[:], []byte{byte(i), byte(i >> 8), byte(i >> 16)})
		case 2: // a key seen before, or one byte away from it
			k = keys[rng.IntN(len(keys))]
			if rng.IntN(2) == 0 {
				k[rng.IntN(16)] ^= 1 << rng.IntN(8)
			}
		case 3: // the zero key now and then
			if rng.IntN(100) == 0 {
				k = [16]byte{}
			} else {
				k[15] = byte(i)
				k[0] = byte(i >> 8)
			}
		}
		keys = append(keys, k)
		h := s.hash(&k)
		first, found, slot := s.lookup(&k, h)
		w, ok := want[k]
		if found != ok || first != w {
			t.Fatalf("key %d %x: lookup = %d, %v; want %d, %v", i, k, first, found, w, ok)
		}
		if !found {
			s.insert(&k, rowRef(i), slot, h)
			want[k] = rowRef(i)
		}
	}
	if s.n != len(want) {
		t.Errorf("%d keys stored, want %d", s.n, len(want))
	}
	if 2*s.n > len(s.slots) {
		t.Errorf("index more than half full: %d keys in %d slots", s.n, len(s.slots))
	}
}

// A rowRef gives back the position it was made from, across files, sheets
// and a file read twice in one batch.
func TestPlaces(t *testing.T) {
	var p places
	pos := []importer.Position{
		{File: "a.csv", Row: 2}, {File: "a.csv", Row: 3}, {File: "a.csv", Row: 900},
		{File: "b.xlsx", Sheet: "Hoja1", Row: 2}, {File: "b.xlsx", Sheet: "Hoja1", Row: 5},
		{File: "b.xlsx", Sheet: "Hoja2", Row: 2},
		{File: "a.csv", Row: 2}, {File: "a.csv", Row: 7}, // the same file again
	}
	refs := map[rowRef]importer.Position{}
	for _, ps := range pos {
		r := p.ref(ps)
		if prev, dup := refs[r]; dup && prev != ps {
			t.Fatalf("%v and %v share rowRef %d", prev, ps, r)
		}
		refs[r] = ps
	}
	for r, ps := range refs {
		if got := p.position(r); got != ps {
			t.Errorf("position(%d) = %v, want %v", r, got, ps)
		}
	}
}

// A short provider id is kept as is and a long one hashed; neither form can
// stand for the other.
func TestProviderKey(t *testing.T) {
	v := NewValidator(nil, nil)
	short := v.providerKey("YOM-00000000001") // 15 bytes
	if string(short[:15]) != "YOM-00000000001" || short[15] != 15 {
		t.Errorf("short id packed as %x", short)
	}
	if a, b := v.providerKey("A"), v.providerKey("A\x00"); a == b {
		t.Errorf("%q and %q share a key", "A", "A\x00")
	}
	long := v.providerKey("YOM-000000000001") // 16 bytes
	if long[15] < 0x80 {
		t.Errorf("long id key %x could be a short one's", long)
	}
	if long != v.providerKey("YOM-000000000001") || long == v.providerKey("YOM-000000000002") {
		t.Errorf("long ids are not told apart by their key")
	}
}

// canonicalTime sends a date cell as it stands only when that is exactly
// what formatting its instant would give.
func TestCanonicalTime(t *testing.T) {
	n := importer.Layout{Columns: []string{"occurred_at"}, Fields: []importer.Field{importer.OccurredAt}}
	for _, cell := range []string{
		"2026-04-11T10:30:00.000Z", "2026-04-11T10:30:00.123Z", "2026-04-11T10:30:00Z",
		"2026-04-11T10:30:00.000+00:00", "2026-04-11T10:30:00.000-04:00", "2026-04-11T10:30:00.0001Z",
		"2026-04-11 10:30:00.000Z", "2026-04-11", "2026-04-11T10:30", "46123.4375",
	} {
		row := importer.Row{Layout: &n, Cells: []string{cell}}
		v := row.Value(importer.OccurredAt)
		if v.Err != nil {
			t.Fatalf("%q: %v", cell, v.Err)
		}
		if got, want := canonicalTime(&v), api.FormatTime(v.Time); got != want {
			t.Errorf("canonicalTime(%q) = %q, want %q", cell, got, want)
		}
	}
}

// uuidBytes gives the UUID's 16 bytes in either case, and refuses a
// non-hex character in any position.
func TestUUIDBytes(t *testing.T) {
	for _, s := range []string{testUUID, strings.ToUpper(testUUID), "00000000-0000-0000-0000-000000000000",
		"ffffffff-ffff-ffff-ffff-ffffffffffff", "01234567-89ab-cdef-ABCD-EF0123456789"} {
		want, _ := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
		if b, ok := uuidBytes(s); !ok || !bytes.Equal(b[:], want) {
			t.Errorf("uuidBytes(%q) = %x, %v; want %x", s, b, ok, want)
		}
	}
	for i := range testUUID {
		if testUUID[i] == '-' {
			continue
		}
		for c := 0; c < 256; c++ {
			s := testUUID[:i] + string([]byte{byte(c)}) + testUUID[i+1:]
			want, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
			b, ok := uuidBytes(s)
			if ok != (err == nil) || ok && !bytes.Equal(b[:], want) {
				t.Errorf("uuidBytes(%q) = %x, %v; hex gives %x, %v", s, b, ok, want, err)
			}
		}
	}
}

// spillSmall makes s spill every limit keys in runs of blocks of block keys,
// in a temporary folder of the test's that must be empty afterwards.
func spillSmall(t *testing.T, s *keySet, limit, block int) {
	dir := t.TempDir()
	s.limit, s.blockKeys, s.dir = limit, block, dir
	t.Cleanup(func() {
		s.close()
		if left, _ := os.ReadDir(dir); len(left) > 0 {
			t.Errorf("%d temporary files left in %s", len(left), dir)
		}
	})
}

// notAFolder returns a path under a regular file, where no temporary file
// can be made (a folder that is merely missing is made).
func notAFolder(t *testing.T, name string) string {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(file, name)
}

// againstMap looks every key of stream up in s, as remember does, and
// checks that s answers exactly as a map does.
func againstMap(t *testing.T, s *keySet, stream [][16]byte) {
	t.Helper()
	want := map[[16]byte]rowRef{}
	for i := range stream {
		k := &stream[i]
		h := s.hash(k)
		first, found, slot := s.lookup(k, h)
		if s.err != nil {
			t.Fatalf("key %d: %v", i, s.err)
		}
		w, ok := want[*k]
		if found != ok || first != w {
			t.Fatalf("key %d %x: lookup = %d, %v; want %d, %v", i, *k, first, found, w, ok)
		}
		if !found {
			s.insert(k, rowRef(i+2), slot, h)
			want[*k] = rowRef(i + 2)
		}
	}
	if s.n+s.spilled != len(want) {
		t.Errorf("%d keys in memory and %d on disk, want %d in all", s.n, s.spilled, len(want))
	}
}

func randomKey(rng *rand.Rand) (k [16]byte) {
	for j := range k {
		k[j] = byte(rng.Uint32())
	}
	return k
}

// With a tiny memory budget the set spills, merges and rebuilds its filter
// many times, and still answers exactly as a map over every kind of stream.
func TestKeySetSpills(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	// Random keys, a third of them repeats of any earlier key (in memory,
	// in a young run or in a merged one).
	var mixed [][16]byte
	for i := 0; i < 30_000; i++ {
		if i > 0 && rng.IntN(3) == 0 {
			mixed = append(mixed, mixed[rng.IntN(len(mixed))])
		} else {
			mixed = append(mixed, randomKey(rng))
		}
	}
	var distinct [][16]byte
	for i := 0; i < 20_000; i++ {
		distinct = append(distinct, randomKey(rng))
	}
	// The same export pasted twice, then a third time shuffled: every key
	// of the second half is found on disk.
	var pasted [][16]byte
	for i := 0; i < 5_000; i++ {
		pasted = append(pasted, randomKey(rng))
	}
	pasted = append(pasted, pasted...)
	third := slices.Clone(pasted[:5_000])
	rng.Shuffle(len(third), func(i, j int) { third[i], third[j] = third[j], third[i] })
	pasted = append(pasted, third...)
	// Sequential keys, like provider ids, each followed a while later by
	// its copy and by a key one bit away from it.
	var seq [][16]byte
	for i := 0; i < 10_000; i++ {
		var k [16]byte
		copy(k[:], fmt.Sprintf("YOM-%07d", i))
		k[15] = 11
		seq = append(seq, k)
		if i >= 500 && i%3 == 0 {
			seq = append(seq, seq[len(seq)-500])
			near := seq[len(seq)-1]
			near[rng.IntN(16)] ^= 1 << rng.IntN(8)
			seq = append(seq, near)
		}
	}
	for _, c := range []struct {
		name         string
		stream       [][16]byte
		limit, block int
		hmask        uint64
	}{
		{"random", mixed, 100, 8, ^uint64(0)},
		// No repeats: runs pile up to maxRuns before they are merged.
		{"distinct", distinct, 50, 8, ^uint64(0)},
		{"random, one key a run", mixed[:3000], 1, 1, ^uint64(0)},
		{"pasted twice", pasted, 64, 4, ^uint64(0)},
		{"sequential", seq, 128, 16, ^uint64(0)},
		// Few distinct hashes: keys of one hash straddle blocks and runs,
		// and the filter says "maybe" to nearly everything.
		{"colliding hashes", mixed[:6000], 50, 4, 0xF00000000000000F},
		{"one hash for all", mixed[:2000], 20, 3, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newKeySet()
			s.hmask = c.hmask
			spillSmall(t, s, c.limit, c.block)
			againstMap(t, s, c.stream)
			merged := false
			for _, r := range s.runs {
				merged = merged || r.level > 0
			}
			if !merged || len(s.runs) > maxRuns {
				t.Errorf("%d runs, merged %v: runs are not being merged", len(s.runs), merged)
			}
			if s.filter.keys < s.spilled {
				t.Errorf("filter sized for %d keys, %d on disk", s.filter.keys, s.spilled)
			}
		})
	}
}

// The filter never forgets a key, and rarely says "maybe" to others.
func TestBloom(t *testing.T) {
	s := newKeySet()
	f := newBloom(10_000, filterBits)
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 10_000; i++ {
		k := randomKey(rng)
		f.add(s.hash(&k))
		if !f.has(s.hash(&k)) {
			t.Fatalf("key %d forgotten", i)
		}
	}
	fp := 0
	for i := 0; i < 100_000; i++ {
		k := randomKey(rng)
		if f.has(s.hash(&k)) {
			fp++
		}
	}
	if fp > 250 { // 0.25%; expected about 0.15%
		t.Errorf("%d false positives in 100,000", fp)
	}
}

// A temporary file that cannot be written or read is an error that says
// what to do, the keys already known still answer, and the row that could
// not be checked is never taken as a first copy.
func TestKeySetFileErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var stream [][16]byte
	for i := 0; i < 100; i++ {
		stream = append(stream, randomKey(rng))
	}

	s := newKeySet()
	spillSmall(t, s, 10, 2)
	s.dir = notAFolder(t, "missing")
	for i := range stream[:20] {
		h := s.hash(&stream[i])
		_, found, slot := s.lookup(&stream[i], h)
		if !found && s.err == nil {
			s.insert(&stream[i], rowRef(i), slot, h)
		}
	}
	if s.err == nil || !strings.Contains(s.err.Error(), "what to do") || !strings.Contains(s.err.Error(), "missing") {
		t.Fatalf("err = %v; want one naming the folder and what to do", s.err)
	}

	s = newKeySet()
	spillSmall(t, s, 10, 2)
	againstMap(t, s, stream[:50])
	for _, r := range s.runs {
		r.f.Close() // as if the disk went away
	}
	k := stream[3]
	if _, _, _ = s.lookup(&k, s.hash(&k)); s.err == nil || !strings.Contains(s.err.Error(), "reading") {
		t.Fatalf("err = %v; want a read error", s.err)
	}
}

// A Validator whose memory holds a handful of activities flags exactly the
// duplicates one that holds them all flags, through CheckAll too, and a
// failing temporary folder stops CheckAll with the reason, the row it
// could not check made invalid.
func TestValidatorSpills(t *testing.T) {
	rows := batchRowsFor(3*checkBatch + 11)
	cat := tenantCatalogue(t)
	want := checkEach(cat, rows)
	v := NewValidator(cat, func() time.Time { return testNow })
	spillSmall(t, v.ids, 37, 5)
	spillSmall(t, v.providers, 64, 7)
	v.SpillDir = v.ids.dir // both sets spill there, and it must be empty after
	var got []Item
	if err := v.CheckAll(&sliceSource{t: t, rows: rows, end: io.EOF}, func(it Item) error {
		got = append(got, it)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d items, want %d", len(got), len(want))
	}
	dups := 0
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("item %d:\ngot  %+v\nwant %+v", i, got[i], want[i])
		}
		if want[i].DuplicateOf != nil {
			dups++
		}
	}
	if dups == 0 || v.ids.spilled == 0 || v.providers.spilled == 0 {
		t.Fatalf("%d duplicates, %d and %d keys spilled: the test tests nothing", dups, v.ids.spilled, v.providers.spilled)
	}

	v = NewValidator(cat, func() time.Time { return testNow })
	spillSmall(t, v.ids, 37, 5)
	v.SpillDir = notAFolder(t, "missing")
	var last Item
	n := 0
	err := v.CheckAll(&sliceSource{t: t, rows: rows, end: io.EOF}, func(it Item) error {
		last = it
		n++
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "duplicate") || !strings.Contains(err.Error(), "what to do") {
		t.Fatalf("CheckAll = %v; want the temporary file's error", err)
	}
	if n >= len(rows) || last.Valid() || len(last.Problems) == 0 || last.Problems[len(last.Problems)-1].Message != err.Error() {
		t.Errorf("after %d rows the last item is %+v; want it invalid with the error", n, last)
	}
}

// A million keys remembered, as remember does for one kind of id: in memory
// only (the limit lifted), and spilling with the default budget; all
// distinct, an export pasted twice (500,000 keys, then the same again), and
// one key in five a copy of any earlier one.
func BenchmarkKeySet(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	distinct := make([][16]byte, 1_000_000)
	for i := range distinct {
		distinct[i] = randomKey(rng)
	}
	pasted := append(slices.Clone(distinct[:500_000]), distinct[:500_000]...)
	random := slices.Clone(distinct)
	for i := 1; i < len(random); i++ {
		if rng.IntN(5) == 0 {
			random[i] = random[rng.IntN(i)]
		}
	}
	for _, stream := range []struct {
		name string
		keys [][16]byte
	}{{"distinct", distinct}, {"pasted", pasted}, {"random", random}} {
		for _, c := range []struct {
			name  string
			limit int
		}{{"memory", 1 << 30}, {"spilling", SpillKeys}} {
			b.Run(stream.name+"/"+c.name, func(b *testing.B) {
				keys := stream.keys
				for b.Loop() {
					s := newKeySet()
					s.limit = c.limit
					for i := range keys {
						h := s.hash(&keys[i])
						if _, found, slot := s.lookup(&keys[i], h); !found {
							s.insert(&keys[i], rowRef(i), slot, h)
						}
					}
					if s.err != nil {
						b.Fatal(s.err)
					}
					s.close()
				}
			})
		}
	}
}
