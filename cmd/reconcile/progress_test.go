package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/outcome"
)

// With the number of rows known, the bar shows the count of the total and
// a percentage; without it, a spinner and the count only.
func TestProgressBarTotal(t *testing.T) {
	for _, tc := range []struct {
		name     string
		total    int
		want     []string
		wantNone string
	}{
		{"known", 200, []string{"/200", "%"}, ""},
		{"unknown", 0, []string{"50"}, "%"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr syncBuffer
			p := newProgress(&environ{stdout: &bytes.Buffer{}, stderr: &stderr, getenv: func(string) string { return "" }, stderrIsTerminal: true})
			if tc.total > 0 {
				p.Total(tc.total)
			}
			for range 50 {
				p.Read()
				p.Done(&outcome.Outcome{Class: outcome.ClassOK})
			}
			time.Sleep(450 * time.Millisecond) // two ticks of the bar
			out := stderr.String()
			p.finish()
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("bar lacks %q: %q", w, out)
				}
			}
			if tc.wantNone != "" && strings.Contains(out, tc.wantNone) {
				t.Errorf("a bar without a total shows %q: %q", tc.wantNone, out)
			}
		})
	}
}
