package importer

import (
	"errors"
	"time"
)

// Options says how to read input files. The zero value detects everything.
type Options struct {
	Delimiter   rune           // 0: detect among , ; tab |
	Encoding    string         // "": detect UTF-8 (with or without BOM) or Windows-1252
	Sheet       string         // "": the first sheet
	MappingFile string         // "": the contract's field names are the headers
	DateFormat  string         // "": ISO 8601 only (and date cells); else a Go layout such as 02/01/2006 15:04
	Location    *time.Location // nil: UTC; local dates are read in it
}

// Reader streams the rows of one file.
type Reader struct{ layout *Layout }

// Open opens path and reads its header.
func Open(path string, opts Options) (*Reader, error) {
	return nil, errors.New("importer: not built yet")
}

// Layout is the file's layout, known once the header is read.
func (r *Reader) Layout() *Layout { return r.layout }

// Next returns the next data row, or io.EOF after the last.
func (r *Reader) Next() (Row, error) { return Row{}, errors.New("importer: not built yet") }

// Close releases the file.
func (r *Reader) Close() error { return nil }
