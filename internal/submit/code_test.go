package submit

import (
	"errors"
	"testing"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/outcome"
)

// TestVerdictCodes: the code column of a sent row comes from what the answer
// was (its status, none, a doubt), whatever the API's message says.
func TestVerdictCodes(t *testing.T) {
	timeout, _, _ := noAnswers(t)
	const json = "application/json"
	unclear := rowState{maybeStored: true, doubt: "answered 500 Internal Server Error"}
	answer := func(status int, ct, body string) func() (*api.SubmitResponse, error) {
		return func() (*api.SubmitResponse, error) { return answerOf(status, "", ct, body) }
	}
	tests := []struct {
		name  string
		state rowState
		resp  func() (*api.SubmitResponse, error)
		want  outcome.Code
	}{
		{"201", rowState{}, answer(201, json, `{"id":"r-1"}`), ""},
		{"200 html", rowState{}, answer(200, "text/html", `<html></html>`), outcome.CodeNotResult},
		{"400", rowState{}, answer(400, json, errBody(400, "Activity already has a result")), "api_400"},
		{"401", rowState{}, answer(401, json, errBody(401, "x")), "api_401"},
		{"404", rowState{}, answer(404, json, errBody(404, "x")), "api_404"},
		{"409", rowState{}, answer(409, json, errBody(409, "x")), outcome.CodeConflict},
		{"429", rowState{}, answer(429, json, errBody(429, "x")), "api_429"},
		{"503", rowState{}, answer(503, json, errBody(503, "x")), "api_503"},
		{"503 after a 500", unclear, answer(503, json, errBody(503, "x")), "api_503"},
		{"timeout", rowState{}, func() (*api.SubmitResponse, error) { return nil, timeout }, outcome.CodeTransport},
		{"client refuses", rowState{}, func() (*api.SubmitResponse, error) { return nil, errors.New("redirected elsewhere") }, outcome.CodeNotSendable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := tt.resp()
			if got := classify(resp, err, tt.state).code(); got != tt.want {
				t.Errorf("code = %q, want %q", got, tt.want)
			}
		})
	}

	a := &api.Activity{Result: "SALE_COMPLETED"} // too little shown to tell
	if got := judge(matchUnknown, a, unclear, true).code(); got != outcome.CodeInDoubt {
		t.Errorf("a stored result the listing does not show enough of: code %q, want in_doubt", got)
	}
	if got := judge(matchNone, a, unclear, true).code(); got != outcome.CodeInDoubt {
		t.Errorf("a 409 the listing does not show yet: code %q, want in_doubt", got)
	}
	if got := judge(matchDifferent, a, unclear, true).code(); got != outcome.CodeConflict {
		t.Errorf("someone else's result: code %q, want conflict", got)
	}
}
