package reports

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"
)

// The columns rejects files add after the user's own: typed data that
// `reconcile retry` reads back (RowClass), and the reason for the person who
// fixes the row. Their names start with the prefix the importer ignores
// (importer.ReasonColumnPrefix), so a fixed rejects file can be uploaded
// again as it is.
const (
	RejectsRowColumn     = "reconcile_row"     // the row's number in the file it was first read from
	RejectsOutcomeColumn = "reconcile_outcome" // its outcome.Class
	RejectsErrorColumn   = "reconcile_error"   // why (Reason)
)

// rejectsColumns are the added columns, in the order they are added.
var rejectsColumns = [...]string{RejectsRowColumn, RejectsOutcomeColumn, RejectsErrorColumn}

// rejects writes one input file's rows that need a person, in that file's
// own columns and format. The file is created with its first row, so a run
// with nothing to fix leaves no rejects file behind.
type rejects struct {
	layout *importer.Layout
	path   string
	name   string // path relative to the report folder
	// at is the index of each of rejectsColumns: the user's own column when
	// the input was itself a rejects file, else past their columns.
	at    [len(rejectsColumns)]int
	width int
	rec   []string
	rows  int
	err   error // the first write that failed; the file is then abandoned
	// waiting is set once a row for this file is given to Writer.Write,
	// before Close writes it: if the rows are lost, so is this file.
	waiting bool

	// CSV
	f   *os.File
	buf *bufio.Writer
	cw  *csvWriter
	out *bufio.Writer // what cw writes to: buf, or an encoder in front of it
	// cm is set when cells must be written in a single-byte encoding.
	cm  *charmap.Charmap
	enc *transform.Writer

	// XLSX
	x   *excelize.File
	sw  *excelize.StreamWriter
	row []any
}

func newRejects(dir, name string, l *importer.Layout) *rejects {
	r := &rejects{layout: l, path: filepath.Join(dir, name), name: name}
	r.width = len(l.Columns)
	for k, name := range rejectsColumns {
		r.at[k] = columnIndex(l, name)
		if r.at[k] < 0 {
			r.at[k] = r.width
			r.width++
		}
	}
	r.rec = make([]string, r.width)
	return r
}

// rejectsNames names each input's rejects file: rejects.csv (or .xlsx) for a
// single input, rejects-<input name> for several, never two the same.
func rejectsNames(layouts []*importer.Layout) []string {
	names := make([]string, len(layouts))
	taken := map[string]bool{}
	for i, l := range layouts {
		ext := ".csv"
		if l.Kind == "xlsx" {
			ext = ".xlsx"
		} else if e := filepath.Ext(l.File); e != "" {
			ext = e // keep .txt or .tsv so the user's program opens it the same way
		}
		base := "rejects"
		if len(layouts) > 1 {
			stem := strings.TrimSuffix(filepath.Base(l.File), filepath.Ext(l.File))
			if l.Kind == "xlsx" && l.Sheet != "" && sameFileTwice(layouts, l.File) {
				stem += "-" + l.Sheet
			}
			base = "rejects-" + safeName(stem)
		}
		name := base + ext
		for n := 2; taken[strings.ToLower(name)]; n++ {
			name = fmt.Sprintf("%s-%d%s", base, n, ext)
		}
		taken[strings.ToLower(name)] = true
		names[i] = name
	}
	return names
}

func sameFileTwice(layouts []*importer.Layout, file string) bool {
	n := 0
	for _, l := range layouts {
		if l.File == file {
			n++
		}
	}
	return n > 1
}

// safeName keeps a file name portable to Windows, where the reports are often
// opened.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(`<>:"/\|?*`, r) || r < 32 {
			return '_'
		}
		return r
	}, s)
}

func (r *rejects) write(o *outcome.Outcome) error {
	if r.f == nil && r.x == nil {
		if err := r.open(); err != nil {
			return err
		}
	}
	clear(r.rec)
	copy(r.rec, o.Row.Cells)
	// A row of a rejects file uploaded again keeps the number it had in the
	// file it was first read from.
	if at := r.at[0]; at >= len(o.Row.Cells) || strings.TrimSpace(o.Row.Cells[at]) == "" {
		r.rec[at] = strconv.Itoa(o.Row.Pos.Row)
	}
	r.rec[r.at[1]] = string(o.Class)
	// The reason is reconcile's own text, not the user's data: neutralise it
	// so the file is safe to open, and the importer ignores it on re-upload.
	r.rec[r.at[2]] = Neutralise(Reason(o))
	r.rows++
	if r.x != nil {
		for i, c := range r.rec {
			r.row[i] = c // strings, never formulas: a spreadsheet shows them as text
		}
		cell, _ := excelize.CoordinatesToCellName(1, r.rows+1)
		return r.sw.SetRow(cell, r.row)
	}
	if r.cm != nil {
		for i, c := range r.rec {
			r.rec[i] = representable(r.cm, c)
		}
	}
	return r.cw.write(r.rec)
}

func (r *rejects) header() []string {
	h := make([]string, r.width)
	copy(h, r.layout.Columns)
	for k, name := range rejectsColumns {
		h[r.at[k]] = name
	}
	return h
}

func (r *rejects) open() error {
	if r.layout.Kind == "xlsx" {
		return r.openXLSX()
	}
	f, err := os.OpenFile(r.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	r.f = f
	r.buf = bufio.NewWriterSize(fileWriter(r.name, f), 32<<10)
	r.out = r.buf
	switch strings.ToLower(r.layout.Encoding) {
	case "utf-8-bom":
		r.buf.WriteString(utf8BOM)
	case "windows-1252", "iso-8859-1":
		// Cells are made representable first (representable), so the
		// encoder never fails; transform.Writer copes with runes split
		// across the csv.Writer's buffer flushes.
		r.cm = charmap.Windows1252
		if strings.EqualFold(r.layout.Encoding, "iso-8859-1") {
			r.cm = charmap.ISO8859_1
		}
		r.enc = transform.NewWriter(r.buf, r.cm.NewEncoder())
		r.out = bufio.NewWriterSize(r.enc, 4<<10)
	}
	// Records end in CRLF, as Excel writes CSV; every CSV reader takes it.
	r.cw = newCSVWriter(r.out, r.layout.Delimiter)
	h := r.header()
	if r.cm != nil {
		for i, c := range h {
			h[i] = representable(r.cm, c)
		}
	}
	return r.cw.write(h)
}

func (r *rejects) openXLSX() error {
	x := excelize.NewFile()
	sheet := r.layout.Sheet
	if sheet == "" {
		sheet = "Sheet1"
	}
	if sheet != "Sheet1" {
		if err := x.SetSheetName("Sheet1", sheet); err != nil {
			x.Close()
			return fmt.Errorf("rejects for %s: %w", r.layout.File, err)
		}
	}
	sw, err := x.NewStreamWriter(sheet)
	if err != nil {
		x.Close()
		return err
	}
	h := r.header()
	// Widths and a frozen header make the file easier to fix; neither
	// changes what the importer reads.
	for i, c := range h {
		if err := sw.SetColWidth(i+1, i+1, float64(min(max(utf8.RuneCountInString(c)+4, 10), 40))); err != nil {
			x.Close()
			return err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		x.Close()
		return err
	}
	r.row = make([]any, len(h))
	for i, c := range h {
		r.row[i] = c
	}
	if err := sw.SetRow("A1", r.row); err != nil {
		x.Close()
		return err
	}
	r.row = r.row[:r.width]
	r.x, r.sw = x, sw
	return nil
}

func (r *rejects) close() error {
	switch {
	case r.x != nil:
		err := r.sw.Flush()
		if err == nil {
			err = saveXLSX(r.x, r.path, nil)
		}
		if e := r.x.Close(); err == nil {
			err = e
		}
		return err
	case r.f != nil:
		var err error
		if r.out != r.buf {
			err = r.out.Flush()
		}
		if r.enc != nil {
			if e := r.enc.Close(); err == nil {
				err = e
			}
		}
		if e := r.buf.Flush(); err == nil {
			err = e
		}
		if e := r.f.Close(); err == nil {
			err = e
		}
		return err
	}
	return nil
}

// abandon releases the file of a rejects file that failed, writing nothing more.
func (r *rejects) abandon() {
	switch {
	case r.x != nil:
		r.x.Close()
	case r.f != nil:
		r.f.Close()
	}
}

// representable replaces the characters cm cannot hold with '?'. Cells read
// from a file in that encoding always fit; only reconcile's reason text (an
// API message with, say, an arrow or a CJK name) can lose characters, and the
// importer ignores that column anyway.
func representable(cm *charmap.Charmap, s string) string {
	for i, r := range s {
		if _, ok := cm.EncodeRune(r); !ok || r == utf8.RuneError {
			return representableSlow(cm, s, i)
		}
	}
	return s
}

func representableSlow(cm *charmap.Charmap, s string, from int) string {
	var b strings.Builder
	b.WriteString(s[:from])
	for _, r := range s[from:] {
		if _, ok := cm.EncodeRune(r); !ok || r == utf8.RuneError {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}
