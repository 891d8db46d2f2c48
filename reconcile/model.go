// Package reconcile is the core of the job: the result model, offline validation
// of imported rows against the downloaded configuration catalogue, concurrent
// submission with rate limit, retries, 409 policy and circuit breaker, and the
// classification of every row into exactly one outcome class. It does not know
// how files are parsed or how reports are drawn.
package reconcile

import (
	"time"

	"github.com/reten/reconcile/importer"
	"github.com/reten/reconcile/reconcile/api"
)

// Class is the outcome class of one input row. Every row gets exactly one.
type Class string

// The outcome classes, as the design guide defines them.
const (
	ClassOK         Class = "ok"         // the API accepted the result (2xx)
	ClassOverridden Class = "overridden" // 409, sent again with hard_override under the policy, accepted
	ClassInvalid    Class = "invalid"    // failed offline validation; never sent
	ClassRejected   Class = "rejected"   // a 4xx other than 409; not retried
	ClassConflict   Class = "conflict"   // 409 and the policy did not override
	ClassFailed     Class = "failed"     // 5xx, timeout or network error after the retry budget
	ClassSkipped    Class = "skipped"    // not sent on purpose (ledger, duplicate, breaker, signal)
)

// Classes lists every class in report order.
var Classes = []Class{ClassOK, ClassOverridden, ClassInvalid, ClassRejected, ClassConflict, ClassFailed, ClassSkipped}

// NeedsPerson reports whether rows of this class go to the rejects file.
func (c Class) NeedsPerson() bool {
	switch c {
	case ClassInvalid, ClassRejected, ClassConflict, ClassFailed:
		return true
	}
	return false
}

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

// Outcome is what happened to one input row.
type Outcome struct {
	Row        importer.Row
	Class      Class
	HTTPStatus int    // the last answer's status; 0 if nothing was answered
	Error      string // the API's "error", e.g. "Bad Request"
	Message    string // the API's message, the offline problems, or why it was skipped
	Attempts   int    // requests sent for this row
	Duration   time.Duration
	ResultID   string // the stored result's id, when the API returned one
}
