package reconcile

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/reten/reconcile/importer"
	"github.com/reten/reconcile/reconcile/api"
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
	want, _ := hex.DecodeString(strings.ReplaceAll(testUUID, "-", ""))
	for _, s := range []string{testUUID, strings.ToUpper(testUUID)} {
		if b, ok := uuidBytes(s); !ok || !bytes.Equal(b[:], want) {
			t.Errorf("uuidBytes(%q) = %x, %v; want %x", s, b, ok, want)
		}
	}
	for i := range testUUID {
		if testUUID[i] == '-' {
			continue
		}
		for _, c := range []byte{'g', 'G', ' ', '/', ':', '@', '`', 0xff} {
			s := testUUID[:i] + string([]byte{c}) + testUUID[i+1:]
			if _, ok := uuidBytes(s); ok {
				t.Errorf("uuidBytes(%q) accepted %q at %d", s, c, i)
			}
		}
	}
}
