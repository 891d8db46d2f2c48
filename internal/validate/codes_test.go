package validate

import (
	"slices"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/outcome"
)

// TestProblemCodes pins the code each rule gives its problem: the report's
// code column, which scripts filter on, comes from here and nowhere else.
func TestProblemCodes(t *testing.T) {
	tests := []struct {
		name   string
		change map[string]string
		codes  []outcome.Code // every problem's, in column order
	}{
		{"valid", nil, nil},
		{"both ids empty", map[string]string{"activity_id": ""}, []outcome.Code{outcome.CodeMissingField}},
		{"not a uuid", map[string]string{"activity_id": "12345"}, []outcome.Code{outcome.CodeNotUUID}},
		{"id in scientific notation", map[string]string{"activity_id": "", "provider_activity_id": "1.23457E+11"}, []outcome.Code{outcome.CodeExcelNumber}},
		{"commerce empty", map[string]string{"Comercio": ""}, []outcome.Code{outcome.CodeMissingField}},
		{"occurred_at empty", map[string]string{"occurred_at": ""}, []outcome.Code{outcome.CodeMissingField}},
		{"occurred_at not a date", map[string]string{"occurred_at": "ayer"}, []outcome.Code{outcome.CodeBadDate}},
		{"occurred_at ambiguous", map[string]string{"occurred_at": "11/04/2026"}, []outcome.Code{outcome.CodeAmbiguousDate}},
		{"status unknown", map[string]string{"status": "DONE"}, []outcome.Code{outcome.CodeBadStatus}},
		{"status empty", map[string]string{"status": ""}, []outcome.Code{outcome.CodeMissingField}},
		{"contact type", map[string]string{"contact_type": "fax"}, []outcome.Code{outcome.CodeBadContactType}},
		{"result unknown", map[string]string{"Resultado": "VISITED"}, []outcome.Code{outcome.CodeUnknownResult}},
		{"result empty", map[string]string{"Resultado": ""}, []outcome.Code{outcome.CodeMissingField}},
		{"future missing", map[string]string{"Resultado": "RESCHEDULE"}, []outcome.Code{outcome.CodeFutureRequired}},
		{"future past", map[string]string{"Resultado": "RESCHEDULE", "future_scheduled_at": "2026-11-25T11:00:00Z"}, []outcome.Code{outcome.CodeNotFuture}},
		{"future not allowed", map[string]string{"future_scheduled_at": "2030-01-15T09:00:00Z"}, []outcome.Code{outcome.CodeFutureNotAllowed}},
		{"override unreadable", map[string]string{"hard_override": "maybe"}, []outcome.Code{outcome.CodeBadBoolean}},
		{"payload", map[string]string{"payload": "[1]"}, []outcome.Code{outcome.CodeBadJSON}},
		{"several", map[string]string{"activity_id": "nope", "Comercio": "", "status": "OK"},
			[]outcome.Code{outcome.CodeNotUUID, outcome.CodeMissingField, outcome.CodeBadStatus}},
	}
	cat := tenantCatalogue(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := checkChanged(t, cat, tt.change)
			var got []outcome.Code
			for _, p := range it.Problems {
				got = append(got, p.Code)
			}
			if !slices.Equal(got, tt.codes) {
				t.Fatalf("codes = %q, want %q (problems %v)", got, tt.codes, it.Problems)
			}
			o, offline := it.Offline()
			switch {
			case len(tt.codes) == 0 && offline:
				t.Errorf("a valid row is offline: %+v", o)
			case len(tt.codes) > 0 && o.Code != tt.codes[0]:
				t.Errorf("outcome code = %q, want the first problem's, %q", o.Code, tt.codes[0])
			}
		})
	}
}

func TestDuplicateCode(t *testing.T) {
	rows := readRows(t, validRow(), validRow())
	v := NewValidator(tenantCatalogue(t), func() time.Time { return testNow })
	v.Check(rows[0])
	it := v.Check(rows[1])
	o, offline := it.Offline()
	if !offline || o.Class != outcome.ClassSkipped || o.Code != outcome.CodeDuplicateInFile {
		t.Fatalf("second copy: %+v, offline %v", o, offline)
	}
}
