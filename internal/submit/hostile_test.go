package submit

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/validate"
)

// These tests meet the API at its worst: answers that are not results,
// results stored behind errors, waits too long to sit out, deadlines, and a
// shared ledger that refuses rows another worker holds.

func items(prefix string, n int) []validate.Item {
	var its []validate.Item
	for i := range n {
		its = append(its, item(fmt.Sprintf("%s%02d", prefix, i), i+2))
	}
	return its
}

// refusingLedger is a memLedger shared with another worker that holds a
// claim on every activity whose key starts with "claimed".
type refusingLedger struct {
	memLedger
	finished []string
}

const claim = "being sent by worker w2 (pid 4242 on host cron-2) since 2026-11-25T10:30:00Z"

func (l *refusingLedger) Begin(ctx context.Context, intents []LedgerIntent) error {
	var mine []LedgerIntent
	for i := range intents {
		if strings.HasPrefix(intents[i].Req.ActivityKey(), "claimed") {
			intents[i].Refused = claim
			continue
		}
		mine = append(mine, intents[i])
	}
	return l.memLedger.Begin(ctx, mine)
}

func (l *refusingLedger) Finish(ctx context.Context, done []LedgerDone) error {
	l.mu.Lock()
	for _, d := range done {
		l.finished = append(l.finished, d.Req.ActivityKey())
	}
	l.mu.Unlock()
	return l.memLedger.Finish(ctx, done)
}

func TestSubmitLedgerRefusesClaimedRows(t *testing.T) {
	f := newFakeAPI(t)
	l := &refusingLedger{memLedger: memLedger{entries: map[string]*memEntry{}}}
	s := fastSubmitter(f)
	s.Ledger = l
	rows := append(items("claimed", 5), items("free", 5)...)
	got, st, err := collect(t, context.Background(), s, rows)
	if err != nil || st.Stopped != "" {
		t.Fatalf("refused rows stopped the run: %v %q", err, st.Stopped)
	}
	for k, o := range got {
		claimed := strings.HasPrefix(k, "claimed")
		switch {
		case claimed && (o.Class != outcome.ClassSkipped || o.Message != claim || o.Attempts != 0 || f.count(k) != 0):
			t.Errorf("%s: %+v, %d requests; want skipped with the ledger's message, never sent", k, o, f.count(k))
		case !claimed && o.Class != outcome.ClassOK:
			t.Errorf("%s: %+v", k, o)
		}
	}
	if slices.ContainsFunc(l.finished, func(k string) bool { return strings.HasPrefix(k, "claimed") }) || len(l.finished) != 5 {
		t.Errorf("Finish was told of %v; want only the rows it recorded", l.finished)
	}
}

// TestSubmitMaxWait: a Retry-After longer than MaxWait stops the run rather
// than leave it idle: every row not sent is skipped and Run says why.
func TestSubmitMaxWait(t *testing.T) {
	for name, retryAfter := range map[string]func() string{
		"seconds":   func() string { return "3600" },
		"HTTP date": func() string { return time.Now().Add(time.Hour).UTC().Format(http.TimeFormat) },
	} {
		t.Run(name, func(t *testing.T) {
			f := newFakeAPI(t)
			f.fault = func(api.SubmitRequest, int) fakeAnswer { return fakeAnswer{status: 429, retryAfter: retryAfter()} }
			var logs logRecords
			s := fastSubmitter(f)
			s.Concurrency, s.Logger = 2, slog.New(&logs)
			got, st, err := collect(t, context.Background(), s, items("a", 20))
			var we *WaitError
			if !errors.As(err, &we) || we.Wait < 59*time.Minute || we.Wait > time.Hour || we.MaxWait != DefaultMaxWait {
				t.Fatalf("Run returned %v, want a WaitError of about 1h", err)
			}
			if n := f.total(); n > 2 {
				t.Errorf("%d requests after a 1h Retry-After; at most the 2 in flight", n)
			}
			want := fmt.Sprintf("the API asked to wait %v; run again later", we.Wait)
			for k, o := range got {
				if o.Class != outcome.ClassSkipped || !strings.Contains(o.Message, want) {
					t.Errorf("%s: %s %q, want skipped saying %q", k, o.Class, o.Message, want)
				}
			}
			if st.Counts[outcome.ClassSkipped] != 20 || !strings.Contains(st.Stopped, "asked to wait") {
				t.Errorf("stats %+v", st)
			}
			if !logs.has(slog.LevelWarn, "stopping the run", "asked to wait") {
				t.Errorf("the stop is not logged: %v", logs.all())
			}
		})
	}
}

// TestRetryMaxWait: the other calls of a run (downloading the result types)
// do not sit out a long Retry-After either.
func TestRetryMaxWait(t *testing.T) {
	calls := 0
	s := &Submitter{Retries: 3, MaxWait: time.Minute}
	err := s.Retry(context.Background(), func(context.Context) error {
		calls++
		return &api.Error{StatusCode: 503, Err: "Service Unavailable", RetryAfter: 10 * time.Minute, Method: "GET", Path: api.PathConfigs}
	})
	var we *WaitError
	if !errors.As(err, &we) || we.Wait != 10*time.Minute || calls != 1 {
		t.Errorf("got %v after %d calls, want a WaitError after 1", err, calls)
	}
}

// TestSubmitLogsEveryWait: a cron log never sits silent: each wait is logged
// at info with its reason and length.
func TestSubmitLogsEveryWait(t *testing.T) {
	f := newFakeAPI(t)
	f.fault = func(req api.SubmitRequest, n int) fakeAnswer {
		switch {
		case req.ActivityID == "busy" && n == 1:
			return fakeAnswer{status: 503, retryAfter: "1"}
		case req.ActivityID == "flaky" && n == 1:
			return fakeAnswer{status: 500}
		}
		return fakeAnswer{}
	}
	var logs logRecords
	s := fastSubmitter(f)
	s.Logger = slog.New(&logs)
	if _, _, err := collect(t, context.Background(), s, []validate.Item{item("busy", 2), item("flaky", 3)}); err != nil {
		t.Fatal(err)
	}
	if !logs.has(slog.LevelInfo, "the API asked to wait: holding every request", "wait=1s", "row 2", "503") {
		t.Errorf("the Retry-After wait is not logged: %v", logs.all())
	}
	if !logs.has(slog.LevelInfo, "waiting before trying again", "wait=", "row 3", "500") {
		t.Errorf("the backoff is not logged: %v", logs.all())
	}
}

// TestSubmitDeadline: when the deadline passes, dispatching stops, the
// requests in flight finish, and the rest are skipped.
func TestSubmitDeadline(t *testing.T) {
	for _, tc := range []struct {
		name string
		rate float64
		ctx  bool // the deadline is the ctx's, not the Submitter's
	}{{"Deadline", 0, false}, {"ctx deadline", 0, true}, {"under a rate", 40, false}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t)
			f.fault = func(api.SubmitRequest, int) fakeAnswer {
				time.Sleep(20 * time.Millisecond)
				return fakeAnswer{}
			}
			sent := &sendTimes{next: http.DefaultTransport}
			s := fastSubmitter(f)
			s.Client.HTTPClient = &http.Client{Transport: sent}
			s.Concurrency, s.Rate = 2, tc.rate
			deadline := time.Now().Add(300 * time.Millisecond)
			ctx := context.Background()
			if tc.ctx {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, deadline)
				defer cancel()
			} else {
				s.Deadline = deadline
			}
			got, st, err := collect(t, ctx, s, items("a", 200))
			var de *DeadlineError
			if !errors.As(err, &de) || !errors.Is(err, context.DeadlineExceeded) || !de.Deadline.Equal(deadline) {
				t.Fatalf("Run returned %v, want a DeadlineError", err)
			}
			n := f.total()
			if n == 0 || st.Counts[outcome.ClassOK] != n || st.Counts[outcome.ClassSkipped] != 200-n || de.Unsent != 200-n {
				t.Errorf("%d sent, counts %v, unsent %d: the rows in flight must finish, the rest be skipped", n, st.Counts, de.Unsent)
			}
			// The deadline is checked just before each request goes out.
			for _, at := range sent.all() {
				if at.After(deadline.Add(10 * time.Millisecond)) {
					t.Errorf("a request went out %v after the deadline", at.Sub(deadline))
				}
			}
			for k, o := range got {
				if o.Class == outcome.ClassSkipped && o.Message != deadlineReason {
					t.Errorf("%s: %q", k, o.Message)
				}
			}
		})
	}
}

// TestSubmitNotAResult: a 2xx that is not a result is never ok. Nothing
// stored behind it: the row fails in doubt, and is sent again next time.
// Stored behind it: the retry's 409 is read back, and the row is ok.
func TestSubmitNotAResult(t *testing.T) {
	f := newFakeAPI(t)
	page := fakeAnswer{status: 200, contentType: "text/html; charset=utf-8", body: "<html><body>Guest network: please sign in</body></html>"}
	f.fault = func(req api.SubmitRequest, n int) fakeAnswer {
		switch {
		case strings.HasPrefix(req.ActivityID, "portal"):
			return page
		case req.ActivityID == "proxied" && n == 1:
			p := page
			p.afterStore = true
			return p
		case req.ActivityID == "garbage" && n == 1:
			return fakeAnswer{status: 201, contentType: "application/json", body: `{"ok":`}
		}
		return fakeAnswer{}
	}
	l := &memLedger{entries: map[string]*memEntry{}}
	s := fastSubmitter(f)
	s.Ledger, s.Retries = l, 2
	got, _, err := collect(t, context.Background(), s, []validate.Item{item("portal", 2), item("proxied", 3), item("garbage", 4)})
	if err != nil {
		t.Fatal(err)
	}
	if o := got["portal"]; o.Class != outcome.ClassFailed || o.HTTPStatus != 200 || o.Attempts != 3 ||
		!strings.Contains(o.Message, "the API answered 200 but not with a result: a proxy or gateway in the way?") || f.storedN("portal") != 0 {
		t.Errorf("portal: %+v", o)
	}
	if e := l.entry("portal"); !e.inDoubt || e.accepted {
		t.Errorf("portal recorded %+v, want in doubt", e)
	}
	if o := got["proxied"]; o.Class != outcome.ClassOK || o.Attempts != 2 || !strings.Contains(o.Message, "stored by our earlier attempt (answered 200 but not with a result)") || f.storedN("proxied") != 1 {
		t.Errorf("proxied: %+v", o)
	}
	if o := got["garbage"]; o.Class != outcome.ClassOK || o.Attempts != 2 || o.ResultID != "res-garbage" {
		t.Errorf("garbage: %+v", o)
	}

	// The proxy is gone: the row in doubt is sent again and accepted.
	f.fault = nil
	got, _, err = collect(t, context.Background(), s, []validate.Item{item("portal", 2)})
	if o := got["portal"]; err != nil || o.Class != outcome.ClassOK || o.HTTPStatus != 201 || f.storedN("portal") != 1 {
		t.Errorf("next run: %+v %v", o, err)
	}
}

// TestSubmitOverrideNotOnTopOfOurOwn: a row sent with hard_override whose
// attempt may have stored it is read back before it is sent again: sending
// it would store it twice.
func TestSubmitOverrideNotOnTopOfOurOwn(t *testing.T) {
	f := newFakeAPI(t)
	f.stored["asks"], f.stored["other"] = 1, 1 // someone else's results
	f.fault = func(req api.SubmitRequest, n int) fakeAnswer {
		switch {
		case req.ActivityID == "asks" && n == 1:
			return fakeAnswer{afterStore: true, status: 502}
		case req.ActivityID == "other" && n == 1:
			return fakeAnswer{status: 502}
		}
		return fakeAnswer{}
	}
	asks, other := item("asks", 2), item("other", 3)
	asks.Override, other.Override = true, true
	s := fastSubmitter(f)
	s.Policy = OverrideRow
	got, _, err := collect(t, context.Background(), s, []validate.Item{asks, other})
	if err != nil {
		t.Fatal(err)
	}
	if o := got["asks"]; o.Class != outcome.ClassOK || o.Attempts != 1 || f.storedN("asks") != 2 || !strings.Contains(o.Message, "not sent again: the API holds this row's values") {
		t.Errorf("asks: %+v, stored %d times (once someone else's, once ours)", o, f.storedN("asks"))
	}
	// Read back: someone else's result; the override goes ahead.
	if o := got["other"]; o.Class != outcome.ClassOK || o.Attempts != 2 || f.storedN("other") != 2 || !f.request("other", 1).HardOverride {
		t.Errorf("other: %+v", o)
	}
	if f.lists != 2 {
		t.Errorf("%d reads of stored results, want 2", f.lists)
	}
}

// TestSubmitCheckFails: a 409 after an unclear attempt whose stored result
// cannot be read is failed and in doubt, never ok, never overridden.
func TestSubmitCheckFails(t *testing.T) {
	for _, tc := range []struct {
		name    string
		list    fakeAnswer
		message string
	}{
		{"no VIEW_ACTIVITIES", fakeAnswer{status: 403}, "the key lacks VIEW_ACTIVITIES"},
		{"listing down", fakeAnswer{status: 503}, "checking the stored result failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t)
			f.fault = func(req api.SubmitRequest, n int) fakeAnswer {
				if n == 1 {
					return fakeAnswer{afterStore: true, status: 500}
				}
				return fakeAnswer{}
			}
			f.listFault = func() fakeAnswer { return tc.list }
			l := &memLedger{entries: map[string]*memEntry{}}
			s := fastSubmitter(f)
			s.Ledger, s.Policy, s.Retries = l, OverrideAlways, 2
			got, _, err := collect(t, context.Background(), s, []validate.Item{item("a", 2)})
			if err != nil {
				t.Fatalf("a listing refused to the key stopped the run: %v", err)
			}
			if o := got["a"]; o.Class != outcome.ClassFailed || !strings.Contains(o.Message, tc.message) || f.storedN("a") != 1 {
				t.Errorf("%+v, stored %d times", o, f.storedN("a"))
			}
			if f.count("a") != 2 {
				t.Errorf("%d submissions; a failed check must be read again, not sent again", f.count("a"))
			}
			if e := l.entry("a"); !e.inDoubt || e.accepted {
				t.Errorf("recorded %+v, want in doubt", e)
			}
		})
	}
}

// TestSubmitDrivenByHandler runs the engine as a web console would: from a
// handler, progress streamed through emit, stopped by the request's context
// when the browser goes away.
func TestSubmitDrivenByHandler(t *testing.T) {
	f := newFakeAPI(t)
	f.fault = func(api.SubmitRequest, int) fakeAnswer {
		time.Sleep(5 * time.Millisecond)
		return fakeAnswer{}
	}
	type result struct {
		st  Stats
		err error
	}
	ran := make(chan result, 1)
	console := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := &Submitter{Client: f.client(), Concurrency: 2}
		enc := json.NewEncoder(w)
		st, err := s.Run(r.Context(), slices.Values(items("a", 200)), func(o outcome.Outcome) {
			enc.Encode(map[string]string{"row": o.Row.Cells[0], "class": string(o.Class)})
			w.(http.Flusher).Flush()
		})
		ran <- result{st, err}
	}))
	defer console.Close()
	ctx, leave := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, console.URL, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(resp.Body)
	for i := 0; i < 5 && lines.Scan(); i++ {
		var o map[string]string
		if err := json.Unmarshal(lines.Bytes(), &o); err != nil || o["class"] != "ok" {
			t.Errorf("progress line %q: %v", lines.Text(), err)
		}
	}
	leave() // the browser closes the tab
	resp.Body.Close()
	res := <-ran
	if !errors.Is(res.err, context.Canceled) || res.st.Rows != 200 || res.st.Counts[outcome.ClassSkipped] == 0 {
		t.Errorf("the run went on after the page left: %v %+v", res.err, res.st)
	}
	if n := f.total(); n >= 200 {
		t.Errorf("%d of 200 rows sent", n)
	}
}

// sendTimes is a RoundTripper that notes when each request goes out.
type sendTimes struct {
	next http.RoundTripper
	mu   sync.Mutex
	at   []time.Time
}

func (s *sendTimes) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.at = append(s.at, time.Now())
	s.mu.Unlock()
	return s.next.RoundTrip(r)
}

func (s *sendTimes) all() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.at)
}

// logRecords is a slog.Handler that keeps every record as text.
type logRecords struct {
	mu  sync.Mutex
	got []string
}

func (l *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	l.mu.Lock()
	l.got = append(l.got, b.String())
	l.mu.Unlock()
	return nil
}
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecords) WithGroup(string) slog.Handler      { return l }

func (l *logRecords) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.got)
}

// has says whether a record of level holds every part.
func (l *logRecords) has(level slog.Level, parts ...string) bool {
	for _, rec := range l.all() {
		if !strings.HasPrefix(rec, level.String()+" ") {
			continue
		}
		if !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(rec, p) }) {
			return true
		}
	}
	return false
}
