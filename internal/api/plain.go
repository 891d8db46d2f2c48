package api

import (
	"strings"
	"unicode/utf8"
)

// PlainJSON reports whether encoding/json writes s as it is between quotes
// (with or without HTML escaping): valid UTF-8 without control characters,
// quotes, backslashes, the HTML characters it escapes (<, >, &) or U+2028 and
// U+2029. Code that writes JSON by hand (the ledger's payload hash) may copy
// such a string without encoding it.
func PlainJSON(s string) bool {
	ascii := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return ascii || (utf8.ValidString(s) && !strings.ContainsRune(s, '\u2028') && !strings.ContainsRune(s, '\u2029'))
}
