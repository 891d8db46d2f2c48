package validate

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/importer"
)

// sliceSource hands out rows, then end; it fails the test if it is read
// after CheckAll has returned.
type sliceSource struct {
	t        *testing.T
	rows     []importer.Row
	end      error
	returned bool
}

func (s *sliceSource) Next() (importer.Row, error) {
	if s.returned {
		s.t.Error("the source was read after CheckAll returned")
	}
	if len(s.rows) == 0 {
		return importer.Row{}, s.end
	}
	r := s.rows[0]
	s.rows = s.rows[1:]
	return r, nil
}

// batchRowsFor makes n rows, some invalid and some duplicates of earlier
// ones, enough to cross several of CheckAll's batches.
func batchRowsFor(n int) []importer.Row {
	l := &importer.Layout{File: "in.csv",
		Columns: []string{"activity_id", "provider_activity_id", "commerce_external_id", "occurred_at", "status", "result"},
		Fields:  []importer.Field{importer.ActivityID, importer.ProviderActivityID, importer.CommerceExternalID, importer.OccurredAt, importer.Status, importer.Result}}
	rows := make([]importer.Row, n)
	for i := range rows {
		id := fmt.Sprintf("8a2da0ef-e94a-5f98-ad28-%012d", i)
		status := "EFFECTIVE"
		switch {
		case i%50 == 7:
			status = "maybe" // invalid
		case i%40 == 9:
			id = fmt.Sprintf("8a2da0ef-e94a-5f98-ad28-%012d", i/2) // a duplicate of an earlier row
		}
		rows[i] = importer.Row{Pos: importer.Position{File: "in.csv", Row: i + 2}, Layout: l,
			Cells: []string{id, fmt.Sprintf("P-%d", i), "C", "2026-04-11T10:30:00.000Z", status, "NO_CONTACT"}}
	}
	return rows
}

// checkEach is what a fresh Validator's Check says of each row, in order.
func checkEach(cat *Catalogue, rows []importer.Row) []Item {
	v := NewValidator(cat, func() time.Time { return testNow })
	items := make([]Item, len(rows))
	for i, r := range rows {
		items[i] = v.Check(r)
	}
	return items
}

// CheckAll gives the items Check gives row by row, in order.
func TestCheckAllSameAsCheck(t *testing.T) {
	rows := batchRowsFor(3*checkBatch + 11)
	cat := tenantCatalogue(t)
	want := checkEach(cat, rows)
	src := &sliceSource{t: t, rows: rows, end: io.EOF}
	var got []Item
	err := NewValidator(cat, func() time.Time { return testNow }).CheckAll(src, func(it Item) error {
		got = append(got, it)
		return nil
	})
	src.returned = true
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d items, want %d", len(got), len(want))
	}
	dups, invalid := 0, 0
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("item %d:\ngot  %+v\nwant %+v", i, got[i], want[i])
		}
		if want[i].DuplicateOf != nil {
			dups++
		}
		if len(want[i].Problems) > 0 {
			invalid++
		}
	}
	if dups == 0 || invalid == 0 {
		t.Errorf("the rows hold %d duplicates and %d invalid rows; the test needs both", dups, invalid)
	}
}

// With ReuseRequests, fn sees the requests Check gives, and their memory
// comes from a few batches' worth, whatever the number of rows.
func TestCheckAllReuseRequests(t *testing.T) {
	rows := batchRowsFor(12*checkBatch + 5)
	cat := tenantCatalogue(t)
	want := checkEach(cat, rows)
	v := NewValidator(cat, func() time.Time { return testNow })
	v.ReuseRequests = true
	src := &sliceSource{t: t, rows: rows, end: io.EOF}
	i, valid := 0, 0
	slots := map[*api.SubmitRequest]bool{}
	err := v.CheckAll(src, func(it Item) error {
		w := want[i]
		i++
		if (it.Request == nil) != (w.Request == nil) || it.Request != nil && !reflect.DeepEqual(*it.Request, *w.Request) {
			t.Fatalf("row %d: request %+v, want %+v", w.Row.Pos.Row, it.Request, w.Request)
		}
		if !reflect.DeepEqual(it.Problems, w.Problems) || !reflect.DeepEqual(it.DuplicateOf, w.DuplicateOf) {
			t.Fatalf("row %d: problems %v dup %v, want %v %v", w.Row.Pos.Row, it.Problems, it.DuplicateOf, w.Problems, w.DuplicateOf)
		}
		if it.Request != nil {
			valid++
			slots[it.Request] = true
		}
		return nil
	})
	src.returned = true
	if err != nil {
		t.Fatal(err)
	}
	if i != len(rows) {
		t.Fatalf("fn saw %d items, want %d", i, len(rows))
	}
	// CheckAll makes checkBatches batches and no more, however the two
	// goroutines are timed; without reuse each valid row would have a
	// request of its own.
	if most := checkBatches * checkBatch; len(slots) > most || len(slots) == valid {
		t.Errorf("%d valid rows used %d distinct requests; want at most %d", valid, len(slots), most)
	}
	// Check afterwards does not hand out memory CheckAll reuses.
	if it := v.Check(batchRowsFor(1)[0]); it.Request == nil {
		t.Fatal("row not valid")
	} else if slots[it.Request] {
		t.Error("Check after CheckAll handed out one of CheckAll's reused requests")
	}
}

// An error of fn or of the source stops CheckAll at once, with that error,
// and its goroutine does not read on.
func TestCheckAllStops(t *testing.T) {
	rows := batchRowsFor(5 * checkBatch)
	stop := errors.New("stop here")
	src := &sliceSource{t: t, rows: rows, end: io.EOF}
	calls := 0
	err := NewValidator(tenantCatalogue(t), nil).CheckAll(src, func(Item) error {
		calls++
		if calls == 10 {
			return stop
		}
		return nil
	})
	src.returned = true
	if err != stop || calls != 10 {
		t.Errorf("fn error: CheckAll = %v after %d calls, want %v after 10", err, calls, stop)
	}

	broken := errors.New("in.csv, row 300: the file cannot be read further")
	src = &sliceSource{t: t, rows: rows[:298], end: broken}
	calls = 0
	err = NewValidator(tenantCatalogue(t), nil).CheckAll(src, func(Item) error { calls++; return nil })
	src.returned = true
	if err != broken || calls != 298 {
		t.Errorf("source error: CheckAll = %v after %d items, want %v after 298", err, calls, broken)
	}
}

// CheckAll measures "in the future" from the clock read at the start of each
// batch, and Check after it reads the clock again.
func TestCheckAllClock(t *testing.T) {
	l := &importer.Layout{File: "in.csv",
		Columns: []string{"provider_activity_id", "commerce_external_id", "occurred_at", "status", "result", "future_scheduled_at"},
		Fields:  []importer.Field{importer.ProviderActivityID, importer.CommerceExternalID, importer.OccurredAt, importer.Status, importer.Result, importer.FutureScheduledAt}}
	row := func(i int, future string) importer.Row {
		return importer.Row{Pos: importer.Position{File: "in.csv", Row: i + 2}, Layout: l,
			Cells: []string{fmt.Sprintf("P-%d", i), "C", "2026-04-11T10:30:00Z", "PENDING", "RESCHEDULE", future}}
	}
	now := testNow
	v := NewValidator(tenantCatalogue(t), func() time.Time { return now })
	rows := []importer.Row{row(0, "2026-11-25T13:00:00Z"), row(1, "2026-11-25T11:00:00Z")}
	var got []bool
	err := v.CheckAll(&sliceSource{t: t, rows: rows, end: io.EOF}, func(it Item) error {
		got = append(got, it.Valid())
		return nil
	})
	if err != nil || !reflect.DeepEqual(got, []bool{true, false}) {
		t.Fatalf("CheckAll at 12:00: valid = %v, %v; want an hour ahead valid, an hour ago not", got, err)
	}
	now = testNow.Add(2 * time.Hour)
	if it := v.Check(row(2, "2026-11-25T13:00:00Z")); it.Valid() {
		t.Error("Check at 14:00 after CheckAll at 12:00 took 13:00 as still to come")
	}
}

// countingSource is a sliceSource whose reads the caller's goroutine may
// count while CheckAll's reads on.
type countingSource struct {
	rows []importer.Row
	read atomic.Int64
}

func (s *countingSource) Next() (importer.Row, error) {
	i := s.read.Load()
	if int(i) == len(s.rows) {
		return importer.Row{}, io.EOF
	}
	s.read.Add(1)
	return s.rows[i], nil
}

// A batch of long rows ends at importer.BatchText, as the importer's do,
// so that rows of megabyte comments are not held a thousand at a time.
func TestCheckAllLongRows(t *testing.T) {
	long := strings.Repeat("x", 1<<20) // one text shared by every row
	rows := batchRowsFor(3 * checkBatch)
	l := *rows[0].Layout
	l.Columns = append(slices.Clone(l.Columns), "comment")
	l.Fields = append(slices.Clone(l.Fields), importer.Comment)
	for i := range rows {
		rows[i].Layout = &l
		rows[i].Cells = append(rows[i].Cells, long)
	}
	src := &countingSource{rows: rows}
	most := int64(checkBatches * (importer.BatchText/len(long) + 1))
	n := 0
	err := NewValidator(tenantCatalogue(t), func() time.Time { return testNow }).CheckAll(src, func(Item) error {
		if n++; n == 1 {
			// The first batch is whole by now, and at most a few more read.
			if read := src.read.Load(); read > most {
				t.Errorf("%d rows of 1 MiB read by the first item; want at most %d", read, most)
			}
		}
		return nil
	})
	if err != nil || n != len(rows) {
		t.Fatalf("%d items, err %v", n, err)
	}
}
