package validate

import (
	"errors"
	"io"
	"time"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/importer"
)

// RowSource yields rows in input order, then io.EOF; *importer.Reader is one.
type RowSource interface {
	Next() (importer.Row, error)
}

// checkBatch is how many items CheckAll's goroutine hands over at once, and
// checkAhead how many batches it may run ahead: the same trade as the
// importer's batchRows, between hand-overs per row and rows in flight.
// checkBatches is every batch a CheckAll ever makes: those queued, the one
// being checked and the one with the caller. They go round and round, so
// the memory of a run is that of checkBatches batches whatever the timing.
const (
	checkBatch   = 1024
	checkAhead   = 2
	checkBatches = checkAhead + 2
)

// checkCells bounds the cells of a batch's rows, so that a file of
// thousands of columns has few rows a batch rather than gigabytes in flight;
// importer.BatchText bounds their text likewise, for cells of megabytes.
const checkCells = 16 * checkBatch

// batchSize is how many rows of width cells go in one batch.
func batchSize(width int) int {
	return min(max(checkCells/max(width, 1), 1), checkBatch)
}

// itemBatch is inspected rows, and what comes after them: nil for more,
// io.EOF or the source's error.
type itemBatch struct {
	items []Item
	keys  []activityKeys
	reqs  []api.SubmitRequest // with ReuseRequests: the batch's own requests
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
//
// With v.ReuseRequests, fn must not keep an Item's Request (or the Item)
// after it returns: its memory is filled again a few batches later.
func (v *Validator) CheckAll(rows RowSource, fn func(Item) error) error {
	batches := make(chan itemBatch, checkAhead)
	// Room for every batch, so that giving one back never blocks or drops it.
	free := make(chan itemBatch, checkBatches)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		reuse := v.ReuseRequests
		defer func() {
			v.batchNow = time.Time{}
			if reuse {
				v.reqs = nil // the last batch's requests are not Check's to hand out
			}
		}()
		made, size := 0, checkBatch
		for {
			var b itemBatch
			if made < checkBatches {
				made++
				b = itemBatch{items: make([]Item, 0, checkBatch), keys: make([]activityKeys, 0, checkBatch)}
				if reuse {
					b.reqs = make([]api.SubmitRequest, checkBatch)
				}
			} else {
				// Every batch is made: wait for the caller to be done with
				// one, rather than make another when it is a moment late
				// (which made how many there were a matter of timing).
				select {
				case b = <-free:
				case <-stop:
					return
				}
				b.items, b.keys = b.items[:0], b.keys[:0]
				if reuse {
					// inspect takes its slots zero; a valid row's is not.
					clear(b.reqs)
				}
			}
			if reuse {
				// A row takes at most one slot, so a batch's rows fit.
				v.reqs = b.reqs
			}
			v.batchNow = v.now()
			text := 0
			for len(b.items) < size && text < importer.BatchText {
				row, err := rows.Next()
				if err != nil {
					b.err = err
					break
				}
				if len(b.items) == 0 {
					size = batchSize(len(row.Cells))
				}
				text += row.TextBytes()
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
		free <- b // never blocks: free has room for every batch
	}
}
