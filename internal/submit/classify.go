package submit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/outcome"
)

// This file decides, as pure functions of what arrived and what the row has
// been through, what one answer means: the row's outcome, or its next step.

// step is what a row does after an answer.
type step int

const (
	stepDone     step = iota // the outcome is final
	stepRetry                // send the same request again after a wait, within the retry budget
	stepOverride             // send again at once with hard_override: the policy lets the row replace the result
	stepVerify               // read the stored result back before deciding: the 409 may be our own earlier attempt's
	stepSend                 // (after a check) nothing of ours is stored: send the request
)

// rowState is what classifying an answer needs to know of the row.
type rowState struct {
	// maybeStored: an earlier attempt of this same payload (in this run, or
	// per the ledger in an earlier one) got an answer that may hide a
	// stored result.
	maybeStored bool
	// doubt says how, for the messages: "answered 500 Internal Server
	// Error", "got no answer: ...", "of an earlier run that got no clear
	// answer".
	doubt string
	// hardOverride: the request carries hard_override.
	hardOverride bool
	// mayOverride: the policy lets this row replace an existing result.
	mayOverride bool
	// overriding: the row replaces a result the ledger knows of; accepted,
	// it is overridden rather than ok.
	overriding bool
}

// verdict is what one answer means.
type verdict struct {
	next step
	// class and the fields below are the outcome when next is stepDone; for
	// the other steps they describe the answer, kept if it is the last.
	class      outcome.Class
	status     int
	errName    string
	message    string
	resultID   string
	retryAfter time.Duration // the wait the server asked for, for stepRetry
	// mayHaveStored: this answer leaves open whether the API stored the
	// result; doubt says how, in the words of rowState.doubt.
	mayHaveStored bool
	doubt         string
	// settled: the answer shows that no result of ours hides behind an
	// earlier unclear one (the stored result is someone else's, or none).
	settled bool
	// noAnswer: the API did not answer at all (for the breaker).
	noAnswer bool
	// refusedKey: 401 or 403 to a submission; every later one would fail alike.
	refusedKey bool
}

// code names the reason of the outcome v describes, from what v holds
// (never its message): the API's status, no answer, or a doubt left open.
func (v verdict) code() outcome.Code {
	switch v.class {
	case outcome.ClassOK, outcome.ClassOverridden:
		return ""
	case outcome.ClassConflict:
		return outcome.CodeConflict
	}
	switch {
	case v.class == outcome.ClassFailed && v.mayHaveStored && (v.next == stepDone || v.status == http.StatusConflict):
		// Nothing tells whether the result is stored: a 409 the listing
		// does not show yet, a listing that shows too little, a check
		// that failed.
		return outcome.CodeInDoubt
	case v.class == outcome.ClassFailed && v.status >= 200 && v.status < 300:
		return outcome.CodeNotResult
	case v.status != 0:
		return outcome.APICode(v.status)
	case v.noAnswer:
		return outcome.CodeTransport
	}
	return outcome.CodeNotSendable
}

// classify decides what the answer to one submission means: resp when err is
// nil (a 2xx with a result), else err, an *api.Error, an *api.NotResultError,
// or the error of a request that got no answer.
func classify(resp *api.SubmitResponse, err error, st rowState) verdict {
	if err == nil {
		v := verdict{next: stepDone, class: outcome.ClassOK, status: resp.StatusCode, resultID: resp.ID}
		switch {
		case st.overriding:
			v.class, v.message = outcome.ClassOverridden, "the activity had a result; replaced it with hard_override"
		case st.hardOverride:
			v.message = "sent with hard_override, as the row asked"
		}
		return v
	}
	var nr *api.NotResultError
	if errors.As(err, &nr) {
		// Not the API's answer, most likely, and nothing says whether the
		// request went past whatever answered.
		return verdict{next: stepRetry, class: outcome.ClassFailed, status: nr.StatusCode, message: nr.Error(),
			mayHaveStored: true, doubt: fmt.Sprintf("answered %d but not with a result", nr.StatusCode), noAnswer: true}
	}
	e, isAPI := api.AsError(err)
	if !isAPI {
		if !api.NoAnswer(err) {
			// The client would not send it (a key it refuses, a redirect
			// elsewhere, an untrusted certificate): the same again.
			return verdict{next: stepDone, class: outcome.ClassFailed, message: err.Error()}
		}
		v := verdict{next: stepRetry, class: outcome.ClassFailed, message: err.Error(), noAnswer: true}
		if !api.NeverSent(err) {
			v.mayHaveStored, v.doubt = true, "got no answer: "+err.Error()
		}
		return v
	}
	v := verdict{status: e.StatusCode, errName: e.Err, message: e.Message}
	switch {
	case e.Auth():
		v.next, v.class, v.refusedKey = stepDone, outcome.ClassRejected, true
	case e.StatusCode == http.StatusConflict:
		switch {
		case st.maybeStored:
			// Ours, or someone else's: only the stored result can tell.
			v.next = stepVerify
		case !st.hardOverride && st.mayOverride:
			v.next = stepOverride
		default:
			v.next, v.class = stepDone, outcome.ClassConflict
		}
	case e.Retryable():
		v.next, v.class, v.retryAfter = stepRetry, outcome.ClassFailed, e.RetryAfter
		// A 429 is a refusal at the door; any 5xx may come after the write.
		if e.StatusCode >= 500 {
			v.mayHaveStored, v.doubt = true, "answered "+strconv.Itoa(e.StatusCode)+" "+e.Err
		}
	default:
		v.next, v.class = stepDone, outcome.ClassRejected
	}
	return v
}

// match is how a stored result compares with a row's payload.
type match int

const (
	matchNone      match = iota // the activity has no result
	matchSame                   // the stored result has every value of the payload the listing shows
	matchDifferent              // some value differs: not this payload's
	matchUnknown                // a result is stored, but the listing does not show enough of it to tell
)

// compareStored compares the stored result a listing shows for the activity
// with req's payload: its result code, status and occurred_at (as instants).
// Other fields are not listed; a result that agrees on these is taken as ours.
func compareStored(a *api.Activity, req *api.SubmitRequest) match {
	stored := a.Result != "" || a.Status == "COMPLETED" || a.ResultStatus != "" && a.ResultStatus != api.StatusPending
	if !stored {
		return matchNone
	}
	if a.Result != "" && a.Result != req.TaskResult.Result ||
		a.ResultStatus != "" && a.ResultStatus != req.Status ||
		a.OccurredAt != "" && !sameInstant(a.OccurredAt, req.OccurredAt) {
		return matchDifferent
	}
	if a.Result == "" || a.ResultStatus == "" || a.OccurredAt == "" {
		return matchUnknown
	}
	return matchSame
}

// sameInstant compares two ISO 8601 times as instants when both parse, else
// as text.
func sameInstant(a, b string) bool {
	ta, errA := parseISO(a)
	tb, errB := parseISO(b)
	if errA != nil || errB != nil {
		return a == b
	}
	return ta.Equal(tb)
}

func parseISO(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	// A date and time without a zone is UTC to the API.
	return time.Parse("2006-01-02T15:04:05.999999999", s)
}

// judge decides a row after its stored result was read back: after409 when
// a 409 followed an unclear attempt, else before sending again with
// hard_override a payload an unclear attempt may have stored.
func judge(m match, a *api.Activity, st rowState, after409 bool) verdict {
	ours := "stored by our earlier attempt (" + st.doubt + ")"
	switch m {
	case matchSame:
		v := verdict{next: stepDone, class: outcome.ClassOK, settled: true}
		if st.overriding {
			v.class = outcome.ClassOverridden
		}
		if after409 {
			v.status, v.errName = http.StatusConflict, http.StatusText(http.StatusConflict)
			v.message = "409 taken as this row's own result: the API holds this row's values, " + ours
		} else {
			v.message = "not sent again: the API holds this row's values, " + ours
		}
		return v
	case matchDifferent:
		if !after409 {
			return verdict{next: stepSend, settled: true}
		}
		v := verdict{status: http.StatusConflict, errName: http.StatusText(http.StatusConflict), settled: true,
			message: fmt.Sprintf("Activity already has a result (%s): not this row's, so our earlier attempt (%s) did not store it", describeStored(a), st.doubt)}
		if !st.hardOverride && st.mayOverride {
			v.next = stepOverride
			return v
		}
		v.next, v.class = stepDone, outcome.ClassConflict
		return v
	case matchNone:
		if !after409 {
			return verdict{next: stepSend, settled: true}
		}
		// A 409 for an activity the listing shows without a result: the
		// listing may lag the write. Ask again later.
		return verdict{next: stepRetry, class: outcome.ClassFailed, status: http.StatusConflict, errName: http.StatusText(http.StatusConflict),
			message: "the API answered 409 but lists no result for the activity yet; the result may be stored: check it, or run again", mayHaveStored: true, doubt: st.doubt}
	}
	return verdict{next: stepDone, class: outcome.ClassFailed, mayHaveStored: true, doubt: st.doubt,
		message: fmt.Sprintf("the activity has a result, but the listing does not show enough of it (%s) to tell whether it is this row's, %s or someone else's: check it in Reten, then run again", describeStored(a), ours)}
}

// describeStored names what the listing shows of a stored result.
func describeStored(a *api.Activity) string {
	var parts []string
	if a.Result != "" {
		parts = append(parts, "result "+a.Result)
	}
	if a.ResultStatus != "" {
		parts = append(parts, "status "+a.ResultStatus)
	}
	if a.OccurredAt != "" {
		parts = append(parts, "occurred at "+a.OccurredAt)
	}
	if len(parts) == 0 {
		return "no values shown"
	}
	return strings.Join(parts, ", ")
}

// checkFailed decides a row whose stored result could not be read back:
// never ok, never overridden. A transient failure is worth trying again
// (the submission is sent again and its 409 checked again); any other
// leaves the row failed, in doubt.
func checkFailed(err error, st rowState) verdict {
	const what = "the API answered 409 after an attempt that may have stored this row, and checking the stored result failed: "
	v := verdict{class: outcome.ClassFailed, mayHaveStored: true, doubt: st.doubt, noAnswer: api.NoAnswer(err)}
	e, isAPI := api.AsError(err)
	switch {
	case isAPI && e.StatusCode == http.StatusForbidden:
		v.next, v.status, v.errName = stepDone, e.StatusCode, e.Err
		v.message = what + "the key lacks VIEW_ACTIVITIES (403 " + e.Err + "), which reading activities needs: give it that permission, or check the activity in Reten, then run again"
	case api.Retryable(context.Background(), err):
		v.next, v.message = stepRetry, what+err.Error()
		if isAPI {
			v.status, v.errName, v.retryAfter = e.StatusCode, e.Err, e.RetryAfter
		}
	default:
		v.next, v.message = stepDone, what+err.Error()
		if isAPI {
			v.status, v.errName = e.StatusCode, e.Err
		}
	}
	return v
}
