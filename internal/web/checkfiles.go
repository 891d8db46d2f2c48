package web

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// checkWriter writes the files of a check.
type checkWriter struct {
	dir     string
	rows    *bufio.Writer
	rowsF   *os.File
	offs    *bufio.Writer
	offsF   *os.File
	at      int64
	ordinal uint32
	idx     map[string]*idxFile
}

type idxFile struct {
	f *os.File
	w *bufio.Writer
}

// writeError is a failure to write the check, told apart from the file's
// own trouble.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }

func newCheckWriter(dir string) (*checkWriter, error) {
	w := &checkWriter{dir: dir, idx: map[string]*idxFile{}}
	var err error
	if w.rowsF, err = os.Create(filepath.Join(dir, "rows.jsonl")); err != nil {
		return nil, err
	}
	if w.offsF, err = os.Create(filepath.Join(dir, "offsets")); err != nil {
		w.rowsF.Close()
		return nil, err
	}
	w.rows, w.offs = bufio.NewWriterSize(w.rowsF, 64<<10), bufio.NewWriterSize(w.offsF, 16<<10)
	return w, nil
}

func (w *checkWriter) add(cr *checkedRow, kinds []int) error {
	line, err := json.Marshal(cr)
	if err != nil {
		return &writeError{err}
	}
	line = append(line, '\n')
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(w.at))
	if _, err := w.offs.Write(b[:]); err != nil {
		return &writeError{err}
	}
	if _, err := w.rows.Write(line); err != nil {
		return &writeError{err}
	}
	w.at += int64(len(line))
	if err := w.index(cr.Class); err != nil {
		return &writeError{err}
	}
	for _, k := range kinds {
		if err := w.index("p" + strconv.Itoa(k)); err != nil {
			return &writeError{err}
		}
	}
	w.ordinal++
	return nil
}

// index adds the current row to the index file of a filter.
func (w *checkWriter) index(name string) error {
	x := w.idx[name]
	if x == nil {
		f, err := os.Create(filepath.Join(w.dir, name+".idx"))
		if err != nil {
			return err
		}
		x = &idxFile{f: f, w: bufio.NewWriterSize(f, 4<<10)}
		w.idx[name] = x
	}
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], w.ordinal)
	_, err := x.w.Write(b[:])
	return err
}

func (w *checkWriter) close() error {
	var errs []error
	flush := func(b *bufio.Writer, f *os.File) {
		errs = append(errs, b.Flush(), f.Close())
	}
	flush(w.rows, w.rowsF)
	flush(w.offs, w.offsF)
	for _, x := range w.idx {
		flush(x.w, x.f)
	}
	return errors.Join(errs...)
}

// checkView reads a check from disk.
type checkView struct {
	dir string
	sum *checkSummary
}

var errNoCheck = errors.New("the upload has not been checked")

// openCheck reads the upload's check; the caller holds its lock for reading.
func openCheck(u *upload) (*checkView, error) {
	dir := u.file(checkDir)
	data, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, errNoCheck
	}
	if err != nil {
		return nil, err
	}
	var sum checkSummary
	if err := json.Unmarshal(data, &sum); err != nil {
		return nil, err
	}
	return &checkView{dir: dir, sum: &sum}, nil
}

// validFilter reports whether f names rows the check can list: "" (all), a
// class or a problem kind; nothing else comes near a file name.
func (c *checkView) validFilter(f string) bool {
	if f == "" || slices.Contains(checkClasses, f) {
		return true
	}
	n, ok := problemFilter(f)
	return ok && n < len(c.sum.Problems)
}

// problemFilter reads the number of a problem kind's filter, pN: a decimal
// number written as strconv writes it, nothing else.
func problemFilter(f string) (int, bool) {
	digits, ok := strings.CutPrefix(f, "p")
	n, err := strconv.Atoi(digits)
	return n, ok && err == nil && n >= 0 && strconv.Itoa(n) == digits
}

// count is the number of rows a valid filter lists.
func (c *checkView) count(f string) int {
	switch {
	case f == "":
		return c.sum.Rows
	case strings.HasPrefix(f, "p"):
		n, _ := strconv.Atoi(f[1:])
		return c.sum.Problems[n].Count
	}
	return c.sum.Counts[f]
}

// page returns up to n rows of a valid filter from the from-th on, and the
// ordinal of each.
func (c *checkView) page(f string, from, n int) ([]checkedRow, []int, error) {
	total := c.count(f)
	if from >= total {
		return nil, nil, nil
	}
	n = min(n, total-from)
	ords := make([]int, n)
	if f == "" {
		for i := range ords {
			ords[i] = from + i
		}
	} else {
		idx, err := os.Open(filepath.Join(c.dir, f+".idx"))
		if err != nil {
			return nil, nil, err
		}
		defer idx.Close()
		buf := make([]byte, 4*n)
		if _, err := idx.ReadAt(buf, int64(from)*4); err != nil {
			return nil, nil, err
		}
		for i := range ords {
			ords[i] = int(binary.LittleEndian.Uint32(buf[4*i:]))
		}
	}
	rows := make([]checkedRow, n)
	for i, o := range ords {
		var err error
		if rows[i], err = c.row(o); err != nil {
			return nil, nil, err
		}
	}
	return rows, ords, nil
}

// row reads the row of one ordinal.
func (c *checkView) row(ord int) (checkedRow, error) {
	var cr checkedRow
	if ord < 0 || ord >= c.sum.Rows {
		return cr, errNoRow
	}
	offs, err := os.Open(filepath.Join(c.dir, "offsets"))
	if err != nil {
		return cr, err
	}
	defer offs.Close()
	var b [16]byte
	n, err := offs.ReadAt(b[:], int64(ord)*8)
	if n < 8 {
		return cr, fmt.Errorf("the check's offsets end early (%v); check the file again", err)
	}
	start := int64(binary.LittleEndian.Uint64(b[:8]))
	f, err := os.Open(filepath.Join(c.dir, "rows.jsonl"))
	if err != nil {
		return cr, err
	}
	defer f.Close()
	end := int64(-1)
	if n == 16 {
		end = int64(binary.LittleEndian.Uint64(b[8:]))
	} else if fi, err := f.Stat(); err == nil {
		end = fi.Size()
	}
	if end < start {
		return cr, errors.New("the check's offsets are damaged; check the file again")
	}
	line := make([]byte, end-start)
	if _, err := f.ReadAt(line, start); err != nil && !errors.Is(err, io.EOF) {
		return cr, err
	}
	err = json.Unmarshal(line, &cr)
	return cr, err
}

var errNoRow = errors.New("no such row")
