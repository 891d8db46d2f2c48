package submit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/validate"
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

// TestBreakerNone: a run too short to trip the breaker whose requests all
// went unanswered is as unreachable as one that trips it; one answer, or
// none sent at all, is not.
func TestBreakerNone(t *testing.T) {
	lost := errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
	for _, tc := range []struct {
		fates string
		want  bool
	}{
		{"", false},
		{"x", true},
		{"xxx", true},
		{"xxo", false},
		{"oxx", false},
		{"xxxxxxxxxx", false}, // tripped: the run has its error already
	} {
		b := breaker{limit: 10}
		for _, c := range tc.fates {
			b.record(c == 'x', time.Now(), lost)
		}
		ue := b.none()
		if (ue != nil) != tc.want {
			t.Errorf("%q: %v, want an error: %v", tc.fates, ue, tc.want)
			continue
		}
		if ue != nil && (ue.Failures != len(tc.fates) || ue.Of != len(tc.fates) || !errors.Is(ue, lost)) {
			t.Errorf("%q: %+v", tc.fates, ue)
		}
	}
}

// TestSubmitEveryRequestUnanswered: three rows, no answer to any request:
// Run says the API is unreachable, the rows stay failed (for retry).
func TestSubmitEveryRequestUnanswered(t *testing.T) {
	f := newFakeAPI(t)
	f.fault = func(api.SubmitRequest, int) fakeAnswer { return fakeAnswer{drop: true} }
	s := fastSubmitter(f)
	s.Retries = 1
	got, _, err := collect(t, context.Background(), s, []validate.Item{item("a", 2), item("b", 3), item("c", 4)})
	var ue *UnreachableError
	if !errors.As(err, &ue) || ue.Failures != 6 {
		t.Fatalf("error %v, want an *UnreachableError of 6 requests", err)
	}
	for key, o := range got {
		if o.Class != outcome.ClassFailed {
			t.Errorf("%s: %s, want failed", key, o.Class)
		}
	}
}
