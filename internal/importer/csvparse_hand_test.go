//go:build !csvstd

package importer

import (
	"bytes"
	"testing"
)

func TestIndexEither(t *testing.T) {
	for n := 0; n <= 20; n++ {
		for at := -1; at < n; at++ {
			for _, c := range []byte{',', '"', ';'} {
				b := bytes.Repeat([]byte{'x'}, n)
				if at >= 0 {
					b[at] = c
					if at+1 < n {
						b[at+1] = '"' // a later match must not win
					}
				}
				want := bytes.IndexAny(b, ",\"")
				if want < 0 {
					want = n
				}
				if got := indexEither(b, ',', '"'); got != want {
					t.Errorf("indexEither(%q) = %d, want %d", b, got, want)
				}
			}
		}
	}
	// Bytes one above or below the ones sought, which a borrow could confuse.
	for _, b := range [][]byte{[]byte("+-+-+-+-+-+-+-+-,"), []byte("!#!#!#!#!#!#!#!#\""), []byte("\x00\x01\xff\x80,,,,,,,,")} {
		want := bytes.IndexAny(b, ",\"")
		if got := indexEither(b, ',', '"'); got != want {
			t.Errorf("indexEither(%q) = %d, want %d", b, got, want)
		}
	}
}
