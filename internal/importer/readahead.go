package importer

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Next returns the next data row, or io.EOF after the last. Blank rows are
// skipped. A row the file format itself garbles (a broken quote) comes back
// with Err set rather than stopping the read; other errors end it.
func (r *Reader) Next() (Row, error) {
	if r.sequential {
		if r.closed {
			return Row{}, errClosed
		}
		return r.read()
	}
	for r.i >= len(r.cur) {
		if r.end != nil {
			return Row{}, r.end
		}
		if r.closed {
			return Row{}, errClosed
		}
		if !r.started {
			r.start()
		}
		if r.cur != nil {
			select {
			case r.free <- r.cur[:0]:
			default:
			}
		}
		b := <-r.batches
		r.cur, r.i, r.end = b.rows, 0, b.err
	}
	row := r.cur[r.i]
	r.i++
	return row, nil
}

func (r *Reader) start() {
	r.started = true
	r.batches = make(chan batch, batchesAhead)
	r.free = make(chan []Row, batchesAhead+1)
	r.stop = make(chan struct{})
	r.done = make(chan struct{})
	go r.readAhead()
}

// readAhead reads batches until the end of the file, an error, or Close.
func (r *Reader) readAhead() {
	defer close(r.done)
	for {
		var rows []Row
		select {
		case rows = <-r.free:
		default:
			rows = make([]Row, 0, batchRows)
		}
		err := r.fill(&rows)
		select {
		case r.batches <- batch{rows: rows, err: err}:
		case <-r.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

// fill appends rows until the batch is full or the read ends. A panic in a
// format library becomes the error that ends the read: on this goroutine it
// could not be recovered by the caller and would end the whole program.
func (r *Reader) fill(rows *[]Row) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s: the file cannot be read further (%v); save it again from the spreadsheet program", r.where(0), p)
		}
	}()
	// Rows are read straight into the batch, not copied into it.
	size := rowsPerBatch(len(r.layout.Columns))
	b := (*rows)[:size]
	n := len(*rows)
	defer func() {
		// A batch cut short by its text leaves rows of an earlier round
		// behind its end: let their cells go.
		clear(b[n:])
		*rows = b[:n]
	}()
	text := 0
	for ; n < size && text < BatchText; n++ {
		if err := r.readInto(&b[n]); err != nil {
			return err
		}
		text += b[n].TextBytes()
	}
	return nil
}

// read reads the next data row from the source.
func (r *Reader) read() (Row, error) {
	var row Row
	err := r.readInto(&row)
	return row, err
}

// readInto reads the next data row from the source into row, which is
// overwritten whole.
func (r *Reader) readInto(row *Row) error {
	l := r.layout
	for {
		cells, rowNum, err := r.src.next()
		if err == io.EOF {
			return io.EOF
		}
		pos := Position{File: l.File, Sheet: l.Sheet, Row: rowNum}
		if err != nil {
			var rec *RecordError
			if errors.As(err, &rec) {
				// The user's cells back, as best they can be read, so the
				// report and the rejects file show the line to fix.
				if rec.Field >= 0 && rec.Field < len(l.Columns) {
					rec.Column = l.Columns[rec.Field]
				}
				*row = Row{Pos: pos, Layout: l, Cells: lenientCells(rec.Raw, string(l.Delimiter), len(l.Columns)), Err: rec}
				return nil
			}
			var re *rowError
			if errors.As(err, &re) {
				what := re.err.Error()
				if re.field >= 0 && re.field < len(l.Columns) {
					what = fmt.Sprintf("%s, in column %q", what, l.Columns[re.field])
				}
				*row = Row{Pos: pos, Layout: l, Cells: make([]string, len(l.Columns)),
					Err: fmt.Errorf("the row cannot be read (%s); save the file again from the spreadsheet program", what)}
				return nil
			}
			return r.readError(rowNum, err)
		}
		if blank(cells) {
			continue
		}
		*row = Row{Pos: pos, Layout: l}
		n := len(l.Columns)
		if len(cells) > n {
			cells = trimTrailingEmpty(cells)
		}
		switch {
		case len(cells) > n:
			row.Err = fmt.Errorf("the row has %d cells beyond the last header column (%q); give them a header or delete them", len(cells)-n, l.Columns[n-1])
			// A copy, so that the row does not hold the cells cut off.
			cells = append(make([]string, 0, n), cells[:n]...)
		case len(cells) < n && cap(cells) >= n:
			// The source left room (csvSource reserves the header's width).
			had := len(cells)
			cells = cells[:n]
			clear(cells[had:])
		case len(cells) < n:
			padded := make([]string, n)
			copy(padded, cells)
			cells = padded
		}
		row.Cells = cells
		return nil
	}
}

func (r *Reader) where(row int) string {
	p := Position{File: r.layout.File, Sheet: r.layout.Sheet, Row: row}
	if row == 0 {
		if p.Sheet != "" {
			return fmt.Sprintf("%s, sheet %q", p.File, p.Sheet)
		}
		return p.File
	}
	return p.String()
}

func (r *Reader) readError(row int, err error) error {
	return fmt.Errorf("%s: the file cannot be read further (%v); save it again from the spreadsheet program", r.where(row), err)
}

// Close stops the reading goroutine and releases the file. It may be called
// before the last row, and more than once.
func (r *Reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if r.started {
		// The goroutine is reading the source or waiting to hand a batch
		// over; it must be done with the source before the file is closed.
		close(r.stop)
		<-r.done
		r.cur = nil
	}
	return r.src.close()
}

func trimTrailingEmpty(cells []string) []string {
	n := len(cells)
	for n > 0 && strings.TrimSpace(cells[n-1]) == "" {
		n--
	}
	return cells[:n]
}

func blank(cells []string) bool {
	for _, c := range cells {
		if trimSpace(c) != "" {
			return false
		}
	}
	return true
}
