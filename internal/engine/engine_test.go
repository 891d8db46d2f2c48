package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/submit"
)

// How a sending run ended, and what it says, from the submitter's answer,
// the reader's and the reports'.
func TestEnding(t *testing.T) {
	auth := fmt.Errorf("the API refused the key: %w", &api.Error{StatusCode: 403, Err: "Forbidden", Message: "Insufficient permissions"})
	st := submit.Stats{Counts: map[outcome.Class]int{outcome.ClassOK: 3}}
	for _, tc := range []struct {
		name               string
		run, read, written error
		want               Ending
		msg                string
	}{
		{"finished", nil, nil, nil, Finished, ""},
		{"key refused", auth, nil, nil, KeyRefused, "SUBMIT_ACTIVITY_RESULT"},
		{"interrupted", context.Canceled, nil, nil, Interrupted, "interrupted"},
		{"ledger", errors.New("recording in the ledger: disk full"), nil, nil, LedgerFailed, "disk full"},
		{"API unreachable", &submit.UnreachableError{Since: time.Date(2026, 4, 11, 3, 14, 15, 0, time.UTC), Failures: 10, Of: 10, Last: context.DeadlineExceeded},
			nil, nil, APIFailed, "API unreachable since 03:14:15 (10 requests in a row got no answer)"},
		{"wait too long", &submit.WaitError{Wait: time.Hour, MaxWait: 2 * time.Minute, Answer: errors.New("429")}, nil, nil, APIFailed, "asked to wait 1h0m0s"},
		{"deadline", &submit.DeadlineError{Deadline: time.Date(2026, 4, 11, 5, 0, 0, 0, time.UTC), Unsent: 12}, nil, nil, APIFailed, "deadline"},
		{"unreadable row", nil, errors.New("in.csv, row 7: bare quote"), nil, ReadFailed, "row 7"},
		{"report write", nil, nil, errors.New("no space left"), ReportFailed, "no space left"},
		{"report write first", auth, nil, errors.New("no space left"), ReportFailed, "no space left"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := ending(st, tc.run, tc.read, tc.written)
			got := EndingOf(errOrNil(f))
			if got != tc.want {
				t.Errorf("ending %v, want %v", got, tc.want)
			}
			if (tc.msg == "") != (f == nil) || f != nil && !strings.Contains(f.Error(), tc.msg) {
				t.Errorf("error %v, want one saying %q", f, tc.msg)
			}
		})
	}
}

func errOrNil(f *Failure) error {
	if f == nil {
		return nil
	}
	return f
}
