package ledger

import (
	"cmp"
	"context"
	"errors"
	"slices"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Lookup implements Store.
func (db *DB) Lookup(ctx context.Context, activity string) (Entry, error) {
	es, err := db.LookupAll(ctx, []string{activity})
	if err != nil {
		return Entry{Activity: activity}, err
	}
	return es[0], nil
}

// LookupAll implements Store: one read transaction for every activity.
func (db *DB) LookupAll(ctx context.Context, activities []string) ([]Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The log first: an attempt folded meanwhile is then found in activities.
	logged := make([][]Attempt, len(activities))
	db.logMu.Lock()
	for i, activity := range activities {
		for _, seq := range db.byAct[activity] {
			logged[i] = append(logged[i], cloneAttempt(db.logged[seq]))
		}
	}
	db.logMu.Unlock()
	es := make([]Entry, len(activities))
	err := db.bolt.View(func(tx *bolt.Tx) error {
		for i, activity := range activities {
			var err error
			if es[i], err = getEntry(tx, activity, &db.sources); err != nil {
				return err
			}
			if i%dropEvery == dropEvery-1 {
				dropMapped(tx)
			}
		}
		dropMapped(tx)
		return nil
	})
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		err = ErrClosed
	}
	if err != nil {
		return nil, err
	}
	for i := range es {
		e := &es[i]
		if len(logged[i]) == 0 {
			continue
		}
		for _, a := range logged[i] {
			if !slices.ContainsFunc(e.Attempts, func(b Attempt) bool { return b.Seq == a.Seq }) {
				e.Attempts = append(e.Attempts, a)
			}
		}
		slices.SortFunc(e.Attempts, func(a, b Attempt) int { return cmp.Compare(a.Seq, b.Seq) })
	}
	return es, nil
}

func cloneAttempt(a Attempt) Attempt {
	if a.Outcome != nil {
		o := *a.Outcome
		a.Outcome = &o
	}
	return a
}
