package web

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/reports"
)

// A report view is a run's report.csv indexed so that the report page
// pages, filters and sorts its rows without reading the report into
// memory: a page is a few seeks, whatever the report's size. It is kept in
// the state directory, never beside the report, which may be the folder of
// a command-line run that the console only reads:
//
//	views/RUNID/meta.json    the header, counts and problem kinds, the report's size and time
//	views/RUNID/offsets      where each row starts in report.csv, 8 bytes a row
//	views/RUNID/c-CLASS.idx  ordinals (4 bytes each, little-endian) of a class's rows
//	views/RUNID/pN.idx       ordinals of the rows of problem kind N
//	views/RUNID/sN.idx       every ordinal, ordered by column N (made when first asked for)
//
// A view is made again when report.csv's size or time is not the one it
// was made from.
const viewsDir = "views"

type viewMeta struct {
	Size     int64          `json:"size"`
	ModTime  time.Time      `json:"mod_time"`
	Header   []string       `json:"header"`
	Rows     int            `json:"rows"`
	Counts   map[string]int `json:"counts"`
	Problems []viewProblem  `json:"problems"` // most rows first
	Outcome  int            `json:"outcome"`  // the outcome column's index
	Numeric  []bool         `json:"numeric"`  // columns of integers (or empty cells): sorted as numbers
}

// viewProblem is one kind of problem, as the reports' summaries group them
// (reports.ProblemOf).
type viewProblem struct {
	ID         int    `json:"id"`
	Class      string `json:"class"`
	HTTPStatus int    `json:"http_status,omitempty"`
	Message    string `json:"message"`
	Count      int    `json:"count"`
}

type reportView struct {
	dir  string
	csv  string
	meta viewMeta
}

// openView returns the view of run id's report.csv in reportDir, making it
// first if it is missing or out of date.
func (s *Server) openView(id, reportDir string) (*reportView, error) {
	mu, _ := s.views.LoadOrStore(id, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	v := &reportView{dir: filepath.Join(s.opts.StateDir, viewsDir, id), csv: filepath.Join(reportDir, reports.CSVName)}
	fi, err := os.Stat(v.csv)
	if err != nil {
		return nil, err
	}
	if data, err := os.ReadFile(filepath.Join(v.dir, "meta.json")); err == nil && json.Unmarshal(data, &v.meta) == nil &&
		v.meta.Size == fi.Size() && v.meta.ModTime.Equal(fi.ModTime()) {
		return v, nil
	}
	if err := v.build(fi); err != nil {
		return nil, fmt.Errorf("reading %s: %w", v.csv, err)
	}
	return v, nil
}

// bomLen is the UTF-8 byte order mark that report.csv starts with, for Excel.
const bomLen = 3

// openCSV opens report.csv at a record's offset (0: the header).
func (v *reportView) openCSV(at int64) (*os.File, *csv.Reader, error) {
	f, err := os.Open(v.csv)
	if err != nil {
		return nil, nil, err
	}
	start := int64(0)
	var bom [bomLen]byte
	if n, _ := f.ReadAt(bom[:], 0); n == bomLen && bytes.Equal(bom[:], []byte("\xEF\xBB\xBF")) {
		start = bomLen
	}
	if _, err := f.Seek(start+at, io.SeekStart); err != nil {
		f.Close()
		return nil, nil, err
	}
	cr := csv.NewReader(bufio.NewReaderSize(f, 64<<10))
	cr.FieldsPerRecord = -1
	return f, cr, nil
}

// build reads report.csv once, writing the offsets and the filters'
// indexes into a new folder that then replaces the old view.
func (v *reportView) build(fi os.FileInfo) error {
	f, cr, err := v.openCSV(0)
	if err != nil {
		return err
	}
	defer f.Close()
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("no header: %w", err)
	}
	meta := viewMeta{Size: fi.Size(), ModTime: fi.ModTime(), Header: slices.Clone(header), Counts: map[string]int{},
		Outcome: reports.ColumnIndex(header, reports.OutcomeColumn), Numeric: make([]bool, len(header))}
	status, message, errCol := reports.ColumnIndex(header, reports.HTTPStatusColumn), reports.ColumnIndex(header, reports.MessageColumn), reports.ColumnIndex(header, reports.ErrorColumn)
	if meta.Outcome < 0 {
		return fmt.Errorf("no %q column: not a report reconcile wrote", reports.OutcomeColumn)
	}
	for i := range meta.Numeric {
		meta.Numeric[i] = true
	}
	if err := os.MkdirAll(filepath.Dir(v.dir), 0o700); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(v.dir), filepath.Base(v.dir)+".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	w := newIndexWriter(tmp)
	kinds := map[viewProblem]int{}
	cell := func(rec []string, i int) string {
		if i >= 0 && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	for ord := 0; ; ord++ {
		at := cr.InputOffset()
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			w.close()
			return err
		}
		if err := w.offset(at); err != nil {
			w.close()
			return err
		}
		class := cell(rec, meta.Outcome)
		meta.Counts[class]++
		if err := w.add("c-"+class, ord); err != nil {
			w.close()
			return err
		}
		code, _ := strconv.Atoi(cell(rec, status))
		if p, ok := reports.ProblemOf(outcome.Class(class), code, cell(rec, message), cell(rec, errCol)); ok {
			k := viewProblem{Class: string(p.Class), HTTPStatus: p.HTTPStatus, Message: p.Message}
			id, seen := kinds[k]
			if !seen && len(kinds) < maxKinds {
				id, seen = len(kinds), true
				kinds[k] = id
				k.ID = id
				meta.Problems = append(meta.Problems, k)
			}
			if seen {
				meta.Problems[id].Count++
				if err := w.add("p"+strconv.Itoa(id), ord); err != nil {
					w.close()
					return err
				}
			}
		}
		for i, c := range rec {
			if i < len(meta.Numeric) && meta.Numeric[i] && c != "" {
				if _, err := strconv.ParseInt(c, 10, 64); err != nil {
					meta.Numeric[i] = false
				}
			}
		}
		meta.Rows++
	}
	if err := w.close(); err != nil {
		return err
	}
	slices.SortStableFunc(meta.Problems, func(a, b viewProblem) int { return cmp.Compare(b.Count, a.Count) })
	data, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "meta.json"), data, 0o600); err != nil {
		return err
	}
	old := v.dir + ".old-" + newID()[:8]
	if err := os.Rename(v.dir, old); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.Rename(tmp, v.dir); err != nil {
		return err
	}
	os.RemoveAll(old)
	v.meta = meta
	return nil
}

// indexWriter writes the offsets and index files of a view.
type indexWriter struct {
	dir   string
	files map[string]*bufferedFile
}

type bufferedFile struct {
	f *os.File
	w *bufio.Writer
}

func newIndexWriter(dir string) *indexWriter {
	return &indexWriter{dir: dir, files: map[string]*bufferedFile{}}
}

// put appends b to the file called name, creating it on first use.
func (w *indexWriter) put(name string, b []byte) error {
	f := w.files[name]
	if f == nil {
		file, err := os.Create(filepath.Join(w.dir, name))
		if err != nil {
			return err
		}
		f = &bufferedFile{f: file, w: bufio.NewWriterSize(file, 8<<10)}
		w.files[name] = f
	}
	_, err := f.w.Write(b)
	return err
}

// offset appends where the next row starts.
func (w *indexWriter) offset(at int64) error {
	return w.put("offsets", binary.LittleEndian.AppendUint64(nil, uint64(at)))
}

// add appends ord to the index of a filter.
func (w *indexWriter) add(filter string, ord int) error {
	return w.put(filter+".idx", binary.LittleEndian.AppendUint32(nil, uint32(ord)))
}

func (w *indexWriter) close() error {
	var errs []error
	for _, b := range w.files {
		errs = append(errs, b.w.Flush(), b.f.Close())
	}
	return errors.Join(errs...)
}

// validFilter reports whether f names rows the view can list: "" (all),
// c-CLASS for a class, pN for a problem kind.
func (v *reportView) validFilter(f string) bool {
	if f == "" {
		return true
	}
	if c, ok := strings.CutPrefix(f, "c-"); ok {
		return slices.Contains(outcome.Classes, outcome.Class(c))
	}
	n, ok := problemFilter(f)
	return ok && v.problem(n) != nil
}

func (v *reportView) problem(id int) *viewProblem {
	for i := range v.meta.Problems {
		if v.meta.Problems[i].ID == id {
			return &v.meta.Problems[i]
		}
	}
	return nil
}

// kindOf is the view's problem kind of a summary's message, or nil.
func (v *reportView) kindOf(m reports.TopMessage) *viewProblem {
	if v == nil {
		return nil
	}
	for i, k := range v.meta.Problems {
		if k.Class == string(m.Class) && k.HTTPStatus == m.HTTPStatus && k.Message == m.Message {
			return &v.meta.Problems[i]
		}
	}
	return nil
}

// count is the number of rows a valid filter lists.
func (v *reportView) count(f string) int {
	switch {
	case f == "":
		return v.meta.Rows
	case strings.HasPrefix(f, "c-"):
		return v.meta.Counts[f[2:]]
	}
	n, _ := strconv.Atoi(f[1:])
	return v.problem(n).Count
}

// page returns up to n rows that a valid filter lists, from the from-th on,
// ordered by column col (or fileOrder), descending with desc.
func (v *reportView) page(f string, col int, desc bool, from, n int) ([][]string, error) {
	total := v.count(f)
	if from >= total || n <= 0 {
		return nil, nil
	}
	n = min(n, total-from)
	ords, err := v.sortedPage(f, col, desc, from, n)
	if err != nil {
		return nil, err
	}
	rows := make([][]string, 0, len(ords))
	for _, o := range ords {
		rec, err := v.row(o)
		if err != nil {
			return nil, err
		}
		rows = append(rows, rec)
	}
	return rows, nil
}

// row reads the record of one ordinal.
func (v *reportView) row(ord int) ([]string, error) {
	offs, err := readOffsets(filepath.Join(v.dir, "offsets"), ord)
	if err != nil {
		return nil, err
	}
	f, cr, err := v.openCSV(offs)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return cr.Read()
}

func readOffsets(path string, ord int) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var b [8]byte
	if _, err := f.ReadAt(b[:], int64(ord)*8); err != nil {
		return 0, fmt.Errorf("the report's view is damaged (%v); it is made again when the report changes", err)
	}
	return int64(binary.LittleEndian.Uint64(b[:])), nil
}
