package reports

import "github.com/reten/reconcile/internal/outcome"

// ProblemOf is the entry of the summaries' most frequent messages that a
// row with this outcome counts toward (its Count left 0), and false for a
// row that needs no person: the row's message, else its error, with the
// quoted values masked, so that whatever reads report.csv back groups rows
// as summary.json and report.xlsx do.
func ProblemOf(class outcome.Class, httpStatus int, message, errText string) (TopMessage, bool) {
	if !class.NeedsPerson() {
		return TopMessage{}, false
	}
	msg := message
	if msg == "" {
		msg = errText
	}
	if msg == "" {
		msg = "(no message)"
	}
	return TopMessage{Class: class, HTTPStatus: httpStatus, Message: messageShape(msg)}, true
}
