package reconcile

import (
	"errors"
	"io"
	"time"

	"github.com/reten/reconcile/importer"
)

// RowSource yields rows in input order, then io.EOF; *importer.Reader is one.
type RowSource interface {
	Next() (importer.Row, error)
}

// checkBatch is how many items CheckAll's goroutine hands over at once, and
// checkAhead how many batches it may run ahead: the same trade as the
// importer's batchRows, between hand-overs per row and rows in flight.
const (
	checkBatch = 1024
	checkAhead = 2
)

// itemBatch is inspected rows, and what comes after them: nil for more,
// io.EOF or the source's error.
type itemBatch struct {
	items []Item
	keys  []activityKeys
	err   error
}

// CheckAll checks every row of rows as Check would, in order, and hands each
// item to fn. It returns nil at the end of rows, or the first error of rows
// or of fn, after which fn is not called again.
//
// Everything but duplicate detection runs on a second goroutine, a few
// hundred rows ahead of the caller's, which finds duplicates (the one rule
// that needs the rows before) and runs fn: on a machine with a core to spare
// a batch takes little more than its slower half. rows is read only by that
// goroutine while CheckAll runs, and not after it returns.
func (v *Validator) CheckAll(rows RowSource, fn func(Item) error) error {
	batches := make(chan itemBatch, checkAhead)
	free := make(chan itemBatch, checkAhead+1)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { v.batchNow = time.Time{} }()
		for {
			var b itemBatch
			select {
			case b = <-free:
				b.items, b.keys = b.items[:0], b.keys[:0]
			default:
				b = itemBatch{items: make([]Item, 0, checkBatch), keys: make([]activityKeys, 0, checkBatch)}
			}
			v.batchNow = v.now()
			for len(b.items) < checkBatch {
				row, err := rows.Next()
				if err != nil {
					b.err = err
					break
				}
				n := len(b.items)
				b.items, b.keys = b.items[:n+1], b.keys[:n+1]
				v.inspect(row, &b.items[n], &b.keys[n])
			}
			select {
			case batches <- b:
			case <-stop:
				return
			}
			if b.err != nil {
				return
			}
		}
	}()
	defer func() {
		close(stop)
		<-done
	}()
	for {
		b := <-batches
		for i := range b.items {
			it := &b.items[i]
			var dupErr error
			if it.Request != nil {
				dupErr = v.dedup(it, &b.keys[i])
			}
			if err := fn(*it); err != nil {
				return err
			}
			if dupErr != nil {
				return dupErr
			}
			*it = Item{} // the batch is reused; keep no row of it alive
		}
		if b.err != nil {
			if errors.Is(b.err, io.EOF) {
				return nil
			}
			return b.err
		}
		select {
		case free <- b:
		default:
		}
	}
}
