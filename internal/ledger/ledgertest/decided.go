package ledgertest

import (
	"strings"
	"testing"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/ledger"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/submit"
)

// The behaviours of decided refusals: a request that got a final 4xx or
// 409 is not sent again unchanged, by any store.

// finishAnswer records that req got the API's answer status with message,
// ending in class.
func finishAnswer(t *testing.T, r *ledger.Run, req *api.SubmitRequest, class string, status int, message string, inDoubt bool) {
	t.Helper()
	o := outcome.Outcome{Class: outcome.Class(class), HTTPStatus: status, Message: message, Attempts: 1}
	if err := r.Finish(ctx, []submit.LedgerDone{{Req: req, Outcome: o, InDoubt: inDoubt}}); err != nil {
		t.Fatal(err)
	}
}

// decidedRefusals: which earlier answers make the same request decided.
func decidedRefusals(t *testing.T, st Stores) {
	for _, tc := range []struct {
		name     string
		class    string
		status   int
		inDoubt  bool
		override bool // the rerun's request carries hard_override; the first did not
		want     submit.LedgerVerdict
	}{
		{"400 bad request", "rejected", 400, false, false, submit.LedgerDecided},
		{"404 unknown activity", "rejected", 404, false, false, submit.LedgerDecided},
		{"422", "rejected", 422, false, false, submit.LedgerDecided},
		{"409 conflict", "conflict", 409, false, false, submit.LedgerDecided},
		{"401 refused key", "rejected", 401, false, false, submit.LedgerSend},
		{"403 missing permission", "rejected", 403, false, false, submit.LedgerSend},
		{"429 too many requests", "failed", 429, false, false, submit.LedgerSend},
		{"429 that ended rejected", "rejected", 429, false, false, submit.LedgerSend},
		{"500", "failed", 500, true, false, submit.LedgerSend},
		{"timeout", "failed", 0, true, false, submit.LedgerSend},
		{"skipped by the breaker", "skipped", 0, false, false, submit.LedgerSend},
		{"404, now with hard_override", "rejected", 404, false, true, submit.LedgerSend},
		{"409, now with hard_override", "conflict", 409, false, true, submit.LedgerSend},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := st.New(t)
			req := request("A1", "x")
			r1 := &ledger.Run{Store: s, ID: "r1"}
			begin(t, r1, req)
			finishAnswer(t, r1, req, tc.class, tc.status, "the API's words", tc.inDoubt)
			again := request("A1", "x")
			again.HardOverride = tc.override
			cs := check(t, &ledger.Run{Store: s, ID: "r2"}, again, request("A1", "fixed"))
			c := cs[0]
			if c.Verdict != tc.want {
				t.Fatalf("same request after %s: verdict %d, want %d (%+v)", tc.name, c.Verdict, tc.want, c)
			}
			if cs[1].Verdict != submit.LedgerSend {
				t.Errorf("a changed row after %s: verdict %d, want Send", tc.name, cs[1].Verdict)
			}
			if forced := check(t, &ledger.Run{Store: s, ID: "r3", Force: true}, request("A1", "x"))[0]; forced.Verdict != submit.LedgerSend {
				t.Errorf("--force after %s: verdict %d, want Send", tc.name, forced.Verdict)
			}
			if tc.want != submit.LedgerDecided {
				return
			}
			if string(c.Class) != tc.class || c.Status != tc.status {
				t.Errorf("decided as %s %d, want %s %d", c.Class, c.Status, tc.class, tc.status)
			}
			for _, part := range []string{"unchanged since ", "(run r1): the API's words; fix the row, or pass --force / --hard-override"} {
				if !strings.Contains(c.Message, part) {
					t.Errorf("message %q lacks %q", c.Message, part)
				}
			}
		})
	}
}

// decidedThenResent: the latest answer to the request is the one that
// counts, so a forced resend that failed for now opens it again.
func decidedThenResent(t *testing.T, st Stores) {
	s := st.New(t)
	req := request("A1", "x")
	r1 := &ledger.Run{Store: s, ID: "r1"}
	begin(t, r1, req)
	finishAnswer(t, r1, req, "rejected", 404, "Activity not found", false)
	r2 := &ledger.Run{Store: s, ID: "r2", Force: true}
	begin(t, r2, req)
	finishAnswer(t, r2, req, "failed", 503, "Service Unavailable", true)
	if c := check(t, &ledger.Run{Store: s, ID: "r3"}, request("A1", "x"))[0]; c.Verdict != submit.LedgerSend {
		t.Errorf("after a 404 then a 503: verdict %d, want Send", c.Verdict)
	}
	r4 := &ledger.Run{Store: s, ID: "r4"}
	begin(t, r4, req)
	finishAnswer(t, r4, req, "rejected", 404, "Activity not found", false)
	if c := check(t, &ledger.Run{Store: s, ID: "r5"}, request("A1", "x"))[0]; c.Verdict != submit.LedgerDecided || !strings.Contains(c.Message, "(run r4)") {
		t.Errorf("after a 404 again: %+v, want Decided naming run r4", c)
	}
}
