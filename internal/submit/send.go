package submit

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/outcome"
)

// send settles one job: sends it, through the retry layer, until its outcome
// is final or the run stops, and hands the outcome to the finisher.
func (r *run) send(j *job) {
	start := time.Now()
	j.o = outcome.Outcome{Row: j.it.Row}
	if j.check.Own {
		j.maybeStored, j.doubt = true, "of an earlier run that got no clear answer"
	}
	err := r.retry(j)
	var rl *retryLater
	switch {
	case err == nil:
	case errors.As(err, &rl):
		j.o.Class = outcome.ClassFailed
		j.o.Message = fmt.Sprintf("%s (after %d attempts)", j.o.Message, j.o.Attempts)
	default:
		// The run stopped before this row was settled.
		r.unsent.Add(1)
		reason := r.stopReason()
		if j.o.Attempts > 0 {
			reason = "not sent again, " + strings.TrimPrefix(reason, "not sent: ") + "; last answer: " + lastAnswer(j.o)
		}
		j.o.Class, j.o.Code, j.o.Message = outcome.ClassSkipped, outcome.CodeStopped, reason
	}
	j.o.Duration = time.Since(start)
	r.settle(j)
}

// String names j's row in the log.
func (j *job) String() string { return j.it.Row.Pos.String() }

// attempt is j's attempt for the retry layer.
func (j *job) attempt() error { return j.r.try(j) }

// try is one attempt of j as the retry layer counts them: a submission, and
// the requests that settle its answer at once (a resend with hard_override
// under the policy, reading the stored result back). It returns nil when
// j.o is final, a *retryLater to try again later, or errStopped.
func (r *run) try(j *job) error {
	for {
		st := rowState{maybeStored: j.maybeStored, doubt: j.doubt, hardOverride: j.req.HardOverride,
			mayOverride: r.mayOverride(j.it), overriding: j.overriding}
		var v verdict
		var answer error
		switch {
		case j.recheck:
			// The API answered 409 and reading the stored result failed:
			// read it again rather than send the same request again.
			var ok bool
			if v, answer, ok = r.verify(j, st, true); !ok {
				return errStopped
			}
		case st.hardOverride && st.maybeStored:
			// Never override on top of a result that may be our own without
			// reading it first: that would store it twice.
			var ok bool
			if v, answer, ok = r.verify(j, st, false); !ok {
				return errStopped
			}
		default:
			if !r.wait() {
				return errStopped
			}
			resp, err := r.post(j)
			answer = err
			v = classify(resp, err, st)
			r.note(v.noAnswer, err)
			if v.next == stepVerify {
				var ok bool
				if v, answer, ok = r.verify(j, st, true); !ok {
					return errStopped
				}
				j.recheck = v.next == stepRetry
			}
		}
		j.apply(v)
		switch v.next {
		case stepDone:
			if v.refusedKey {
				e, _ := api.AsError(answer)
				r.stop(fmt.Sprintf("not sent: the API refused the key (%d %s)", e.StatusCode, e.Err),
					fmt.Errorf("the API refused the key: %w", e))
			}
			return nil
		case stepOverride:
			j.req.HardOverride, j.overriding, j.body = true, true, nil
		case stepSend:
			// Checked: nothing of ours is stored; send as it is.
		case stepRetry:
			return &retryLater{cause: errors.New(lastAnswer(j.o)), wait: v.retryAfter}
		}
	}
}

// post sends j's request once.
func (r *run) post(j *job) (*api.SubmitResponse, error) {
	if j.body == nil {
		body, err := json.Marshal(&j.req)
		if err != nil {
			return nil, fmt.Errorf("encoding the request: %w", err)
		}
		j.body = body
	}
	j.o.Attempts++
	r.requests.Add(1)
	return r.client.SubmitRaw(r.reqCtx, j.body)
}

// note tells the breaker whether a request got an answer, and trips the run
// if it says so.
func (r *run) note(noAnswer bool, err error) {
	if ue := r.breaker.record(noAnswer, time.Now(), err); ue != nil {
		r.stop(ue.reason(), ue)
	}
}

// verify reads j's activity back from the listing of its commerce's
// activities, page by page, and judges the row by the result it holds. ok is
// false if the run stopped first; answer is the listing's error, if any.
func (r *run) verify(j *job, st rowState, after409 bool) (v verdict, answer error, ok bool) {
	f := api.ActivityFilter{ExternalCommerceID: j.req.CommerceExternalID}
	for page := 1; ; page++ {
		if !r.wait() {
			return verdict{}, nil, false
		}
		r.requests.Add(1)
		p, err := r.client.ActivitiesPage(r.reqCtx, f, page, 100)
		r.note(api.NoAnswer(err), err)
		if err != nil {
			return checkFailed(err, st), err, true
		}
		for i := range p.Data {
			if a := &p.Data[i]; names(&j.req, a) {
				return judge(compareStored(a, &j.req), a, st, after409), nil, true
			}
		}
		if len(p.Data) == 0 || page >= p.Meta.TotalPages {
			err := fmt.Errorf("activity %s is not in the listing of commerce %s's activities", j.req.ActivityKey(), j.req.CommerceExternalID)
			return checkFailed(err, st), err, true
		}
	}
}

// names says whether a is the activity req names: by activity_id when it
// has one (it wins on the server), else by provider_activity_id.
func names(req *api.SubmitRequest, a *api.Activity) bool {
	if req.ActivityID != "" {
		return strings.EqualFold(a.ID, req.ActivityID)
	}
	return a.ProviderActivityID == req.ProviderActivityID
}

// apply keeps what v says of the answer in j's outcome, and what it says of
// whether an attempt may have stored j's payload.
func (j *job) apply(v verdict) {
	j.o.Class, j.o.HTTPStatus, j.o.Error, j.o.Message, j.o.ResultID = v.class, v.status, v.errName, v.message, v.resultID
	j.o.Code = v.code()
	switch {
	case v.mayHaveStored:
		j.maybeStored, j.doubt = true, v.doubt
	case v.settled:
		j.maybeStored, j.doubt = false, ""
	}
}

// lastAnswer describes the latest answer kept in o.
func lastAnswer(o outcome.Outcome) string {
	if o.HTTPStatus == 0 {
		return o.Message
	}
	s := strconv.Itoa(o.HTTPStatus)
	if o.Error != "" {
		s += " " + o.Error
	}
	if o.Message != "" {
		s += ": " + o.Message
	}
	return s
}
