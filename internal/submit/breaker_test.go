package submit

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestBreaker(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 3, 14, 15, 0, time.Local)
	lost := errors.New("POST /x: context deadline exceeded")
	for _, tc := range []struct {
		name  string
		fates string // per request: x got no answer, o got one
		trips int    // the request (1-based) that trips it; 0: none
		want  string
	}{
		{"ten in a row", "oooxxxxxxxxxx", 13, "since 03:14:18 (10 requests in a row got no answer)"},
		{"nine in a row, between answers", strings.Repeat("xxxxxxxxxooooo", 4), 0, ""},
		{"four in five of the last twenty", "xxxxoxxxxoxxxxoxxxxo" + "xxxxo", 19, "since 03:14:15 (16 of the last 20 requests got no answer)"},
		{"three in four", strings.Repeat("xxxo", 10), 0, ""},
		{"answers only", strings.Repeat("o", 50), 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := breaker{limit: 10}
			tripped := 0
			for i, c := range tc.fates {
				ue := b.record(c == 'x', t0.Add(time.Duration(i)*time.Second), lost)
				if ue == nil {
					continue
				}
				if tripped != 0 {
					t.Fatalf("tripped twice, at %d and %d", tripped, i+1)
				}
				tripped = i + 1
				if !strings.Contains(ue.reason(), tc.want) || !errors.Is(ue, lost) || !strings.HasPrefix(ue.reason(), "not sent: API unreachable since ") {
					t.Errorf("reason %q, error %v; want %q", ue.reason(), ue, tc.want)
				}
			}
			if tripped != tc.trips {
				t.Errorf("tripped at request %d, want %d", tripped, tc.trips)
			}
		})
	}
}
