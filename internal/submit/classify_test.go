package submit

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/outcome"
)

// answerOf is what the client makes of one HTTP answer of the submit
// endpoint, by the same function SubmitRaw uses.
func answerOf(status int, retryAfter, contentType, body string) (*api.SubmitResponse, error) {
	h := http.Header{}
	if retryAfter != "" {
		h.Set("Retry-After", retryAfter)
	}
	h.Set("Content-Type", contentType)
	return api.ParseSubmitAnswer(status, h, []byte(body))
}

// errBody is the contract's error body.
func errBody(status int, msg string) string {
	return fmt.Sprintf(`{"statusCode":%d,"error":%q,"message":%q}`, status, http.StatusText(status), msg)
}

// noAnswers are the errors of requests that got no answer, as a real client
// makes them: a timeout, a connection reset after the request was sent, and
// a connection refused before anything was sent.
func noAnswers(t *testing.T) (timeout, reset, refused error) {
	t.Helper()
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // then net/http notices the client leave
		<-r.Context().Done()
	}))
	defer hang.Close()
	c, _ := api.NewClient(hang.URL, "rtn_sk_test")
	c.Timeout = 20 * time.Millisecond
	_, timeout = c.SubmitRaw(context.Background(), []byte(`{}`))

	rst := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.(*net.TCPConn).SetLinger(0) // a reset, not a clean close
			conn.Close()
		}
	}))
	defer rst.Close()
	c, _ = api.NewClient(rst.URL, "rtn_sk_test")
	_, reset = c.SubmitRaw(context.Background(), []byte(`{}`))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, _ = api.NewClient("http://"+addr, "rtn_sk_test")
	_, refused = c.SubmitRaw(context.Background(), []byte(`{}`))
	for _, err := range []error{timeout, reset, refused} {
		if !api.NoAnswer(err) {
			t.Fatalf("%v: not an error without an answer", err)
		}
	}
	return timeout, reset, refused
}

// TestClassifyContractErrors runs classify over the error table of the API
// contract: every status, under each override policy, after an attempt that
// may have stored the row and after none, and the answers the contract does
// not document but a careful client meets.
func TestClassifyContractErrors(t *testing.T) {
	timeout, reset, refused := noAnswers(t)
	in90s := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	const json, html = "application/json", "text/html; charset=utf-8"
	var (
		fresh      = rowState{}                                                                       // policy never, first attempt
		always     = rowState{mayOverride: true}                                                      // policy always (or row, the row asking), first attempt
		sentWithHO = rowState{mayOverride: true, hardOverride: true}                                  // policy row: sent with hard_override from the start
		unclear    = rowState{maybeStored: true, doubt: "answered 500 Internal Server Error"}         // never, after a 5xx
		unclearAlw = rowState{maybeStored: true, doubt: "got no answer: EOF", mayOverride: true}      // always, after a dropped connection
		ledgerOwn  = rowState{maybeStored: true, doubt: "of an earlier run that got no clear answer"} // an earlier run left it in doubt
		replacing  = rowState{mayOverride: true, hardOverride: true, overriding: true}                // the ledger knows another result
	)
	type want struct {
		next          step
		class         outcome.Class // for stepDone
		status        int
		mayHaveStored bool
		noAnswer      bool
		refusedKey    bool
		retryAfter    time.Duration // at least this, and at most a second more
		message       string        // a part of the message
	}
	tests := []struct {
		name  string
		state rowState
		resp  func() (*api.SubmitResponse, error)
		want  want
	}{
		// 2xx: accepted only with a result.
		{"201 with a result", fresh, func() (*api.SubmitResponse, error) {
			return answerOf(201, "", json, `{"id":"r-1","status":"EFFECTIVE"}`)
		},
			want{next: stepDone, class: outcome.ClassOK, status: 201}},
		{"200 with a numeric id", fresh, func() (*api.SubmitResponse, error) { return answerOf(200, "", json, `{"id":42}`) },
			want{next: stepDone, class: outcome.ClassOK, status: 200}},
		{"201 sent with hard_override as the row asked", sentWithHO, func() (*api.SubmitResponse, error) { return answerOf(201, "", json, `{"id":"r-1"}`) },
			want{next: stepDone, class: outcome.ClassOK, status: 201, message: "as the row asked"}},
		{"201 replacing a result the ledger knows", replacing, func() (*api.SubmitResponse, error) { return answerOf(201, "", json, `{"id":"r-1"}`) },
			want{next: stepDone, class: outcome.ClassOverridden, status: 201}},
		{"200 text/html from a proxy", fresh, func() (*api.SubmitResponse, error) {
			return answerOf(200, "", html, `<html><body>Guest network: sign in</body></html>`)
		}, want{next: stepRetry, status: 200, mayHaveStored: true, noAnswer: true, message: "the API answered 200 but not with a result: a proxy or gateway in the way?"}},
		{"200 garbage", fresh, func() (*api.SubmitResponse, error) { return answerOf(200, "", "", "\x00\x13garbage") },
			want{next: stepRetry, status: 200, mayHaveStored: true, noAnswer: true, message: "not with a result"}},
		{"201 JSON without an id", fresh, func() (*api.SubmitResponse, error) { return answerOf(201, "", json, `{"ok":true}`) },
			want{next: stepRetry, status: 201, mayHaveStored: true, noAnswer: true, message: "not with a result"}},
		{"204 no body", fresh, func() (*api.SubmitResponse, error) { return answerOf(204, "", "", ``) },
			want{next: stepRetry, status: 204, mayHaveStored: true, noAnswer: true, message: "an empty body"}},

		// 4xx: never sent again unchanged.
		{"400", fresh, func() (*api.SubmitResponse, error) {
			return answerOf(400, "", json, errBody(400, "task_result.result must be a valid result type code"))
		}, want{next: stepDone, class: outcome.ClassRejected, status: 400, message: "task_result.result must be a valid result type code"}},
		{"401", fresh, func() (*api.SubmitResponse, error) {
			return answerOf(401, "", json, errBody(401, "API key missing or invalid"))
		},
			want{next: stepDone, class: outcome.ClassRejected, status: 401, refusedKey: true, message: "API key missing or invalid"}},
		{"403", fresh, func() (*api.SubmitResponse, error) {
			return answerOf(403, "", json, errBody(403, "Insufficient permissions"))
		},
			want{next: stepDone, class: outcome.ClassRejected, status: 403, refusedKey: true, message: "Insufficient permissions"}},
		{"404", fresh, func() (*api.SubmitResponse, error) {
			return answerOf(404, "", json, errBody(404, "Activity not found"))
		},
			want{next: stepDone, class: outcome.ClassRejected, status: 404}},
		{"422, a 4xx the contract does not list", fresh, func() (*api.SubmitResponse, error) { return answerOf(422, "", json, errBody(422, "no")) },
			want{next: stepDone, class: outcome.ClassRejected, status: 422}},
		{"401 after an unclear attempt", unclear, func() (*api.SubmitResponse, error) {
			return answerOf(401, "", json, errBody(401, "API key missing or invalid"))
		},
			want{next: stepDone, class: outcome.ClassRejected, status: 401, refusedKey: true}},

		// 409 under each policy, and after an attempt that may have stored.
		{"409, policy never", fresh, func() (*api.SubmitResponse, error) {
			return answerOf(409, "", json, errBody(409, "Activity already has a result"))
		},
			want{next: stepDone, class: outcome.ClassConflict, status: 409, message: "Activity already has a result"}},
		{"409, policy always", always, func() (*api.SubmitResponse, error) {
			return answerOf(409, "", json, errBody(409, "Activity already has a result"))
		},
			want{next: stepOverride, status: 409}},
		{"409, policy row, the row not asking", fresh, func() (*api.SubmitResponse, error) {
			return answerOf(409, "", json, errBody(409, "Activity already has a result"))
		},
			want{next: stepDone, class: outcome.ClassConflict, status: 409}},
		{"409 to a request with hard_override", sentWithHO, func() (*api.SubmitResponse, error) {
			return answerOf(409, "", json, errBody(409, "Activity already has a result"))
		},
			want{next: stepDone, class: outcome.ClassConflict, status: 409}},
		{"409 after a 5xx, policy never", unclear, func() (*api.SubmitResponse, error) {
			return answerOf(409, "", json, errBody(409, "Activity already has a result"))
		},
			want{next: stepVerify, status: 409, mayHaveStored: false}},
		{"409 after a dropped connection, policy always", unclearAlw, func() (*api.SubmitResponse, error) {
			return answerOf(409, "", json, errBody(409, "Activity already has a result"))
		},
			want{next: stepVerify, status: 409}},
		{"409 after an earlier run left it in doubt", ledgerOwn, func() (*api.SubmitResponse, error) {
			return answerOf(409, "", json, errBody(409, "Activity already has a result"))
		},
			want{next: stepVerify, status: 409}},

		// 429 and 5xx: retried; a 5xx may come after the write.
		{"429 with Retry-After seconds", fresh, func() (*api.SubmitResponse, error) {
			return answerOf(429, "120", json, errBody(429, "Too many requests"))
		},
			want{next: stepRetry, status: 429, retryAfter: 2 * time.Minute}},
		{"429 with Retry-After as an HTTP date", fresh, func() (*api.SubmitResponse, error) {
			return answerOf(429, in90s, json, errBody(429, "Too many requests"))
		},
			want{next: stepRetry, status: 429, retryAfter: 88 * time.Second}},
		{"429 without Retry-After", fresh, func() (*api.SubmitResponse, error) { return answerOf(429, "", json, errBody(429, "Too many requests")) },
			want{next: stepRetry, status: 429}},
		{"500", fresh, func() (*api.SubmitResponse, error) {
			return answerOf(500, "", json, errBody(500, "Internal server error"))
		},
			want{next: stepRetry, status: 500, mayHaveStored: true, message: "Internal server error"}},
		{"502", fresh, func() (*api.SubmitResponse, error) { return answerOf(502, "", json, errBody(502, "Bad gateway")) },
			want{next: stepRetry, status: 502, mayHaveStored: true}},
		{"503 with Retry-After", fresh, func() (*api.SubmitResponse, error) { return answerOf(503, "7", json, errBody(503, "Maintenance")) },
			want{next: stepRetry, status: 503, mayHaveStored: true, retryAfter: 7 * time.Second}},
		{"504 from a gateway", fresh, func() (*api.SubmitResponse, error) { return answerOf(504, "", json, errBody(504, "Gateway timeout")) },
			want{next: stepRetry, status: 504, mayHaveStored: true}},
		{"502 with a non-JSON body", fresh, func() (*api.SubmitResponse, error) {
			return answerOf(502, "", html, "<html><body><h1>502 Bad Gateway</h1> nginx</body></html>")
		}, want{next: stepRetry, status: 502, mayHaveStored: true, message: "<h1>502 Bad Gateway</h1> nginx"}},
		{"400 with a non-JSON body", fresh, func() (*api.SubmitResponse, error) { return answerOf(400, "", "text/plain", "bad request\n") },
			want{next: stepDone, class: outcome.ClassRejected, status: 400, message: "bad request"}},

		// No answer at all.
		{"timeout", fresh, func() (*api.SubmitResponse, error) { return nil, timeout },
			want{next: stepRetry, mayHaveStored: true, noAnswer: true, message: "deadline exceeded"}},
		{"connection reset", fresh, func() (*api.SubmitResponse, error) { return nil, reset },
			want{next: stepRetry, mayHaveStored: true, noAnswer: true}},
		{"connection refused: never sent", fresh, func() (*api.SubmitResponse, error) { return nil, refused },
			want{next: stepRetry, mayHaveStored: false, noAnswer: true, message: "refused"}},
		{"a key the client will not send", fresh, func() (*api.SubmitResponse, error) { return nil, &api.KeyError{Reason: "is empty"} },
			want{next: stepDone, class: outcome.ClassFailed, message: "API key is empty"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := tc.resp()
			v := classify(resp, err, tc.state)
			w := tc.want
			if v.next != w.next || (w.next == stepDone && v.class != w.class) || v.status != w.status ||
				v.mayHaveStored != w.mayHaveStored || v.noAnswer != w.noAnswer || v.refusedKey != w.refusedKey {
				t.Errorf("got %+v\nwant %+v", v, w)
			}
			if v.retryAfter < w.retryAfter || v.retryAfter > w.retryAfter+3*time.Second {
				t.Errorf("retryAfter %v, want %v", v.retryAfter, w.retryAfter)
			}
			if !strings.Contains(v.message, w.message) {
				t.Errorf("message %q, want it to hold %q", v.message, w.message)
			}
			if v.mayHaveStored && v.doubt == "" {
				t.Error("an answer that may hide a stored result does not say how")
			}
		})
	}
}

// TestJudgeStoredResult covers what reading the stored result back decides:
// after a 409 that followed an unclear attempt, and before sending with
// hard_override a payload an unclear attempt may have stored.
func TestJudgeStoredResult(t *testing.T) {
	req := &api.SubmitRequest{ActivityID: "a", CommerceExternalID: "C", OccurredAt: "2026-04-11T10:30:00.000Z", Status: api.StatusEffective,
		TaskResult: api.TaskResult{Result: "SALE_COMPLETED"}}
	ours := &api.Activity{ID: "a", Status: "COMPLETED", ResultStatus: api.StatusEffective, Result: "SALE_COMPLETED", OccurredAt: "2026-04-11T10:30:00Z"}
	theirs := &api.Activity{ID: "a", Status: "COMPLETED", ResultStatus: api.StatusNotEffective, Result: "NOT_INTERESTED", OccurredAt: "2026-04-12T09:00:00.000Z"}
	laterTime := &api.Activity{ID: "a", Status: "COMPLETED", ResultStatus: api.StatusEffective, Result: "SALE_COMPLETED", OccurredAt: "2026-04-11T10:31:00.000Z"}
	none := &api.Activity{ID: "a", Status: "PENDING", ResultStatus: api.StatusPending}
	statusOnly := &api.Activity{ID: "a", Status: "COMPLETED", ResultStatus: api.StatusEffective}
	for _, tc := range []struct {
		a    *api.Activity
		want match
	}{{ours, matchSame}, {theirs, matchDifferent}, {laterTime, matchDifferent}, {none, matchNone}, {statusOnly, matchUnknown}} {
		if got := compareStored(tc.a, req); got != tc.want {
			t.Errorf("compareStored(%+v) = %v, want %v", tc.a, got, tc.want)
		}
	}

	never := rowState{maybeStored: true, doubt: "answered 500 Internal Server Error"}
	always := rowState{maybeStored: true, doubt: "answered 500 Internal Server Error", mayOverride: true}
	replacing := rowState{maybeStored: true, doubt: "of an earlier run that got no clear answer", mayOverride: true, hardOverride: true, overriding: true}
	for _, tc := range []struct {
		name     string
		m        match
		a        *api.Activity
		st       rowState
		after409 bool
		next     step
		class    outcome.Class
		stored   bool // mayHaveStored
		settled  bool
		message  string
	}{
		{"ours after 409", matchSame, ours, never, true, stepDone, outcome.ClassOK, false, true, "409 taken as this row's own result: the API holds this row's values, stored by our earlier attempt (answered 500 Internal Server Error)"},
		{"ours after 409, policy always: not overridden", matchSame, ours, always, true, stepDone, outcome.ClassOK, false, true, "stored by our earlier attempt"},
		{"ours before an override", matchSame, ours, replacing, false, stepDone, outcome.ClassOverridden, false, true, "not sent again"},
		{"someone else's after 409, never", matchDifferent, theirs, never, true, stepDone, outcome.ClassConflict, false, true, "result NOT_INTERESTED, status NOT_EFFECTIVE"},
		{"someone else's after 409, always", matchDifferent, theirs, always, true, stepOverride, "", false, true, ""},
		{"someone else's before an override", matchDifferent, theirs, replacing, false, stepSend, "", false, true, ""},
		{"none after 409: the listing lags", matchNone, none, never, true, stepRetry, "", true, false, "lists no result"},
		{"none before an override", matchNone, none, replacing, false, stepSend, "", false, true, ""},
		{"too little shown", matchUnknown, statusOnly, always, true, stepDone, outcome.ClassFailed, true, false, "does not show enough"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := judge(tc.m, tc.a, tc.st, tc.after409)
			if v.next != tc.next || (tc.next == stepDone && v.class != tc.class) || v.mayHaveStored != tc.stored || v.settled != tc.settled || !strings.Contains(v.message, tc.message) {
				t.Errorf("got %+v", v)
			}
		})
	}
}

// TestCheckFailed: a stored result that cannot be read back leaves the row
// failed and in doubt, never ok and never overridden.
func TestCheckFailed(t *testing.T) {
	timeout, _, _ := noAnswers(t)
	st := rowState{maybeStored: true, doubt: "answered 500 Internal Server Error", mayOverride: true}
	forbidden := &api.Error{StatusCode: 403, Err: "Forbidden", Message: "Insufficient permissions", Method: "GET", Path: api.PathActivities}
	busy := &api.Error{StatusCode: 503, Err: "Service Unavailable", RetryAfter: 5 * time.Second, Method: "GET", Path: api.PathActivities}
	for _, tc := range []struct {
		name    string
		err     error
		next    step
		message string
	}{
		{"key without VIEW_ACTIVITIES", forbidden, stepDone, "the key lacks VIEW_ACTIVITIES"},
		{"503", busy, stepRetry, "503"},
		{"timeout", timeout, stepRetry, "deadline exceeded"},
		{"not listed", fmt.Errorf("activity a is not in the listing of commerce C's activities"), stepDone, "not in the listing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := checkFailed(tc.err, st)
			if v.next != tc.next || v.class != outcome.ClassFailed || !v.mayHaveStored || !strings.Contains(v.message, tc.message) {
				t.Errorf("got %+v", v)
			}
		})
	}
}
