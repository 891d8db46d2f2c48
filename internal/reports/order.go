package reports

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/spill"
)

// orderBytes is how many bytes of encoded outcomes rowOrder holds in memory
// before it sorts them and writes them out as a run: about 3,000 rows of a
// dozen columns, so a run of that size never touches the disk. A variable
// so tests can make runs of a few rows.
var orderBytes = 1 << 20

// orderSpillName names rowOrder's temporary file to fileWriter.
const orderSpillName = "rows waiting for input order"

// rowOrder puts the outcomes of a run back in input order (file as listed,
// then row) however they finish: sent concurrently, retried after a 5xx
// wave, skipped after an interrupt. Outcomes are encoded as they arrive;
// when orderBytes of them are held they are sorted and appended, as one
// sorted run, to a temporary file in the spill folder, and the memory is
// reused. each merges the runs (and what is still in memory) back into one
// ordered stream. Memory stays at orderBytes plus a read buffer per run,
// whatever the number of rows; the file holds every row once.
type rowOrder struct {
	dir     string             // spill folder; "" is os.TempDir()
	layouts []*importer.Layout // a record names its layout by its place here, plus one (0: none)

	buf  []byte   // records in arrival order
	recs []record // where each record of buf is, with its key

	f     *os.File // the runs, one after another; nil until the first
	name  string   // f's path where it could not be unlinked; "" otherwise
	w     *bufio.Writer
	runs  []span
	size  int64
	seq   uint64 // arrivals so far: equal keys keep arrival order
	err   error  // the first failure of the file; nothing more is accepted
	scrat []byte
}

// record is one encoded outcome: its key and where its bytes are.
type record struct {
	key      orderKey
	off, len int
}

// orderKey orders outcomes: by input file, then row, then arrival.
type orderKey struct {
	layout uint64 // index in layouts plus one; 0 for a row with no layout, first
	row    uint64
	seq    uint64
}

func (a orderKey) less(b orderKey) bool {
	if a.layout != b.layout {
		return a.layout < b.layout
	}
	if a.row != b.row {
		return a.row < b.row
	}
	return a.seq < b.seq
}

// span is one sorted run in the file.
type span struct{ off, len int64 }

// add takes one outcome; layout is its file's place in layouts, or -1.
func (r *rowOrder) add(o *outcome.Outcome, layout int) error {
	if r.err != nil {
		return r.err
	}
	if r.buf == nil {
		// Made at its full size once: grown by append it would double
		// past orderBytes, and the garbage of each doubling with it.
		r.buf = make([]byte, 0, orderBytes+64<<10)
	}
	k := orderKey{layout: uint64(layout + 1), row: uint64(max(o.Row.Pos.Row, 0)), seq: r.seq}
	r.seq++
	start := len(r.buf)
	r.buf = appendOutcome(r.buf, k, o)
	r.recs = append(r.recs, record{key: k, off: start, len: len(r.buf) - start})
	if len(r.buf) >= orderBytes {
		r.err = r.writeRun()
	}
	return r.err
}

// writeRun sorts what is in memory and appends it to the file as a run.
func (r *rowOrder) writeRun() error {
	if r.f == nil {
		f, name, err := spill.Create(r.dir, "reconcile-order-*.bin")
		if err != nil {
			return fmt.Errorf("the rows waiting to be put in input order: %w", err)
		}
		r.f, r.name = f, name
		r.w = bufio.NewWriterSize(fileWriter(orderSpillName, f), 64<<10)
	}
	r.sort()
	start := r.size
	for _, rec := range r.recs {
		n := binary.PutUvarint(r.lenBuf(), uint64(rec.len))
		if _, err := r.w.Write(r.scrat[:n]); err != nil {
			return r.failed(err)
		}
		if _, err := r.w.Write(r.buf[rec.off : rec.off+rec.len]); err != nil {
			return r.failed(err)
		}
		r.size += int64(n + rec.len)
	}
	r.runs = append(r.runs, span{start, r.size - start})
	r.buf, r.recs = r.buf[:0], r.recs[:0]
	return nil
}

func (r *rowOrder) lenBuf() []byte {
	if len(r.scrat) < binary.MaxVarintLen64 {
		r.scrat = make([]byte, binary.MaxVarintLen64)
	}
	return r.scrat
}

func (r *rowOrder) failed(err error) error {
	return fmt.Errorf("writing the rows waiting to be put in input order: %w", err)
}

func (r *rowOrder) sort() {
	slices.SortFunc(r.recs, func(a, b record) int {
		switch {
		case a.key.less(b.key):
			return -1
		case b.key.less(a.key):
			return 1
		}
		return 0
	})
}

// each calls fn with every outcome added, in order. The Outcome and its
// cells are reused after fn returns; the strings are not.
func (r *rowOrder) each(fn func(*outcome.Outcome)) error {
	if r.err != nil {
		return r.err
	}
	var o outcome.Outcome
	if r.f == nil {
		r.sort()
		for _, rec := range r.recs {
			if err := r.decode(r.buf[rec.off:rec.off+rec.len], &o); err != nil {
				return err
			}
			fn(&o)
		}
		return nil
	}
	if len(r.recs) > 0 {
		if err := r.writeRun(); err != nil {
			return err
		}
	}
	if err := r.w.Flush(); err != nil {
		return r.failed(err)
	}
	r.buf, r.recs = nil, nil // no more adds: give the memory back before merging
	m := make(merge, 0, len(r.runs))
	for _, s := range r.runs {
		rr := &runReader{in: bufio.NewReaderSize(io.NewSectionReader(r.f, s.off, s.len), 16<<10)}
		ok, err := rr.next()
		if err != nil {
			return err
		}
		if ok {
			m = append(m, rr)
		}
	}
	heap.Init(&m)
	for len(m) > 0 {
		rr := m[0]
		if err := r.decode(rr.rec, &o); err != nil {
			return err
		}
		fn(&o)
		ok, err := rr.next()
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(&m, 0)
		} else {
			heap.Pop(&m)
		}
	}
	return nil
}

// close removes the file.
func (r *rowOrder) close() {
	if r.f != nil {
		r.f.Close()
		if r.name != "" {
			os.Remove(r.name)
			spill.Disown(r.name)
		}
		r.f = nil
	}
	r.buf, r.recs = nil, nil
}

// runReader reads one run's records back, in order.
type runReader struct {
	in  *bufio.Reader
	rec []byte
	key orderKey
}

func (rr *runReader) next() (bool, error) {
	n, err := binary.ReadUvarint(rr.in)
	if err == io.EOF {
		return false, nil
	}
	if err == nil {
		rr.rec = slices.Grow(rr.rec[:0], int(n))[:n]
		_, err = io.ReadFull(rr.in, rr.rec)
	}
	if err == nil {
		rr.key, _, err = readKey(rr.rec)
	}
	if err != nil {
		return false, fmt.Errorf("reading back the rows waiting to be put in input order: %w", err)
	}
	return true, nil
}

// merge is a heap of runs by their current record's key.
type merge []*runReader

func (m merge) Len() int           { return len(m) }
func (m merge) Less(i, j int) bool { return m[i].key.less(m[j].key) }
func (m merge) Swap(i, j int)      { m[i], m[j] = m[j], m[i] }
func (m *merge) Push(x any)        { *m = append(*m, x.(*runReader)) }
func (m *merge) Pop() any {
	old := *m
	x := old[len(old)-1]
	*m = old[:len(old)-1]
	return x
}

// appendOutcome appends o to b as a record: the key, then every field the
// reports write, each string with its length before it.
func appendOutcome(b []byte, k orderKey, o *outcome.Outcome) []byte {
	b = binary.AppendUvarint(b, k.layout)
	b = binary.AppendUvarint(b, k.row)
	b = binary.AppendUvarint(b, k.seq)
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	str(o.Row.Pos.File)
	str(o.Row.Pos.Sheet)
	b = binary.AppendVarint(b, int64(o.Row.Pos.Row))
	str(string(o.Class))
	b = binary.AppendVarint(b, int64(o.HTTPStatus))
	str(o.Error)
	str(o.Message)
	str(string(o.Code))
	b = binary.AppendVarint(b, int64(o.Attempts))
	b = binary.AppendVarint(b, int64(o.Duration))
	str(o.ResultID)
	b = binary.AppendUvarint(b, uint64(len(o.Row.Cells)))
	for _, c := range o.Row.Cells {
		str(c)
	}
	return b
}

var errBadRecord = errors.New("a record is cut short")

func readKey(b []byte) (orderKey, []byte, error) {
	var k orderKey
	var n int
	for _, v := range []*uint64{&k.layout, &k.row, &k.seq} {
		if *v, n = binary.Uvarint(b); n <= 0 {
			return k, nil, errBadRecord
		}
		b = b[n:]
	}
	return k, b, nil
}

// decode fills o from a record made by appendOutcome, reusing o's cells.
func (r *rowOrder) decode(b []byte, o *outcome.Outcome) error {
	k, b, err := readKey(b)
	if err != nil {
		return err
	}
	bad := false
	num := func() int64 {
		v, n := binary.Varint(b)
		if n <= 0 {
			bad = true
			return 0
		}
		b = b[n:]
		return v
	}
	str := func() string {
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			bad = true
			return ""
		}
		s := string(b[n : n+int(l)])
		b = b[n+int(l):]
		return s
	}
	cells := o.Row.Cells[:0]
	*o = outcome.Outcome{}
	if k.layout > 0 && k.layout <= uint64(len(r.layouts)) {
		o.Row.Layout = r.layouts[k.layout-1]
	}
	o.Row.Pos.File = str()
	o.Row.Pos.Sheet = str()
	o.Row.Pos.Row = int(num())
	o.Class = outcome.Class(str())
	o.HTTPStatus = int(num())
	o.Error = str()
	o.Message = str()
	o.Code = outcome.Code(str())
	o.Attempts = int(num())
	o.Duration = time.Duration(num())
	o.ResultID = str()
	n, m := binary.Uvarint(b)
	if m <= 0 || n > uint64(len(b)) {
		return errBadRecord
	}
	b = b[m:]
	for range n {
		cells = append(cells, str())
	}
	o.Row.Cells = cells
	if bad {
		return errBadRecord
	}
	return nil
}
