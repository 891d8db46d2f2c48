package importer

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Lookup returns what the mapping itself says of a header: its field, or
// ignore for a header it drops; found is false when the mapping does not
// name the header (the contract's names are not consulted). A nil Mapping
// names nothing.
func (m *Mapping) Lookup(header string) (f Field, ignore, found bool) {
	if m == nil {
		return NoField, false, false
	}
	key := foldHeader(header)
	if f, ok := m.fields[key]; ok {
		return f, false, true
	}
	if m.ignored[key] {
		return NoField, true, true
	}
	return NoField, false, false
}

// MappingEntry is one line of a mapping file: a header and the field it
// holds, or Ignore to drop it.
type MappingEntry struct {
	Header string
	Field  Field
	Ignore bool
}

// WriteMapping writes entries in the form LoadMapping reads ("header =
// field", one a line), after comment lines. A header is written so that it
// reads back as the same header: line breaks become spaces, and a leading
// "#" (which would start a comment) is left out; neither counts when
// headers are compared.
func WriteMapping(w io.Writer, comment string, entries []MappingEntry) error {
	bw := bufio.NewWriter(w)
	for _, line := range strings.Split(strings.TrimSpace(comment), "\n") {
		if line != "" {
			fmt.Fprintf(bw, "# %s\n", line)
		}
	}
	width := 0
	heads := make([]string, len(entries))
	for i, e := range entries {
		h := strings.Join(strings.Fields(e.Header), " ")
		h = strings.TrimSpace(strings.TrimLeft(h, "#"))
		heads[i] = h
		width = max(width, len([]rune(h)))
	}
	for i, e := range entries {
		if heads[i] == "" || foldHeader(heads[i]) == "" {
			continue // LoadMapping refuses a header without letters or digits
		}
		target := "ignore"
		if !e.Ignore {
			if e.Field == NoField {
				continue
			}
			target = e.Field.String()
		}
		pad := strings.Repeat(" ", width-len([]rune(heads[i])))
		fmt.Fprintf(bw, "%s%s = %s\n", heads[i], pad, target)
	}
	return bw.Flush()
}
