package web

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/reten/reconcile/internal/reports"
)

// sortedPage walks column col's order, keeping the rows the filter lists,
// and returns the ordinals of the page asked for. The filter is a bit a
// row; the order is read from disk as it is walked.
func (v *reportView) sortedPage(f string, col int, desc bool, from, n int) ([]int, error) {
	path, err := v.sortIndex(col)
	if err != nil {
		return nil, err
	}
	var in func(int) bool
	if f != "" {
		bits, err := v.filterBits(f)
		if err != nil {
			return nil, err
		}
		in = func(o int) bool { return o < len(bits)*64 && bits[o/64]&(1<<(o%64)) != 0 }
	}
	idx, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer idx.Close()
	var ords []int
	skipped := 0
	const chunk = 16 << 10 // ordinals read at once
	buf := make([]byte, 4*chunk)
	rows := v.meta.Rows
	for start := 0; start < rows && len(ords) < n; start += chunk {
		k := min(chunk, rows-start)
		at := start
		if desc {
			at = rows - start - k
		}
		if _, err := idx.ReadAt(buf[:4*k], int64(at)*4); err != nil {
			return nil, err
		}
		for j := range k {
			i := j
			if desc {
				i = k - 1 - j
			}
			o := int(binary.LittleEndian.Uint32(buf[4*i:]))
			if in != nil && !in(o) {
				continue
			}
			if skipped < from {
				skipped++
				continue
			}
			ords = append(ords, o)
			if len(ords) == n {
				break
			}
		}
	}
	return ords, nil
}

// filterBits reads a filter's index into a bit set of ordinals: one bit a
// row of the report.
func (v *reportView) filterBits(f string) ([]uint64, error) {
	bits := make([]uint64, (v.meta.Rows+63)/64)
	data, err := os.Open(filepath.Join(v.dir, f+".idx"))
	if err != nil {
		return nil, err
	}
	defer data.Close()
	br := bufio.NewReaderSize(data, 64<<10)
	var b [4]byte
	for {
		if _, err := io.ReadFull(br, b[:]); err == io.EOF {
			return bits, nil
		} else if err != nil {
			return nil, err
		}
		o := int(binary.LittleEndian.Uint32(b[:]))
		if o/64 < len(bits) {
			bits[o/64] |= 1 << (o % 64)
		}
	}
}

// fileOrder stands for a column in sortIndex: the order of the input
// files, each in its own row order, as a person reads them; report.csv has
// its rows as they finished.
const fileOrder = -1

// sortKey is what one row is ordered by.
type sortKey struct {
	rank  int // the file, in fileOrder
	num   int64
	text  string
	empty bool
}

// sortIndex returns the file of every ordinal ordered by column col (or
// fileOrder), making it on first use: one pass over report.csv keeping
// that column alone, then a stable sort (ties keep the report's order).
// Numbers sort as numbers, text ignoring case, empty cells after the rest.
func (v *reportView) sortIndex(col int) (string, error) {
	name := "s" + strconv.Itoa(col) + ".idx"
	if col == fileOrder {
		name = "files.idx"
	}
	path := filepath.Join(v.dir, name)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	f, cr, err := v.openCSV(0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	cr.ReuseRecord = true
	if _, err := cr.Read(); err != nil {
		return "", err
	}
	numeric := col >= 0 && col < len(v.meta.Numeric) && v.meta.Numeric[col]
	rowCol, fileCol := lastIndex(v.meta.Header, reports.RowColumn), -1
	if len(v.meta.Header) > 0 && v.meta.Header[0] == reports.FileColumn {
		fileCol = 0
	}
	cell := func(rec []string, i int) string {
		if i >= 0 && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	ranks := map[string]int{}
	keys := make([]sortKey, 0, v.meta.Rows)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
		var k sortKey
		switch c := cell(rec, col); {
		case col == fileOrder:
			file := cell(rec, fileCol)
			r, ok := ranks[file]
			if !ok {
				r = len(ranks)
				ranks[strings.Clone(file)] = r
			}
			k.rank = r
			k.num, _ = strconv.ParseInt(cell(rec, rowCol), 10, 64)
		case c == "":
			k.empty = true
		case numeric:
			k.num, _ = strconv.ParseInt(c, 10, 64)
		default:
			// A copy: the cell shares its memory with the whole record.
			k.text = strings.Clone(strings.ToLower(c))
		}
		keys = append(keys, k)
	}
	ords := make([]uint32, len(keys))
	for i := range ords {
		ords[i] = uint32(i)
	}
	slices.SortStableFunc(ords, func(a, b uint32) int {
		ka, kb := keys[a], keys[b]
		switch {
		case ka.empty || kb.empty:
			return cmp.Compare(boolInt(ka.empty), boolInt(kb.empty)) // after every value
		case col == fileOrder:
			return cmp.Or(cmp.Compare(ka.rank, kb.rank), cmp.Compare(ka.num, kb.num))
		case numeric:
			return cmp.Compare(ka.num, kb.num)
		}
		return strings.Compare(ka.text, kb.text)
	})
	buf := make([]byte, 4*len(ords))
	for i, o := range ords {
		binary.LittleEndian.PutUint32(buf[4*i:], o)
	}
	if err := writeFile(path, buf); err != nil {
		return "", err
	}
	return path, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
