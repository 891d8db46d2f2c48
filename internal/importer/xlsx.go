package importer

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/reten/reconcile/internal/spill"
	"github.com/xuri/excelize/v2"
)

// DefaultUnzipLimit bounds how much an XLSX may unzip to, so that a zip bomb
// fails fast instead of filling memory or disk.
const DefaultUnzipLimit = 1 << 30

// xlsxMemoryLimit is the largest worksheet or shared-string part held in
// memory; bigger parts are spilled to a temporary file by excelize, which keeps
// memory flat however many rows the sheet has. Shared strings held in memory
// are decoded whole, at about 7 times their size (a table of structs and a
// map): at 16 MiB a workbook of short distinct texts peaked at 362 MB in
// excelize alone, at 4 MiB (indexed in the file instead) 158 MB, and it read
// faster. A variable, so that a test reaches it with a small workbook.
var xlsxMemoryLimit int64 = 4 << 20

// dateMarkFormat replaces every date number format while a workbook is read:
// a date cell then reads as a marked serial number ("\x01" + 46123.437500000),
// which next turns into an unambiguous wall-clock time. Going through
// excelize's date formatting instead cost three quarters of the reading time
// (it looks up locale tables for every cell), and would give the user's locale
// display (4/11/26) rather than something a program can read back.
const dateMarkFormat = "\"" + dateMark + "\"0.000000000"

// dateMark starts a date cell's text while a workbook is read.
const dateMark = "\x01"

// xlsxSource streams the rows of one worksheet.
type xlsxSource struct {
	f        *excelize.File
	rows     *excelize.Rows
	row      int
	date1904 bool   // serials count from 1904 (old Mac workbooks)
	tmp      string // the folder excelize unzips large sheets into
}

func openXLSX(path, name string, opts Options, layout *Layout) (src *xlsxSource, err error) {
	// A damaged workbook must end in an error naming the file, never in a
	// crash of the whole run, whatever the XML inside it holds.
	defer func() {
		if p := recover(); p != nil {
			src, err = nil, fmt.Errorf("%s is a damaged workbook (%v); open it in Excel or LibreOffice and save it again as .xlsx or .csv", name, p)
		}
	}()
	limit := opts.UnzipLimit
	if limit <= 0 {
		limit = DefaultUnzipLimit
	}
	if err := checkZipParts(path, name); err != nil {
		return nil, err
	}
	// The sheets are read through for what the zip's directory cannot
	// show, on another core while excelize unzips them, and before any
	// row is read.
	scanned := make(chan error, 1)
	go func() { scanned <- scanParts(path, name) }()
	defer func() {
		if scanErr := <-scanned; scanErr != nil && err == nil && src != nil {
			src.close()
			src, err = nil, scanErr
		}
	}()
	// excelize's own temporary files (the large sheets, unzipped) go into a
	// folder of the run's, which spill.Clean removes if the run is killed.
	tmp, err := spill.Folder(opts.SpillDir, "reconcile-xlsx-*")
	if err != nil {
		return nil, fmt.Errorf("%s: cannot make a temporary folder to unzip it in: %v; check that the state directory is writable and has room", name, err)
	}
	defer func() {
		if src == nil {
			removeFolder(tmp)
		}
	}()
	f, err := excelize.OpenFile(path, excelize.Options{
		UnzipSizeLimit:    limit,
		UnzipXMLSizeLimit: min(limit, xlsxMemoryLimit),
		TmpDir:            tmp,
	})
	if err != nil {
		if f != nil {
			f.Close()
		}
		switch {
		case strings.Contains(err.Error(), "unzip size exceeds"):
			return nil, fmt.Errorf("%s unzips to more than %d MiB, the limit for a workbook; split it, or save it as .csv", name, limit>>20)
		case errors.Is(err, excelize.ErrWorkbookFileFormat), errors.Is(err, excelize.ErrWorkbookPassword):
			return nil, fmt.Errorf("%s is encrypted or not an Excel workbook; remove the password and save it as .xlsx or .csv", name)
		}
		return nil, fmt.Errorf("%s is not a readable Excel workbook (%v); open it in Excel or LibreOffice and save it as .xlsx or .csv", name, err)
	}
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		f.Close()
		return nil, fmt.Errorf("%s is a zip file but not an Excel workbook (no sheets); save it as .xlsx or .csv", name)
	}
	sheet := opts.Sheet
	if sheet == "" {
		sheet = sheets[0]
	} else if idx, err := f.GetSheetIndex(sheet); err != nil || idx < 0 {
		f.Close()
		return nil, fmt.Errorf("%s has no sheet %q; its sheets are %s; pass one of them with --sheet", name, sheet, NameList(sheets))
	}
	if err := readDatesAsISO(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: reading its cell styles: %v; save it again from Excel or LibreOffice", name, err)
	}
	rows, err := f.Rows(sheet)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s, sheet %q cannot be read (%v); save it again as .xlsx or .csv", name, sheet, err)
	}
	layout.Kind = "xlsx"
	layout.Sheet = sheet
	src = &xlsxSource{f: f, rows: rows, tmp: tmp}
	if props, err := f.GetWorkbookProps(); err == nil && props.Date1904 != nil {
		src.date1904 = *props.Date1904
	}
	return src, nil
}

// readDatesAsISO points every cell style with a date or time number format at
// dateMarkFormat. The workbook is only read, never saved, so the change stays
// in memory. Done once per file, it costs nothing per cell, unlike asking for
// each cell's style while streaming (which would load the whole sheet).
func readDatesAsISO(f *excelize.File) error {
	if f.Styles == nil || f.Styles.CellXfs == nil {
		return nil
	}
	custom := map[int]string{}
	if f.Styles.NumFmts != nil {
		for _, nf := range f.Styles.NumFmts.NumFmt {
			if nf != nil {
				custom[nf.NumFmtID] = nf.FormatCode
			}
		}
	}
	var dates []int
	for i, xf := range f.Styles.CellXfs.Xf {
		if xf.NumFmtID == nil {
			continue
		}
		id := *xf.NumFmtID
		code, isCustom := custom[id]
		if (isCustom && isDateFormat(code)) || (!isCustom && builtinDate(id)) {
			dates = append(dates, i)
		}
	}
	if len(dates) == 0 {
		return nil
	}
	code := dateMarkFormat
	styleID, err := f.NewStyle(&excelize.Style{CustomNumFmt: &code})
	if err != nil {
		return err
	}
	isoID := f.Styles.CellXfs.Xf[styleID].NumFmtID
	for _, i := range dates {
		f.Styles.CellXfs.Xf[i].NumFmtID = isoID
	}
	return nil
}

// builtinDate reports whether a built-in number format shows a date or time
// (ECMA-376 18.8.30, with the East Asian ids).
func builtinDate(id int) bool {
	return (14 <= id && id <= 22) || (27 <= id && id <= 36) || (45 <= id && id <= 47) || (50 <= id && id <= 58) || (71 <= id && id <= 81)
}

// isDateFormat reports whether a custom number format code shows a date or
// time: it has a y, d, h or s (or m beside them) outside quoted text, escapes
// and [colour] or [$-locale] brackets. Elapsed-time codes ([h]:mm) are durations,
// not dates.
func isDateFormat(code string) bool {
	if i := strings.IndexByte(code, ';'); i >= 0 {
		code = code[:i] // the positive-number section decides
	}
	date := false
	for i := 0; i < len(code); i++ {
		switch c := code[i]; c {
		case '"':
			j := strings.IndexByte(code[i+1:], '"')
			if j < 0 {
				return false
			}
			i += j + 1
		case '\\', '_', '*':
			i++
		case '[':
			j := strings.IndexByte(code[i:], ']')
			if j < 0 {
				return false
			}
			inner := strings.ToLower(code[i+1 : i+j])
			if inner == "h" || inner == "hh" || inner == "m" || inner == "mm" || inner == "s" || inner == "ss" {
				return false
			}
			i += j
		case 'y', 'Y', 'd', 'D', 'h', 'H', 's', 'S':
			date = true
		case '0', '#', '?', '@':
			if !date {
				return false
			}
		}
	}
	return date
}

func (s *xlsxSource) next() (cells []string, row int, err error) {
	defer func() {
		if p := recover(); p != nil {
			cells, err = nil, fmt.Errorf("damaged worksheet XML (%v)", p)
		}
	}()
	if !s.rows.Next() {
		if err := s.rows.Error(); err != nil {
			return nil, 0, err
		}
		return nil, 0, errEOF
	}
	// Rows yields every row number in turn, gaps included, so counting calls
	// gives the row number the program shows.
	s.row++
	cells, err = s.rows.Columns()
	if err != nil {
		return nil, s.row, &rowError{row: s.row, err: err, field: -1}
	}
	for i, c := range cells {
		switch j := strings.Index(c, dateMark); {
		case j == 0:
			cells[i] = s.dateText(c[len(dateMark):])
		case j > 0: // a negative number in a date cell: no date, keep the number
			cells[i] = strings.ReplaceAll(c, dateMark, "")
		}
	}
	return cells, s.row, nil
}

// dateText writes a date cell's serial number as the wall-clock time it
// stands for, yyyy-mm-dd hh:mm:ss (with milliseconds when it has them).
func (s *xlsxSource) dateText(serial string) string {
	f, err := strconv.ParseFloat(serial, 64)
	if err != nil || f < 0 || f > 2958466 { // Excel's own limit: year 9999
		return serial
	}
	days := math.Floor(f)
	ms := math.Round((f - days) * 86400e3)
	epoch := excelEpoch
	if s.date1904 {
		epoch = time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	t := epoch.AddDate(0, 0, int(days)).Add(time.Duration(ms) * time.Millisecond)
	if t.Nanosecond() != 0 {
		return t.Format("2006-01-02 15:04:05.000")
	}
	return t.Format("2006-01-02 15:04:05")
}

func (s *xlsxSource) close() error {
	err := s.rows.Close()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	removeFolder(s.tmp)
	return err
}

func removeFolder(dir string) {
	os.RemoveAll(dir)
	spill.Disown(dir)
}

// ListedNames is how many names NameList shows before it counts the rest.
const ListedNames = 10

// NameList quotes names for a message: all of them when there are at most
// ListedNames, else the first ListedNames and how many more, so that a file
// with 100,000 unknown columns gets a line of warning, not megabytes.
func NameList(names []string) string {
	shown := names[:min(len(names), ListedNames)]
	q := make([]string, len(shown))
	for i, n := range shown {
		q[i] = strconv.Quote(n)
	}
	s := strings.Join(q, ", ")
	if more := len(names) - len(shown); more > 0 {
		s += " and " + thousands(more) + " more"
	}
	return s
}

// thousands writes n with a comma between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
