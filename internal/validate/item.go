package validate

import (
	"errors"
	"fmt"
	"strings"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/outcome"
)

// Problem is one reason a row cannot be sent, named in the user's own terms.
type Problem struct {
	Column string // the column header as the user wrote it; "" when the problem is the row's as a whole
	// Code names the rule broken, for the report's code column and filters;
	// set with the rule, never read back from Message.
	Code    outcome.Code
	Message string
}

func (p Problem) String() string {
	if p.Column == "" {
		return p.Message
	}
	return p.Column + ": " + p.Message
}

// valueCode is the code of a cell that could not be read as field f, by
// what the importer reads into f: dates, a yes or no, JSON objects, and ids
// (whose only reading error is Excel's scientific notation).
func valueCode(f importer.Field, err error) outcome.Code {
	switch f {
	case importer.OccurredAt, importer.FutureScheduledAt:
		if errors.Is(err, importer.ErrAmbiguousDate) {
			return outcome.CodeAmbiguousDate
		}
		return outcome.CodeBadDate
	case importer.HardOverride:
		return outcome.CodeBadBoolean
	case importer.RawPayload, importer.Payload:
		return outcome.CodeBadJSON
	}
	return outcome.CodeExcelNumber
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

// Offline returns the outcome of an item that is not to be sent: invalid
// (with every problem) or skipped as a duplicate. ok is false for an item to send.
func (it *Item) Offline() (o outcome.Outcome, ok bool) {
	switch {
	case len(it.Problems) > 0 || it.Request == nil:
		msgs := make([]string, len(it.Problems))
		for i, p := range it.Problems {
			msgs[i] = p.String()
		}
		o := outcome.Outcome{Row: it.Row, Class: outcome.ClassInvalid, Message: strings.Join(msgs, "; ")}
		if len(it.Problems) > 0 {
			// The first in the order of the user's columns, as the message
			// lists them: one code a row, so that a filter finds every row.
			o.Code = it.Problems[0].Code
		}
		return o, true
	case it.DuplicateOf != nil:
		return outcome.Outcome{Row: it.Row, Class: outcome.ClassSkipped, Code: outcome.CodeDuplicateInFile, Message: fmt.Sprintf("same activity (%s) as %s, which is sent instead", it.Request.ActivityKey(), it.DuplicateOf)}, true
	}
	return outcome.Outcome{}, false
}
