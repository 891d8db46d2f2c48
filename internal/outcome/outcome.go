// Package outcome holds what happened to each input row: its class, the
// API's answer and the reason, as validation, submission, the ledger and the
// reports all speak of it. Every row gets exactly one Outcome.
package outcome

import (
	"time"

	"github.com/reten/reconcile/internal/importer"
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

	// ClassValid is a row that passed every offline rule, in a run that
	// only checks (validate): never the class of a row that was sent, so
	// that nobody reads "ok" in a report as "accepted by the API".
	ClassValid Class = "valid"
)

// Classes lists the classes of a run that sends, in report order.
var Classes = []Class{ClassOK, ClassOverridden, ClassInvalid, ClassRejected, ClassConflict, ClassFailed, ClassSkipped}

// CheckClasses lists the classes of a run that only checks, in report order.
var CheckClasses = []Class{ClassValid, ClassInvalid, ClassSkipped}

// AllClasses lists every class, in report order.
var AllClasses = []Class{ClassOK, ClassValid, ClassOverridden, ClassInvalid, ClassRejected, ClassConflict, ClassFailed, ClassSkipped}

// NeedsPerson reports whether rows of this class go to the rejects file.
func (c Class) NeedsPerson() bool {
	switch c {
	case ClassInvalid, ClassRejected, ClassConflict, ClassFailed:
		return true
	}
	return false
}

// Outcome is what happened to one input row.
type Outcome struct {
	Row        importer.Row
	Class      Class
	HTTPStatus int    // the last answer's status; 0 if nothing was answered
	Error      string // the API's "error", e.g. "Bad Request"
	Message    string // the API's message, the offline problems, or why it was skipped
	// Code names the reason for scripts and filters, whatever Message says;
	// "" when there is nothing to name (ok).
	Code     Code
	Attempts int // requests sent for this row
	Duration time.Duration
	ResultID string // the stored result's id, when the API returned one
}
