package ledger

import (
	"strings"
	"testing"
	"time"
)

var day1 = time.Date(2026, 11, 24, 22, 0, 0, 0, time.UTC)

func att(run, hash string, o *Outcome) Attempt {
	return Attempt{Activity: "A1", Hash: hash, Run: run, File: "export.csv", Row: 7, Outcome: o}
}

func worker(a Attempt, w string) Attempt { a.Worker = w; return a }

func out(class string) *Outcome { return &Outcome{Class: class, Finished: day1} }

func answer(class string, status int) *Outcome {
	return &Outcome{Class: class, Status: status, Finished: day1}
}

func overriding(a Attempt) Attempt { a.Override = true; return a }

func TestEntryCheck(t *testing.T) {
	tests := []struct {
		name     string
		attempts []Attempt
		hash     string
		want     Verdict
		wantRun  string
	}{
		{"never sent", nil, "h1", Send, ""},
		{"accepted same payload", []Attempt{att("r1", "h1", out("ok"))}, "h1", Duplicate, "r1"},
		{"overridden same payload", []Attempt{att("r1", "h1", out("overridden"))}, "h1", Duplicate, "r1"},
		{"accepted other payload", []Attempt{att("r1", "h1", out("ok"))}, "h2", Changed, "r1"},
		{"failed before", []Attempt{att("r1", "h1", out("failed"))}, "h1", Send, ""},
		{"rejected before, no status", []Attempt{att("r1", "h1", out("rejected"))}, "h1", Send, ""},
		{"404 before", []Attempt{att("r1", "h1", answer("rejected", 404))}, "h1", Decided, "r1"},
		{"400 before", []Attempt{att("r1", "h1", answer("rejected", 400))}, "h1", Decided, "r1"},
		{"404 before, other payload", []Attempt{att("r1", "h1", answer("rejected", 404))}, "h2", Send, ""},
		{"404 before with override", []Attempt{overriding(att("r1", "h1", answer("rejected", 404)))}, "h1", Send, ""},
		{"401 before", []Attempt{att("r1", "h1", answer("rejected", 401))}, "h1", Send, ""},
		{"403 before", []Attempt{att("r1", "h1", answer("rejected", 403))}, "h1", Send, ""},
		{"429 before", []Attempt{att("r1", "h1", answer("rejected", 429))}, "h1", Send, ""},
		{"503 before", []Attempt{att("r1", "h1", answer("failed", 503))}, "h1", Send, ""},
		{"conflict before", []Attempt{att("r1", "h1", answer("conflict", 409))}, "h1", Decided, "r1"},
		{"conflict then killed in flight", []Attempt{att("r1", "h1", answer("conflict", 409)), att("r2", "h1", nil)}, "h1", Send, ""},
		{"conflict then other payload failed", []Attempt{att("r1", "h1", answer("conflict", 409)), att("r2", "h2", out("failed"))}, "h1", Decided, "r1"},
		{"in flight when killed", []Attempt{att("r1", "h1", nil)}, "h1", Send, ""},
		{"latest accepted wins", []Attempt{att("r1", "h1", out("ok")), att("r2", "h2", out("overridden"))}, "h2", Duplicate, "r2"},
		{"edit after override", []Attempt{att("r1", "h1", out("ok")), att("r2", "h2", out("overridden"))}, "h1", Changed, "r2"},
		{"accepted then failed resend", []Attempt{att("r1", "h1", out("ok")), att("r2", "h2", out("failed"))}, "h2", Changed, "r1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := Entry{Activity: "A1", Attempts: tt.attempts}
			got, acc := e.Check(tt.hash, false)
			if got != tt.want {
				t.Fatalf("verdict %d, want %d", got, tt.want)
			}
			if (acc == nil) != (tt.wantRun == "") || (acc != nil && acc.Run != tt.wantRun) {
				t.Fatalf("accepted attempt %+v, want run %q", acc, tt.wantRun)
			}
		})
	}
}

func TestEntryUnsettled(t *testing.T) {
	tests := []struct {
		name     string
		attempts []Attempt
		hash     string
		wantRun  string
		worker   string // the caller's, in a shared store
	}{
		{"never sent", nil, "h1", "", ""},
		{"killed in flight, same payload", []Attempt{att("r1", "h1", nil)}, "h1", "r1", ""},
		{"failed in doubt, same payload", []Attempt{att("r1", "h1", &Outcome{Class: "failed", InDoubt: true})}, "h1", "r1", ""},
		{"failed before sending is settled", []Attempt{att("r1", "h1", out("failed"))}, "h1", "", ""},
		{"killed in flight, other payload", []Attempt{att("r1", "h1", nil)}, "h2", "", ""},
		{"rejected is settled", []Attempt{att("r1", "h1", out("rejected"))}, "h1", "", ""},
		{"conflict is settled", []Attempt{att("r1", "h1", out("conflict"))}, "h1", "", ""},
		{"own run does not count", []Attempt{att("r2", "h1", nil)}, "h1", "", ""},
		{"earlier run counts beside own", []Attempt{att("r1", "h1", nil), att("r2", "h1", nil)}, "h1", "r1", ""},
		{"another worker of own run counts", []Attempt{worker(att("r2", "h1", nil), "w1")}, "h1", "r2", "w2"},
		{"own worker of own run does not count", []Attempt{worker(att("r2", "h1", nil), "w2")}, "h1", "", "w2"},
		{"a worker's attempt in another run counts", []Attempt{worker(att("r1", "h1", nil), "w2")}, "h1", "r1", "w2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := Entry{Activity: "A1", Attempts: tt.attempts}
			got := e.Unsettled(tt.hash, "r2", tt.worker)
			if (got == nil) != (tt.wantRun == "") || (got != nil && got.Run != tt.wantRun) {
				t.Fatalf("unsettled %+v, want run %q", got, tt.wantRun)
			}
		})
	}
}

func TestMessages(t *testing.T) {
	a := att("20261124T220000Z-aa11", "h1", out("ok"))
	a.Sheet = "Junio"
	for _, msg := range []string{DuplicateMessage(&a), ChangedMessage(&a), OwnConflictMessage(&a)} {
		if !strings.Contains(msg, `export.csv, sheet "Junio", row 7`) {
			t.Errorf("%q does not say where the earlier row was", msg)
		}
	}
	if m := DuplicateMessage(&a); !strings.Contains(m, "2026-11-24") {
		t.Errorf("%q does not give the date", m)
	}
	if m := ChangedMessage(&a); !strings.Contains(m, "--hard-override") {
		t.Errorf("%q does not say what to do", m)
	}
}
