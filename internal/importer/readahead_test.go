package importer

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

// rowsOf reads every row of r, stopping at the first error other than a row's own.
func rowsOf(t *testing.T, r *Reader) ([]Row, error) {
	t.Helper()
	var rows []Row
	for len(rows) < 1e6 {
		row, err := r.Next()
		if err != nil {
			return rows, err
		}
		rows = append(rows, row)
	}
	t.Fatal("more rows than were written")
	return nil, nil
}

// The rows read ahead on another goroutine are the rows read in line: same
// order, same positions, same cells, same row errors, across batch boundaries.
func TestReadAheadSameAsSequential(t *testing.T) {
	var b strings.Builder
	b.WriteString(header + ",comment\n")
	want := 0
	for i := 1; i <= 3*batchRows+17; i++ {
		switch {
		case i%97 == 0:
			b.WriteString("\n") // a blank line: a row number, no row
			continue
		case i%101 == 0:
			fmt.Fprintf(&b, ",YOM-%d,CO\"M,2026-04-11,EFFECTIVE,x,bad quote\n", i)
		case i%103 == 0:
			fmt.Fprintf(&b, ",YOM-%d,COM,2026-04-11,EFFECTIVE,x,\"two\nlines\"\n", i)
		default:
			fmt.Fprintf(&b, ",YOM-%d,COM,2026-04-11,EFFECTIVE,x,row %d\n", i, i)
		}
		want++
	}
	path := writeFile(t, "in.csv", []byte(b.String()))
	read := func(sequential bool) []Row {
		r, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		r.sequential = sequential
		rows, err := rowsOf(t, r)
		if !errors.Is(err, io.EOF) {
			t.Fatalf("sequential=%v: %v", sequential, err)
		}
		return rows
	}
	ahead, inLine := read(false), read(true)
	if len(ahead) != want || len(inLine) != want {
		t.Fatalf("read %d rows ahead and %d in line, want %d", len(ahead), len(inLine), want)
	}
	last := 0
	for i := range ahead {
		a, s := ahead[i], inLine[i]
		if a.Pos != s.Pos || !reflect.DeepEqual(a.Cells, s.Cells) || fmt.Sprint(a.Err) != fmt.Sprint(s.Err) {
			t.Fatalf("row %d differs:\nahead   %+v\nin line %+v", i, a, s)
		}
		if a.Pos.Row <= last {
			t.Fatalf("row %d comes after row %d", a.Pos.Row, last)
		}
		last = a.Pos.Row
	}
	bad := 0
	for _, row := range ahead {
		if row.Err != nil {
			bad++
		}
	}
	if bad != (3*batchRows+17)/101 {
		t.Errorf("%d rows with broken quotes reported, want %d", bad, (3*batchRows+17)/101)
	}
}

// Close in the middle of a file stops the reading goroutine before the file
// is closed, and Next says so afterwards.
func TestReadAheadEarlyClose(t *testing.T) {
	var b strings.Builder
	b.WriteString(header + "\n")
	for i := 0; i < 10*batchRows; i++ {
		fmt.Fprintf(&b, ",YOM-%d,COM,2026-04-11,EFFECTIVE,x\n", i)
	}
	path := writeFile(t, "in.csv", []byte(b.String()))
	for _, n := range []int{0, 1, batchRows, batchRows + 1} {
		r, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			if _, err := r.Next(); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Close(); err != nil {
			t.Fatalf("after %d rows: Close: %v", n, err)
		}
		if r.started {
			select {
			case <-r.done:
			default:
				t.Fatalf("after %d rows: the reading goroutine is still running after Close", n)
			}
		} else if n > 0 {
			t.Fatalf("after %d rows: no goroutine was started", n)
		}
		if _, err := r.Next(); !errors.Is(err, errClosed) {
			t.Errorf("after %d rows: Next after Close = %v, want errClosed", n, err)
		}
		if err := r.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	}
}

// fakeSource yields n rows, then fails as its end says: an error or a panic.
type fakeSource struct {
	n, i   int
	end    error
	panics bool
}

func (s *fakeSource) next() ([]string, int, error) {
	if s.i == s.n {
		if s.panics {
			panic("index out of range")
		}
		return nil, s.i + 2, s.end
	}
	s.i++
	return []string{fmt.Sprint(s.i), "x"}, s.i + 1, nil
}

func (s *fakeSource) close() error { return nil }

// An error that ends the read, or a panic in the format library, reaches the
// caller after every row before it, with the file and row, and stays.
func TestReadAheadErrors(t *testing.T) {
	for _, tc := range []struct {
		src  *fakeSource
		want string
	}{
		{&fakeSource{n: batchRows + 5, end: errors.New("disk on fire")}, fmt.Sprintf("in.csv, row %d: the file cannot be read further (disk on fire)", batchRows+5+2)},
		{&fakeSource{n: 2 * batchRows, panics: true}, "in.csv: the file cannot be read further (index out of range)"},
		{&fakeSource{n: 3, end: io.EOF}, "EOF"},
	} {
		l := &Layout{File: "in.csv", Columns: []string{"a", "b"}}
		r := &Reader{layout: l, src: tc.src}
		rows, err := rowsOf(t, r)
		if len(rows) != tc.src.n {
			t.Errorf("%s: got %d rows, want %d", tc.want, len(rows), tc.src.n)
		}
		for i, row := range rows {
			if row.Cells[0] != fmt.Sprint(i+1) {
				t.Fatalf("%s: row %d holds %q", tc.want, i, row.Cells[0])
			}
		}
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
		if _, again := r.Next(); fmt.Sprint(again) != fmt.Sprint(err) {
			t.Errorf("Next after the end = %v, want %v again", again, err)
		}
		r.Close()
	}
}

// BenchmarkReadAhead compares reading ahead on a second goroutine with
// reading on the caller's, every field's Value worked out by the caller.
func BenchmarkReadAhead(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("activity_id,provider_activity_id,commerce_external_id,occurred_at,status,result,comment\n")
	const rows = 50_000
	for i := 0; i < rows; i++ {
		fmt.Fprintf(&sb, "9e3779b1-0001-5001-a000-%012d,YOM-%07d,COM-%04d,2026-04-01T08:01:00.000Z,EFFECTIVE,No interesado,\"visit %d, call back\"\n", i, i, i%5000, i)
	}
	path := writeFile(b, "in.csv", []byte(sb.String()))
	for _, seq := range []bool{true, false} {
		b.Run(map[bool]string{true: "sequential", false: "ahead"}[seq], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r, err := Open(path, Options{})
				if err != nil {
					b.Fatal(err)
				}
				r.sequential = seq
				n := 0
				for ; ; n++ {
					row, err := r.Next()
					if err != nil {
						break
					}
					for f := Field(0); int(f) < NumFields; f++ {
						row.Value(f)
					}
				}
				r.Close()
				if n != rows {
					b.Fatalf("read %d rows, want %d", n, rows)
				}
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// Row numbers count a record's line breaks wherever its cells hold them: in
// the last cell, in several cells, after CRLF.
func TestCSVRowNumbersMultiLine(t *testing.T) {
	data := header + "\r\n" +
		",YOM-1,COM-1,2026-04-11,EFFECTIVE,\"last\ncell\"\r\n" + // row 2, lines 2-3
		",\"YOM\n2\",COM-2,\"2026-04-11\",EFFECTIVE,\"a\r\nb\nc\"\r\n" + // row 3, lines 4-7
		"\r\n" + // row 4, blank
		",YOM-3,COM-3,2026-04-11,EFFECTIVE,x\r\n" // row 5
	_, rows := readAll(t, writeFile(t, "in.csv", []byte(data)), Options{})
	var got []int
	for _, r := range rows {
		got = append(got, r.Pos.Row)
	}
	if want := []int{2, 3, 5}; !reflect.DeepEqual(got, want) {
		t.Errorf("rows = %v, want %v", got, want)
	}
}
