package ledger

import (
	"errors"
	"fmt"
)

// ErrClosed is returned by calls on a closed ledger.
var ErrClosed = errors.New("ledger: closed")

// addAttempt appends a to e; shared by every Store so they agree on the rules.
func addAttempt(e *Entry, a Attempt) error {
	if a.Activity == "" {
		return fmt.Errorf("ledger: attempt from %s names no activity", a.Where())
	}
	if a.Hash == "" {
		return fmt.Errorf("ledger: attempt for activity %s has no payload hash", a.Activity)
	}
	e.Activity = a.Activity
	a.Outcome = nil
	e.Attempts = append(e.Attempts, a)
	return nil
}

// setOutcome records o as the outcome of attempt seq of e.
func setOutcome(e *Entry, seq uint64, o Outcome) error {
	if o.Class == "" {
		return fmt.Errorf("ledger: outcome for activity %s has no class", e.Activity)
	}
	for i := len(e.Attempts) - 1; i >= 0; i-- {
		if e.Attempts[i].Seq == seq {
			e.Attempts[i].Outcome = &o
			return nil
		}
	}
	return fmt.Errorf("ledger: activity %q has no attempt %d to finish", e.Activity, seq)
}
