package ledger

import (
	"errors"
	"fmt"
)

// ErrClosed is returned by calls on a closed ledger.
var ErrClosed = errors.New("ledger: closed")

// Validate says what makes a unfit to record; every Store checks it, so
// that they agree on the rules.
func (a *Attempt) Validate() error {
	if a.Activity == "" {
		return fmt.Errorf("ledger: attempt from %s names no activity", a.Where())
	}
	if a.Hash == "" {
		return fmt.Errorf("ledger: attempt for activity %s has no payload hash", a.Activity)
	}
	return nil
}

// Validate says what makes o unfit to record as the outcome of an attempt
// of activity.
func (o *Outcome) Validate(activity string) error {
	if o.Class == "" {
		return fmt.Errorf("ledger: outcome for activity %s has no class", activity)
	}
	return nil
}

// addAttempt appends a to e.
func addAttempt(e *Entry, a Attempt) error {
	if err := a.Validate(); err != nil {
		return err
	}
	e.Activity = a.Activity
	a.Outcome = nil
	e.Attempts = append(e.Attempts, a)
	return nil
}

// setOutcome records o as the outcome of attempt seq of e.
func setOutcome(e *Entry, seq uint64, o Outcome) error {
	if err := o.Validate(e.Activity); err != nil {
		return err
	}
	for i := len(e.Attempts) - 1; i >= 0; i-- {
		if e.Attempts[i].Seq == seq {
			e.Attempts[i].Outcome = &o
			return nil
		}
	}
	return fmt.Errorf("ledger: activity %q has no attempt %d to finish", e.Activity, seq)
}
