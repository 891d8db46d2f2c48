package validate

import (
	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/importer"
)

// Problem is one reason a row cannot be sent, named in the user's own terms.
type Problem struct {
	Column  string // the column header as the user wrote it; "" when the problem is the row's as a whole
	Message string
}

func (p Problem) String() string {
	if p.Column == "" {
		return p.Message
	}
	return p.Column + ": " + p.Message
}

// Item is one input row after offline validation: either a request ready to be
// sent, or the problems that keep it from being sent.
type Item struct {
	Row importer.Row
	// Request is the body to send; nil when Problems is not empty.
	Request *api.SubmitRequest
	// Problems found offline; every one, not just the first.
	Problems []Problem
	// Override is true when the row itself asked for hard_override.
	Override bool
	// DuplicateOf is set on a later row about an activity an earlier row of the
	// batch already holds a valid result for: the row is valid (Request is
	// filled, to show what it holds) but must not be sent; its class is
	// skipped. It points at the first row.
	DuplicateOf *importer.Position
}

// Valid reports whether the item is to be sent: it has a request, no
// problems, and is not a later duplicate.
func (it *Item) Valid() bool {
	return it.Request != nil && len(it.Problems) == 0 && it.DuplicateOf == nil
}
