package api

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// topLevelID finds the value of the "id" member of the JSON object in data,
// without decoding the rest: a submitter reads one answer per row, and a full
// decode of each was a tenth of its CPU. ok is false when data is not an
// object this scanner can walk (malformed, or an escaped key); the caller then
// decodes it with encoding/json. It checks the object's shape, not every
// value in it: on a body encoding/json accepts it finds what encoding/json finds.
func topLevelID(data []byte) (id json.RawMessage, ok bool) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return nil, false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return nil, true
	}
	// Like encoding/json: keys match in any case, and the last one wins.
	for i < len(data) {
		if data[i] != '"' {
			return nil, false
		}
		end, escaped := scanString(data, i)
		if end < 0 || escaped {
			return nil, false
		}
		isID := bytes.EqualFold(data[i+1:end-1], []byte("id"))
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return nil, false
		}
		i = skipSpace(data, i+1)
		start := i
		if i = skipValue(data, i); i < 0 {
			return nil, false
		}
		if isID {
			id = data[start:i]
		}
		i = skipSpace(data, i)
		if i >= len(data) {
			return nil, false
		}
		switch data[i] {
		case '}':
			return id, skipSpace(data, i+1) == len(data)
		case ',':
			i = skipSpace(data, i+1)
		default:
			return nil, false
		}
	}
	return nil, false
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// scanString returns the index just past the string starting at data[i]
// (a '"'), or -1, and whether it holds an escape.
func scanString(data []byte, i int) (int, bool) {
	escaped := false
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j + 1, escaped
		}
	}
	return -1, escaped
}

// skipValue returns the index just past the value starting at data[i], or -1.
func skipValue(data []byte, i int) int {
	if i >= len(data) {
		return -1
	}
	switch data[i] {
	case '"':
		end, _ := scanString(data, i)
		return end
	case '{', '[':
		depth := 0
		for i < len(data) {
			switch data[i] {
			case '"':
				end, _ := scanString(data, i)
				if end < 0 {
					return -1
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	}
	start := i
	for i < len(data) {
		switch data[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			if i == start {
				return -1
			}
			return i
		}
		i++
	}
	return -1
}

// plainString returns the JSON string token v unquoted when it needs no
// decoding (no escapes, no control characters, valid UTF-8), as
// json.Unmarshal would give it; every answer's id takes this path.
func plainString(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	in := v[1 : len(v)-1]
	for _, c := range in {
		if c < 0x20 || c == '"' || c == '\\' {
			return "", false
		}
	}
	if !utf8.Valid(in) {
		return "", false
	}
	return string(in), true
}
