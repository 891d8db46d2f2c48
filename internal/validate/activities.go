package validate

import (
	"hash/maphash"

	"github.com/reten/reconcile/internal/importer"
)

// What duplicate detection keeps of a valid row's activity, and how an
// activity id becomes the 16 bytes a keySet holds.

// activityKeys are what remember needs of a valid row, worked out with the
// rest of the row so that CheckAll can do it on its second goroutine.
type activityKeys struct {
	hasID, hasProvider   bool
	id, provider         [16]byte // the UUID's bytes; the provider id as providerKey packs it
	idHash, providerHash uint64
}

// remember records the activity of a valid row and returns the position of
// an earlier row about the same activity, if there was one.
func (v *Validator) remember(pos importer.Position, k *activityKeys) *importer.Position {
	v.ids.dir, v.providers.dir = v.SpillDir, v.SpillDir // read when a set first spills
	var idSlot, pSlot int
	if k.hasID {
		first, found, slot := v.ids.lookup(&k.id, k.idHash)
		if found {
			p := v.places.position(first)
			return &p
		}
		idSlot = slot
	}
	if k.hasProvider {
		first, found, slot := v.providers.lookup(&k.provider, k.providerHash)
		if found {
			p := v.places.position(first)
			return &p
		}
		pSlot = slot
	}
	// Neither is known: remember both, at the slots just found (the two
	// sets are apart, so inserting into one leaves the other's slot valid).
	at := v.places.ref(pos)
	if k.hasID {
		v.ids.insert(&k.id, at, idSlot, k.idHash)
	}
	if k.hasProvider {
		v.providers.insert(&k.provider, at, pSlot, k.providerHash)
	}
	return nil
}

// providerKey packs a provider id into 16 bytes: as is when it fits (the
// last byte holds its length, 1-15, which tells "A" from "A\x00"), else as
// a 127-bit keyed hash whose last byte has its top bit set, so the two forms
// never meet. Hashed ids are not kept to confirm a match: with two maphash
// seeds a collision among a million long ids has odds of about 1 in 10^26,
// far below those of the machine flipping a bit in memory, and keeping
// every long id would cost its whole length per activity.
func (v *Validator) providerKey(id string) [16]byte {
	var k [16]byte
	if len(id) < len(k) {
		copy(k[:], id)
		k[15] = byte(len(id))
		return k
	}
	h1 := maphash.String(v.seed, id)
	h2 := maphash.String(v.seed2, id)
	for i := 0; i < 8; i++ {
		k[i] = byte(h1 >> (8 * i))
		k[8+i] = byte(h2 >> (8 * i))
	}
	k[15] |= 0x80
	return k
}

// isUUID reports whether s is written as a UUID (8-4-4-4-12 hex digits).
func isUUID(s string) bool {
	_, ok := uuidBytes(s)
	return ok
}

func uuidBytes(s string) ([16]byte, bool) {
	var b [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return b, false
	}
	// Every digit's value has 0x10 added (hexDigits), so one test at the end
	// tells whether all 32 were hex digits.
	all := byte(0x10)
	for j, i := range uuidDigits {
		hi, lo := hexDigits[s[i]], hexDigits[s[i+1]]
		all &= hi & lo
		b[j] = hi<<4 | lo&0x0f
	}
	return b, all != 0
}

// uuidDigits are where each byte's two hex digits start in 8-4-4-4-12 form.
var uuidDigits = [16]int{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34}

// hexDigits holds each hex digit's value plus 0x10, and 0 for other bytes:
// one load per character, which showed in profiles of million-row files.
var hexDigits = func() (t [256]byte) {
	for c := 0; c < 256; c++ {
		switch {
		case '0' <= c && c <= '9':
			t[c] = byte(c-'0') | 0x10
		case 'a' <= c && c <= 'f':
			t[c] = byte(c-'a'+10) | 0x10
		case 'A' <= c && c <= 'F':
			t[c] = byte(c-'A'+10) | 0x10
		}
	}
	return t
}()
