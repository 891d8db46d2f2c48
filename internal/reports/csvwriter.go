package reports

import (
	"bufio"
	"strings"
)

// csvWriter writes CSV records the way spreadsheet programs do: a field is
// quoted only when it holds the delimiter, a quote or a line break, quotes are
// doubled, and every record ends in CRLF. Unlike encoding/csv with UseCRLF, it
// writes a field's own line breaks (and a lone carriage return) byte for byte,
// so a rejects file gives the user's cells back exactly.
type csvWriter struct {
	w       *bufio.Writer
	comma   rune
	special string // characters that force quoting
}

func newCSVWriter(w *bufio.Writer, comma rune) *csvWriter {
	if comma == 0 {
		comma = ','
	}
	return &csvWriter{w: w, comma: comma, special: string(comma) + "\"\r\n"}
}

func (c *csvWriter) write(rec []string) error {
	for i, f := range rec {
		if i > 0 {
			c.w.WriteRune(c.comma)
		}
		if !strings.ContainsAny(f, c.special) {
			c.w.WriteString(f)
			continue
		}
		c.w.WriteByte('"')
		for {
			j := strings.IndexByte(f, '"')
			if j < 0 {
				break
			}
			c.w.WriteString(f[:j+1])
			c.w.WriteByte('"')
			f = f[j+1:]
		}
		c.w.WriteString(f)
		c.w.WriteByte('"')
	}
	_, err := c.w.WriteString("\r\n")
	return err
}
