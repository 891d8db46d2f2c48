package importer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Options says how to read input files. The zero value detects everything.
type Options struct {
	Delimiter   rune           // 0: detect among , ; tab | (or Excel's "sep=" line)
	Encoding    string         // "": detect UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252; or utf-8, windows-1252, latin1, utf-16
	Sheet       string         // "": the first sheet
	MappingFile string         // "": the contract's field names are the headers
	DateFormat  string         // "": ISO 8601 only (and date cells); else spreadsheet notation (dd/mm/yyyy hh:mm) or a Go layout (02/01/2006 15:04), as DateLayout reads it
	Location    *time.Location // nil: UTC; local dates are read in it
	UnzipLimit  int64          // 0: DefaultUnzipLimit; the most an XLSX may unzip to, in bytes
	SpillDir    string         // "": os.TempDir(); where an XLSX's large sheets are unzipped (the run's spill.Dir)
	// Name, if not "", is what messages, rows and reports call the file in
	// place of its path: an upload stored under a name of its own. Give it
	// only to open one file.
	Name string
}

var errEOF = io.EOF

// MaxColumns is the most columns a file may have: report.xlsx holds 16,384
// (Excel's own limit) and adds columns of its own (file, sheet and the
// outcome's). A wider file is refused when it is opened, so that validate
// and run decide the same way before anything is sent.
const MaxColumns = 16384 - 32

// headerScanRows is how many non-empty rows may stand above the header (a
// title, a date, notes) before the importer gives up looking for it.
const headerScanRows = 10

// Reader streams the rows of one file. It holds a few thousand rows at most,
// so memory does not grow with the file.
//
// A goroutine reads ahead of the caller from the first Next on, parsing the
// file on one core while the caller checks rows on another. It hands rows
// over 1024 at a time, at most two batches ahead, so the rows in flight are a
// small fixed number whatever the file's size. Next still returns one row at
// a time, in file order; Close stops the goroutine, and must be called. A
// Reader is for one goroutine, like encoding/csv's.
type Reader struct {
	layout *Layout
	src    source
	norm   *normalizer
	cols   [NumFields]int // column index of each field, -1 when absent

	sequential bool // read on the caller's goroutine (tests and benchmarks compare both)

	// Owned by the caller's goroutine.
	cur     []Row // the batch being handed out
	i       int   // next row of cur
	end     error // what follows cur: io.EOF, a read error, or nil for more
	started bool
	closed  bool

	// Shared with the reading goroutine.
	batches chan batch    // full batches, in file order
	free    chan []Row    // batches handed out, for reuse
	stop    chan struct{} // closed by Close
	done    chan struct{} // closed when the goroutine has returned
}

// batchRows is how many rows go over the channel at once: enough that a
// send's cost (a lock, often waking the other goroutine) is spread thin, and
// few enough that the rows in flight (batchRows*(batchesAhead+2), about
// 2 MiB for rows of 11 cells) stay small. 1024 read 1M rows about 5% faster
// than 256 did (bench/readbench, same run).
//
// A wide file has fewer rows a batch, so that what is in flight is about
// batchCells cells a batch however many columns there are: 16,000 columns
// read 1,024 rows at a time held gigabytes. A batch also ends once its
// cells hold BatchText bytes: a workbook of 255 rows of 1 MiB cells
// (which the XLSX bounds accept) went over in one batch and peaked at
// 394 MB.
const (
	batchRows    = 1024
	batchCells   = 16 * batchRows
	batchesAhead = 2
)

// BatchText is the most text, in bytes, a batch of rows holds before it is
// handed on (it holds at least one row, so a row longer than this is a
// batch of its own). validate.CheckAll batches by the same measure, so that
// the rows in flight stay a few tens of MiB however long the cells.
const BatchText = 4 << 20

// TextBytes is the length of the row's cells together: what it holds.
func (r *Row) TextBytes() int {
	n := 0
	for _, c := range r.Cells {
		n += len(c)
	}
	return n
}

// rowsPerBatch is how many rows of width cells go in one batch.
func rowsPerBatch(width int) int {
	return min(max(batchCells/max(width, 1), 1), batchRows)
}

// batch is rows read ahead, and what comes after them: nil for more, io.EOF
// or the error that ended the read.
type batch struct {
	rows []Row
	err  error
}

// errClosed is returned by Next after Close.
var errClosed = errors.New("importer: Next called after Close")

type source interface {
	// next returns the next record and its row number; io.EOF after the last.
	next() (cells []string, row int, err error)
	close() error
}

// Magic numbers that tell file types apart regardless of their extension.
var (
	zipMagic = []byte("PK\x03\x04")
	oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
)

// Open opens path, finds its header and maps its columns to contract fields.
// The file is picked as XLSX or CSV by its content first and its extension
// second. Every error names the file and says what to do.
func Open(path string, opts Options) (*Reader, error) {
	name := opts.nameOf(path)
	mapping, err := optionsMapping(opts)
	if err != nil {
		return nil, err
	}
	head, err := readHead(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s does not exist; check the file name and folder", name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s cannot be opened: %w", name, unwrapPath(err))
	}
	layout := &Layout{File: name}
	ext := strings.ToLower(filepath.Ext(path))
	var src source
	switch {
	case len(head) == 0:
		return nil, fmt.Errorf("%s is empty; export the sheet again", name)
	case bytes.HasPrefix(head, oleMagic):
		return nil, fmt.Errorf("%s is a legacy Excel 97-2003 workbook (.xls) or a password-protected one; open it in Excel or LibreOffice and save it as .xlsx or .csv", name)
	case bytes.HasPrefix(head, storeMagic):
		s, err := openStore(path, opts, layout)
		if err != nil {
			return nil, err
		}
		if opts.Name != "" {
			layout.File = opts.Name
		}
		src = s
	case bytes.HasPrefix(head, zipMagic):
		if ext == ".ods" {
			return nil, fmt.Errorf("%s is an OpenDocument spreadsheet; save it as .xlsx or .csv", name)
		}
		s, err := openXLSX(path, name, opts, layout)
		if err != nil {
			return nil, err
		}
		src = s
	case ext == ".xlsx" || ext == ".xlsm" || ext == ".xls" || ext == ".ods":
		return nil, fmt.Errorf("%s is named like a workbook but is not one; open it in Excel or LibreOffice and save it as .xlsx or .csv", name)
	default:
		s, err := openCSV(path, name, head, opts, layout)
		if err != nil {
			return nil, err
		}
		src = s
	}
	return newReader(src, layout, opts, mapping)
}

// nameOf is what the file at path is called: Name, or its path.
func (o Options) nameOf(path string) string {
	if o.Name != "" {
		return o.Name
	}
	return path
}

// optionsMapping is the mapping opts name, nil for none.
func optionsMapping(opts Options) (*Mapping, error) {
	if opts.MappingFile == "" {
		return nil, nil
	}
	return LoadMapping(opts.MappingFile)
}

// newReader reads the header of src, the records of a file laid out as
// layout, and returns the reader of its rows.
func newReader(src source, layout *Layout, opts Options, mapping *Mapping) (*Reader, error) {
	r := &Reader{layout: layout, src: src, norm: newNormalizer(opts.DateFormat, opts.Location)}
	if err := r.readHeader(mapping); err != nil {
		src.close()
		return nil, err
	}
	return r, nil
}

func readHead(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, errors.New("it is a directory; pass a .csv or .xlsx file")
	}
	buf := make([]byte, 8<<10)
	n, err := io.ReadFull(f, buf)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = nil
	}
	return buf[:n], err
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// readHeader finds the header among the first rows: the first that names at
// least two contract fields, so a title or a date above it is skipped. If no
// row qualifies the first non-empty one is taken, and the missing-column
// error says which row that was.
func (r *Reader) readHeader(m *Mapping) error {
	l := r.layout
	var first []string
	firstRow := 0
	for seen := 0; seen < headerScanRows; {
		cells, row, err := r.src.next()
		if err == io.EOF {
			break
		}
		var rec *RecordError
		if errors.As(err, &rec) {
			rec.header = true
			return fmt.Errorf("%s: %w", r.where(row), rec)
		}
		if err != nil {
			return r.readError(row, err)
		}
		if s, ok := r.src.(interface{ wholeFile() int }); ok && len(cells) > 0 {
			if n := s.wholeFile(); n > 0 {
				return fmt.Errorf("%s: the first row runs over all %d lines of the file, so the file would be one row: a quote in it is never closed where it should be, or its lines end in a way reconcile does not read; open the file in the spreadsheet program and save it as \"CSV UTF-8\", then run that file", r.where(row), n)
			}
		}
		cells = trimTrailingEmpty(cells)
		if len(cells) == 0 {
			continue
		}
		seen++
		if first == nil {
			first, firstRow = cells, row
		}
		if countFields(cells, m) >= 2 {
			first, firstRow = cells, row
			break
		}
	}
	if first == nil {
		return fmt.Errorf("%s has no rows; export the sheet again with its header row", r.where(0))
	}
	if len(first) > MaxColumns {
		return fmt.Errorf("%s: the header row has %s columns, more than the %s a report can hold (Excel's limit is 16,384); delete the columns you do not need, or split the file into narrower ones",
			r.where(firstRow), thousands(len(first)), thousands(MaxColumns))
	}
	l.Columns = make([]string, len(first))
	for i, c := range first {
		l.Columns[i] = strings.TrimSpace(c)
	}
	l.HeaderRow = firstRow
	l.Fields = make([]Field, len(l.Columns))
	for i := range r.cols {
		r.cols[i] = -1
	}
	for i, h := range l.Columns {
		f, ignore := m.lookup(h)
		l.Fields[i] = f
		if f == NoField {
			if !ignore {
				l.Unknown = append(l.Unknown, h)
			}
			continue
		}
		if j := r.cols[f]; j >= 0 {
			return fmt.Errorf("%s: columns %q and %q both hold %s; keep one, or map one of them to ignore with --mapping", r.where(firstRow), l.Columns[j], h, f)
		}
		r.cols[f] = i
	}
	var missing []string
	for _, f := range []Field{Result, CommerceExternalID, OccurredAt, Status} {
		if r.cols[f] < 0 {
			missing = append(missing, f.String())
		}
	}
	if r.cols[ActivityID] < 0 && r.cols[ProviderActivityID] < 0 {
		missing = append(missing, "activity_id or provider_activity_id")
	}
	l.cols = &r.cols
	l.norm = r.norm
	if s, ok := r.src.(interface{ reserve(int) }); ok {
		s.reserve(len(l.Columns))
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: the header row has no column for %s (headers found: %s); name the columns as the contract does, or map your headers to fields with --mapping FILE",
			r.where(firstRow), strings.Join(missing, ", "), NameList(l.Columns))
	}
	return nil
}

func countFields(cells []string, m *Mapping) int {
	n := 0
	for _, c := range cells {
		if f, _ := m.lookup(c); f != NoField {
			n++
		}
	}
	return n
}

// Layout is the file's layout, known once the header is read.
func (r *Reader) Layout() *Layout { return r.layout }
