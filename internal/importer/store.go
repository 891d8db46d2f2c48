package importer

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// A row store is a workbook's records as its source read them (a sheet's
// rows with their cells turned into text), kept on disk so that the
// workbook can be read again without being unzipped and parsed: 100,000
// rows take 10 s and more to parse, their store a tenth of a second to
// read. Open knows a store by its first bytes and reads it as it would have
// read the workbook: the same header detection, mapping, dates, row
// numbers, sheet and messages, under the file name the store was saved
// with. A delimited file is not stored: its records depend on the header
// found in it (how wide a row may be), and it parses quickly anyway.
//
// The format, after storeMagic: a uvarint-prefixed JSON Layout (storeMeta), then one
// record after another, each a uvarint row number and a tag:
//
//	recCells: a uvarint count, a uvarint length per cell, the cells' bytes
//	recBroken: a row the source could not split: uvarint field+1, message
//	recFailed: the read ended in an error: message
//	recEnd: the file ended; nothing may follow
//
// A store without its recEnd was cut short, and reads as damaged.
var storeMagic = []byte("reconcile row store 1\n")

// A damaged store must fail, not allocate what its lengths say: no
// spreadsheet has rows wider or longer than these.
const (
	maxStoreCells  = 1 << 16
	maxStoreRecord = 1 << 30
)

const (
	recCells byte = iota + 1
	recBroken
	recFailed
	recEnd
)

// storeMeta is what a store keeps of the file it was read from: the
// fields of its Layout that its source fills before a header is read,
// under the name it is to be called by. A field a source comes to fill
// must be added here: TestRowStoreReadsAsTheFile compares whole Layouts.
func storeMeta(l *Layout, name string) Layout {
	return Layout{File: name, Kind: l.Kind, Sheet: l.Sheet, Delimiter: l.Delimiter, Encoding: l.Encoding, LineBreak: l.LineBreak}
}

// saveSource writes the records of src, the file at path laid out as l, to
// a row store at dst that calls it name.
func saveSource(dst string, src source, l *Layout, path, name string) error {
	w, err := newStoreWriter(dst, l, path, name)
	if err != nil {
		return err
	}
	for !w.ended {
		w.record(src.next())
	}
	return w.finish()
}

// OpenSaving opens the file at path as Open does with opts and, for a
// workbook, saves its records to a row store at dst as they are read: once
// the last row has been read, dst holds the store, which Open reads as it
// would the workbook, and the workbook need not be parsed again. A Reader
// closed before the end leaves no store, nor does a delimited file (see
// above). Messages and the store call the file opts.Name when it is set.
func OpenSaving(path string, opts Options, dst string) (*Reader, error) {
	name := opts.nameOf(path)
	mapping, err := optionsMapping(opts)
	if err != nil {
		return nil, err
	}
	src, l, err := openSource(path, opts)
	if err != nil {
		return nil, renamed(err, path, name)
	}
	l.File = name
	if _, ok := src.(*xlsxSource); !ok {
		return newReader(src, l, opts, mapping)
	}
	w, err := newStoreWriter(dst, l, path, name)
	if err != nil {
		src.close()
		return nil, err
	}
	return newReader(&savingSource{src: src, w: w}, l, opts, mapping)
}

// savingSource writes the records of src to a store as they are read.
type savingSource struct {
	src source
	w   *storeWriter
}

func (s *savingSource) next() ([]string, int, error) {
	cells, row, err := s.src.next()
	if !s.w.ended {
		s.w.record(cells, row, err)
		if s.w.ended {
			s.w.finish() // a store that cannot be written is only not kept
		}
	}
	return cells, row, err
}

func (s *savingSource) close() error {
	if !s.w.done {
		s.w.discard()
	}
	return s.src.close()
}

// storeWriter writes a row store to a temporary file beside its place,
// renamed over it once whole.
type storeWriter struct {
	dst   string
	f     *os.File
	bw    *bufio.Writer
	path  string // the file's own path, replaced by name in messages
	name  string
	num   [binary.MaxVarintLen64]byte
	ended bool // the end is written: finish or discard
	done  bool // finished or discarded
}

func newStoreWriter(dst string, l *Layout, path, name string) (*storeWriter, error) {
	meta, err := json.Marshal(storeMeta(l, name))
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return nil, err
	}
	w := &storeWriter{dst: dst, f: f, bw: bufio.NewWriterSize(f, 64<<10), path: path, name: name}
	w.bw.Write(storeMagic)
	w.uvarint(len(meta))
	w.bw.Write(meta)
	return w, nil
}

func (w *storeWriter) uvarint(v int) { w.bw.Write(w.num[:binary.PutUvarint(w.num[:], uint64(v))]) }

func (w *storeWriter) text(s string) {
	w.uvarint(len(s))
	w.bw.WriteString(s)
}

// record writes what one call of a source's next gave. bufio keeps the
// first write error, which finish tells.
func (w *storeWriter) record(cells []string, row int, err error) {
	if err == io.EOF {
		w.uvarint(0)
		w.bw.WriteByte(recEnd)
		w.ended = true
		return
	}
	w.uvarint(row)
	var re *rowError
	switch {
	case errors.As(err, &re):
		w.bw.WriteByte(recBroken)
		w.uvarint(re.field + 1)
		w.text(re.err.Error())
	case err != nil:
		w.bw.WriteByte(recFailed)
		w.text(strings.ReplaceAll(err.Error(), w.path, w.name))
		w.uvarint(0)
		w.bw.WriteByte(recEnd)
		w.ended = true
	default:
		w.bw.WriteByte(recCells)
		w.uvarint(len(cells))
		for _, c := range cells {
			w.uvarint(len(c))
		}
		for _, c := range cells {
			w.bw.WriteString(c)
		}
	}
}

// finish puts the whole store in its place.
func (w *storeWriter) finish() error {
	w.done = true
	err := w.bw.Flush()
	if err == nil {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(w.f.Name(), w.dst)
	}
	if err != nil {
		os.Remove(w.f.Name())
	}
	return err
}

func (w *storeWriter) discard() {
	w.done = true
	w.f.Close()
	os.Remove(w.f.Name())
}

// renamed puts name where an error has the path of the file it was read as.
func renamed(err error, path, name string) error {
	if path == name {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), path, name))
}

// openSource opens the records of path as Open would, without reading a
// header.
func openSource(path string, opts Options) (source, *Layout, error) {
	head, err := readHead(path)
	l := &Layout{File: path}
	switch {
	case err != nil || len(head) == 0 || bytes.HasPrefix(head, oleMagic):
		return nil, nil, openError(path, opts)
	case bytes.HasPrefix(head, storeMagic):
		s, err := openStore(path, opts, l)
		if err != nil {
			return nil, nil, err
		}
		return s, l, nil
	case bytes.HasPrefix(head, zipMagic):
		if strings.ToLower(filepath.Ext(path)) == ".ods" {
			return nil, nil, openError(path, opts)
		}
		s, err := openXLSX(path, path, opts, l)
		if err != nil {
			return nil, nil, err
		}
		return s, l, nil
	case isWorkbookName(path):
		return nil, nil, openError(path, opts)
	}
	s, err := openCSV(path, path, head, opts, l)
	if err != nil {
		return nil, nil, err
	}
	return s, l, nil
}

// storeSource reads the records of a row store.
type storeSource struct {
	f    *os.File
	r    *bufio.Reader
	name string
	done bool
	lens []int
	buf  []byte
}

// openStore opens the row store at path and fills layout as the file it was
// saved from would have.
func openStore(path string, opts Options, layout *Layout) (*storeSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s cannot be opened: %w", path, unwrapPath(err))
	}
	s := &storeSource{f: f, r: bufio.NewReaderSize(f, 64<<10), name: path}
	if _, err := s.r.Discard(len(storeMagic)); err != nil {
		f.Close()
		return nil, s.damaged(err)
	}
	n, err := s.uvarint()
	var meta Layout
	if err == nil && n > 1<<20 {
		err = errors.New("its description is too long")
	}
	if err == nil {
		raw := make([]byte, n)
		if _, err = io.ReadFull(s.r, raw); err == nil {
			err = json.Unmarshal(raw, &meta)
		}
	}
	if err != nil {
		f.Close()
		return nil, s.damaged(err)
	}
	if opts.Sheet != "" && opts.Sheet != meta.Sheet {
		f.Close()
		return nil, fmt.Errorf("%s was stored from sheet %q, not %q; store the sheet wanted", meta.File, meta.Sheet, opts.Sheet)
	}
	s.name = meta.File
	*layout = storeMeta(&meta, meta.File)
	return s, nil
}

func (s *storeSource) damaged(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("the row store of %s is damaged (%v); read the file again", s.name, err)
}

func (s *storeSource) uvarint() (int, error) {
	v, err := binary.ReadUvarint(s.r)
	if err == nil && v > 1<<40 {
		err = errors.New("a length out of range")
	}
	return int(v), err
}

func (s *storeSource) next() ([]string, int, error) {
	if s.done {
		return nil, 0, io.EOF
	}
	row, err := s.uvarint()
	if err != nil {
		return nil, 0, s.damaged(err)
	}
	tag, err := s.r.ReadByte()
	if err != nil {
		return nil, row, s.damaged(err)
	}
	switch tag {
	case recEnd:
		s.done = true
		return nil, 0, io.EOF
	case recBroken, recFailed:
		field := 0
		if tag == recBroken {
			if field, err = s.uvarint(); err != nil {
				return nil, row, s.damaged(err)
			}
		}
		msg, err := s.text()
		if err != nil {
			return nil, row, s.damaged(err)
		}
		if tag == recFailed {
			s.done = true
			return nil, row, errors.New(msg)
		}
		return nil, row, &rowError{row: row, err: errors.New(msg), field: field - 1}
	case recCells:
	default:
		return nil, row, s.damaged(fmt.Errorf("unknown record %d", tag))
	}
	n, err := s.uvarint()
	if err == nil && n > maxStoreCells {
		err = fmt.Errorf("a row of %d cells", n)
	}
	if err != nil {
		return nil, row, s.damaged(err)
	}
	s.lens = s.lens[:0]
	total := 0
	for range n {
		k, err := s.uvarint()
		if err != nil {
			return nil, row, s.damaged(err)
		}
		s.lens = append(s.lens, k)
		total += k
	}
	if total > maxStoreRecord {
		return nil, row, s.damaged(fmt.Errorf("a row of %d bytes", total))
	}
	if cap(s.buf) < total {
		s.buf = make([]byte, total)
	}
	b := s.buf[:total]
	if _, err := io.ReadFull(s.r, b); err != nil {
		return nil, row, s.damaged(err)
	}
	// One string for the whole record, its cells slices of it: a row costs
	// two allocations whatever its width.
	all := string(b)
	cells := make([]string, n)
	at := 0
	for i, k := range s.lens {
		cells[i] = all[at : at+k]
		at += k
	}
	return cells, row, nil
}

func (s *storeSource) text() (string, error) {
	n, err := s.uvarint()
	if err != nil {
		return "", err
	}
	b := make([]byte, n)
	_, err = io.ReadFull(s.r, b)
	return string(b), err
}

func (s *storeSource) close() error { return s.f.Close() }
