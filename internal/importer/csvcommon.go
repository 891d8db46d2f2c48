package importer

import (
	"bytes"
	"unicode/utf8"
)

// Block sizes: big enough that allocating them is rare, small enough that a
// row kept alive keeps little else alive.
const (
	textBlock = 64 << 10
	cellBlock = 4096
)

// maxRecordLines is the most lines one record may span. Excel holds at most
// 253 line breaks in a cell; a quoted cell running on for more lines than
// this is a quote that is never closed.
const maxRecordLines = 1000

// nonEmptyCells counts spans up to the last one holding more than spaces.
func nonEmptyCells(rec []byte, spans []int) int {
	n := len(spans) / 2
	for n > 0 && len(bytes.TrimSpace(rec[spans[2*n-2]:spans[2*n-1]])) == 0 {
		n--
	}
	return n
}

func lengthNL(b []byte) int {
	if len(b) > 0 && b[len(b)-1] == '\n' {
		return 1
	}
	return 0
}

func hasPrefix(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[:len(s)]) == s
}

// validComma is encoding/csv's rule for a separator.
func validComma(r rune) bool {
	return r != 0 && r != '"' && r != '\r' && r != '\n' && utf8.ValidRune(r) && r != utf8.RuneError
}
