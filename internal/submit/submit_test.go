package submit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/validate"
)

// fakeAPI is a small stand-in for the API: the submit endpoint stores one
// result per activity (409 on a second one without hard_override), and the
// listing shows each activity's stored result. A test decides other answers
// per request with fault, and the listing's with listFault.
type fakeAPI struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	stored   map[string]int // activity -> times stored; set by a test: someone else's result
	held     map[string]api.SubmitRequest
	requests map[string][]api.SubmitRequest
	lists    int // listing requests
	inFlight int
	maxIn    int
	// fault, if set, may answer a submission itself.
	fault func(req api.SubmitRequest, n int) fakeAnswer
	// listFault, if set, may answer a listing request itself.
	listFault func() fakeAnswer
	// hold, if set, is waited on by every request before it is answered.
	hold chan struct{}
}

// fakeAnswer is what fault decides for one request; its zero value is the
// normal answer.
type fakeAnswer struct {
	status      int    // this status instead (an error body, or body for a 2xx)
	retryAfter  string // sent as Retry-After
	drop        bool   // close the connection without an answer
	afterStore  bool   // store the result first, then answer status or drop
	body        string // a 2xx's body, as contentType
	contentType string
}

// someoneElses is what the listing shows of a result the test preset.
var someoneElses = api.Activity{Status: "COMPLETED", ResultStatus: api.StatusNotEffective, Result: "NOT_INTERESTED", OccurredAt: "2026-01-01T00:00:00.000Z"}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{t: t, stored: map[string]int{}, held: map[string]api.SubmitRequest{}, requests: map[string][]api.SubmitRequest{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) client() *api.Client {
	c, err := api.NewClient(f.srv.URL, "rtn_sk_test")
	if err != nil {
		f.t.Fatal(err)
	}
	c.Timeout = 5 * time.Second
	return c
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(api.ErrorBody{StatusCode: status, Error: http.StatusText(status), Message: msg})
}

func hangUp(w http.ResponseWriter) {
	if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
		conn.Close()
	}
}

// answer writes a, unless it is the normal answer; it reports whether it wrote.
func (a fakeAnswer) write(w http.ResponseWriter) bool {
	if a.retryAfter != "" {
		w.Header().Set("Retry-After", a.retryAfter)
	}
	switch {
	case a.drop:
		hangUp(w)
	case a.status >= 200 && a.status < 300:
		w.Header().Set("Content-Type", a.contentType)
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	case a.status != 0:
		writeError(w, a.status, fmt.Sprintf("injected %d", a.status))
	default:
		return false
	}
	return true
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == api.PathActivities {
		f.serveList(w, r)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != api.PathSubmit {
		writeError(w, http.StatusNotFound, "no such route")
		return
	}
	var req api.SubmitRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "body is not JSON")
		return
	}
	key := req.ActivityKey()
	f.mu.Lock()
	f.requests[key] = append(f.requests[key], req)
	n := len(f.requests[key])
	f.inFlight++
	f.maxIn = max(f.maxIn, f.inFlight)
	fault, hold := f.fault, f.hold
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	if hold != nil {
		<-hold
	}

	var a fakeAnswer
	if fault != nil {
		a = fault(req, n)
	}
	if !a.afterStore && a.write(w) {
		return
	}
	switch {
	case key == "":
		writeError(w, http.StatusBadRequest, "activity_id or provider_activity_id is required")
		return
	case strings.HasPrefix(key, "missing"):
		writeError(w, http.StatusNotFound, "Activity not found")
		return
	}
	f.mu.Lock()
	if f.stored[key] > 0 && !req.HardOverride {
		f.mu.Unlock()
		writeError(w, http.StatusConflict, "Activity already has a result")
		return
	}
	f.stored[key]++
	f.held[key] = req
	f.mu.Unlock()
	if a.afterStore && a.write(w) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"id":"res-%s"}`, key)
}

// serveList answers GET /activities/tasks with every activity the fake has
// heard of, in one page, filtered by external_commerce_id.
func (f *fakeAPI) serveList(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.lists++
	fault := f.listFault
	var page api.ActivityPage
	for key := range f.requests {
		a := api.Activity{ID: key, CommerceExternalID: "COM-1", Status: "PENDING", ResultStatus: api.StatusPending}
		if req, ok := f.held[key]; ok {
			a.CommerceExternalID, a.Status, a.ResultStatus, a.Result, a.OccurredAt = req.CommerceExternalID, "COMPLETED", req.Status, req.TaskResult.Result, req.OccurredAt
		} else if f.stored[key] > 0 {
			a.Status, a.ResultStatus, a.Result, a.OccurredAt = someoneElses.Status, someoneElses.ResultStatus, someoneElses.Result, someoneElses.OccurredAt
		}
		if c := r.URL.Query().Get("external_commerce_id"); c == "" || c == a.CommerceExternalID {
			page.Data = append(page.Data, a)
		}
	}
	f.mu.Unlock()
	if fault != nil && fault().write(w) {
		return
	}
	page.Meta = api.PageMeta{Page: 1, Limit: 100, Total: len(page.Data), TotalPages: 1}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(page)
}

func (f *fakeAPI) count(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests[key])
}

func (f *fakeAPI) storedN(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stored[key]
}

func (f *fakeAPI) request(key string, i int) api.SubmitRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[key][i]
}

func (f *fakeAPI) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		n += len(r)
	}
	return n
}

// item builds a valid item for activity key, row n of "in.csv".
func item(key string, n int) validate.Item {
	return validate.Item{
		Row: importer.Row{Pos: importer.Position{File: "in.csv", Row: n}, Cells: []string{key}},
		Request: &api.SubmitRequest{
			ActivityID:         key,
			CommerceExternalID: "COM-1",
			OccurredAt:         "2026-04-11T10:30:00.000Z",
			Status:             api.StatusEffective,
			TaskResult:         api.TaskResult{Result: "SALE_COMPLETED"},
		},
	}
}

// collect runs s over items and returns the outcomes by activity key (the
// row's first cell), failing on any row that gets no outcome or two.
func collect(t *testing.T, ctx context.Context, s *Submitter, items []validate.Item) (map[string]outcome.Outcome, Stats, error) {
	t.Helper()
	got := map[string]outcome.Outcome{}
	var calls atomic.Int32
	st, err := s.Run(ctx, slices.Values(items), func(o outcome.Outcome) {
		if calls.Add(1) != 1 {
			t.Error("emit called by two goroutines at once")
		}
		defer calls.Add(-1)
		k := o.Row.Cells[0]
		if _, dup := got[k]; dup {
			t.Errorf("row %s got two outcomes", k)
		}
		got[k] = o
	})
	if len(got) != len(items) {
		t.Errorf("%d outcomes for %d items", len(got), len(items))
	}
	if st.Rows != len(items) {
		t.Errorf("Stats.Rows = %d, want %d", st.Rows, len(items))
	}
	return got, st, err
}

func fastSubmitter(f *fakeAPI) *Submitter {
	return &Submitter{Client: f.client(), Retries: DefaultRetries, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}
}

func TestSubmitClasses(t *testing.T) {
	f := newFakeAPI(t)
	f.stored["taken"] = 1
	invalid := validate.Item{Row: importer.Row{Pos: importer.Position{File: "in.csv", Row: 9}, Cells: []string{"bad"}},
		Problems: []validate.Problem{{Column: "resultado", Message: "is empty"}, {Column: "fecha", Message: "is not a date"}}}
	bad := item("", 5)
	bad.Row.Cells = []string{"noid"}
	items := []validate.Item{item("a1", 2), item("missing-1", 3), item("taken", 4), bad, invalid}

	got, st, err := collect(t, context.Background(), fastSubmitter(f), items)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := map[string]struct {
		class  outcome.Class
		status int
	}{
		"a1":        {outcome.ClassOK, 201},
		"missing-1": {outcome.ClassRejected, 404},
		"taken":     {outcome.ClassConflict, 409},
		"noid":      {outcome.ClassRejected, 400},
		"bad":       {outcome.ClassInvalid, 0},
	}
	for k, w := range want {
		o := got[k]
		if o.Class != w.class || o.HTTPStatus != w.status {
			t.Errorf("%s: class %s status %d, want %s %d (%s)", k, o.Class, o.HTTPStatus, w.class, w.status, o.Message)
		}
	}
	if got["a1"].ResultID != "res-a1" || got["a1"].Attempts != 1 {
		t.Errorf("a1: id %q attempts %d", got["a1"].ResultID, got["a1"].Attempts)
	}
	if m := got["bad"].Message; !strings.Contains(m, "resultado: is empty") || !strings.Contains(m, "fecha: is not a date") {
		t.Errorf("invalid row's message %q does not list every problem", m)
	}
	if got["taken"].Message != "Activity already has a result" || got["missing-1"].Error != "Not Found" {
		t.Errorf("API answers not kept: %+v %+v", got["taken"], got["missing-1"])
	}
	// No 4xx was sent twice; the invalid row never.
	for _, k := range []string{"missing-1", "taken", ""} {
		if n := f.count(k); n != 1 {
			t.Errorf("%q sent %d times, want 1", k, n)
		}
	}
	if st.Requests != 4 || st.Counts[outcome.ClassRejected] != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestSubmitRetries(t *testing.T) {
	f := newFakeAPI(t)
	f.fault = func(req api.SubmitRequest, n int) fakeAnswer {
		switch {
		case req.ActivityID == "flaky" && n <= 2:
			return fakeAnswer{status: 503}
		case req.ActivityID == "down":
			return fakeAnswer{status: 500}
		case req.ActivityID == "lost" && n == 1:
			return fakeAnswer{afterStore: true, drop: true} // stored, but the answer never arrives
		case req.ActivityID == "slow" && n == 1:
			return fakeAnswer{status: 429}
		}
		return fakeAnswer{}
	}
	s := fastSubmitter(f)
	s.Retries = 3
	got, st, err := collect(t, context.Background(), s, []validate.Item{item("flaky", 2), item("down", 3), item("lost", 4), item("slow", 5)})
	if err != nil {
		t.Fatal(err)
	}
	check := func(k string, class outcome.Class, attempts int) {
		t.Helper()
		if o := got[k]; o.Class != class || o.Attempts != attempts || f.count(k) != attempts {
			t.Errorf("%s: %s after %d attempts (%d at the server), want %s after %d: %s", k, o.Class, o.Attempts, f.count(k), class, attempts, o.Message)
		}
	}
	check("flaky", outcome.ClassOK, 3)
	check("down", outcome.ClassFailed, 4) // 1 + Retries
	check("slow", outcome.ClassOK, 2)
	// The lost answer was stored; the retry meets 409 and recognises it.
	check("lost", outcome.ClassOK, 2)
	if f.storedN("lost") != 1 {
		t.Errorf("lost stored %d times", f.storedN("lost"))
	}
	if o := got["down"]; o.HTTPStatus != 500 || !strings.Contains(o.Message, "after 4 attempts") {
		t.Errorf("failed row keeps %d %q", o.HTTPStatus, o.Message)
	}
	if st.Retried != 4 {
		t.Errorf("Stats.Retried = %d, want 4", st.Retried)
	}
}

func TestSubmitRetryAfterHoldsEveryWorker(t *testing.T) {
	f := newFakeAPI(t)
	var mu sync.Mutex
	var first429 time.Time
	var after []time.Time
	f.fault = func(req api.SubmitRequest, n int) fakeAnswer {
		mu.Lock()
		defer mu.Unlock()
		if req.ActivityID == "limited" && n == 1 {
			first429 = time.Now()
			return fakeAnswer{status: 429, retryAfter: "1"}
		}
		if !first429.IsZero() {
			after = append(after, time.Now())
		}
		return fakeAnswer{}
	}
	s := fastSubmitter(f)
	s.Concurrency = 1
	got, _, err := collect(t, context.Background(), s, []validate.Item{item("limited", 2), item("next", 3)})
	if err != nil {
		t.Fatal(err)
	}
	if got["limited"].Class != outcome.ClassOK || got["next"].Class != outcome.ClassOK {
		t.Fatalf("classes %v %v", got["limited"], got["next"])
	}
	// Retry-After is a floor, not a timing target: nothing may come sooner.
	for _, at := range after {
		if d := at.Sub(first429); d < time.Second {
			t.Errorf("a request came %v after a 429 asking for 1s", d)
		}
	}
}

func TestSubmitOverridePolicies(t *testing.T) {
	for _, tc := range []struct {
		policy  OverridePolicy
		want    map[string]outcome.Class
		attempt map[string]int
		flagged map[string]bool // the hard_override of the first request
	}{
		{OverrideNever,
			map[string]outcome.Class{"plain": outcome.ClassConflict, "asks": outcome.ClassConflict, "fresh": outcome.ClassOK},
			map[string]int{"plain": 1, "asks": 1, "fresh": 1},
			map[string]bool{"asks": false}},
		{OverrideAlways,
			map[string]outcome.Class{"plain": outcome.ClassOverridden, "asks": outcome.ClassOK, "fresh": outcome.ClassOK},
			map[string]int{"plain": 2, "asks": 1, "fresh": 1},
			map[string]bool{"plain": false, "asks": true}},
		{OverrideRow,
			map[string]outcome.Class{"plain": outcome.ClassConflict, "asks": outcome.ClassOK, "fresh": outcome.ClassOK},
			map[string]int{"plain": 1, "asks": 1, "fresh": 1},
			map[string]bool{"plain": false, "asks": true}},
	} {
		t.Run(string(tc.policy), func(t *testing.T) {
			f := newFakeAPI(t)
			f.stored["plain"], f.stored["asks"] = 1, 1
			asks := item("asks", 3)
			asks.Override = true
			s := fastSubmitter(f)
			s.Policy = tc.policy
			got, _, err := collect(t, context.Background(), s, []validate.Item{item("plain", 2), asks, item("fresh", 4)})
			if err != nil {
				t.Fatal(err)
			}
			for k, class := range tc.want {
				if o := got[k]; o.Class != class || o.Attempts != tc.attempt[k] {
					t.Errorf("%s: %s after %d, want %s after %d (%s)", k, o.Class, o.Attempts, class, tc.attempt[k], o.Message)
				}
			}
			for k, flag := range tc.flagged {
				if r := f.request(k, 0); r.HardOverride != flag {
					t.Errorf("%s: first request hard_override=%v, want %v", k, r.HardOverride, flag)
				}
			}
			if tc.policy == OverrideAlways && !f.request("plain", 1).HardOverride {
				t.Error("the resend after 409 lacks hard_override")
			}
			if f.storedN("fresh") != 1 {
				t.Errorf("fresh stored %d times", f.storedN("fresh"))
			}
		})
	}
}

func TestSubmitBreakerStopsAtFirstRefusal(t *testing.T) {
	for _, status := range []int{401, 403} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			f := newFakeAPI(t)
			f.fault = func(api.SubmitRequest, int) fakeAnswer { return fakeAnswer{status: status} }
			var items []validate.Item
			for i := range 50 {
				items = append(items, item(fmt.Sprintf("a%02d", i), i+2))
			}
			s := fastSubmitter(f)
			s.Concurrency = 1
			got, st, err := collect(t, context.Background(), s, items)
			e, ok := api.AsError(err)
			if !ok || e.StatusCode != status || !e.Auth() {
				t.Fatalf("Run returned %v, want the %d", err, status)
			}
			if n := f.total(); n != 1 {
				t.Errorf("%d requests reached the API after a %d, want 1", n, status)
			}
			if got["a00"].Class != outcome.ClassRejected {
				t.Errorf("first row: %+v", got["a00"])
			}
			if st.Counts[outcome.ClassSkipped] != 49 || !strings.Contains(got["a49"].Message, "refused the key") {
				t.Errorf("skipped %d; last row %+v", st.Counts[outcome.ClassSkipped], got["a49"])
			}
		})
	}
}

func TestSubmitBreakerLetsInFlightFinish(t *testing.T) {
	f := newFakeAPI(t)
	f.fault = func(req api.SubmitRequest, n int) fakeAnswer {
		if req.ActivityID == "a00" {
			return fakeAnswer{status: 401}
		}
		time.Sleep(20 * time.Millisecond) // still in flight when a00's 401 arrives
		return fakeAnswer{}
	}
	var items []validate.Item
	for i := range 40 {
		items = append(items, item(fmt.Sprintf("a%02d", i), i+2))
	}
	s := fastSubmitter(f)
	s.Concurrency = 4
	got, st, err := collect(t, context.Background(), s, items)
	if _, ok := api.AsError(err); !ok {
		t.Fatalf("Run returned %v", err)
	}
	sent := f.total()
	if sent > 4 {
		t.Errorf("%d requests sent; at most the 4 in flight when the 401 came", sent)
	}
	if st.Counts[outcome.ClassOK]+st.Counts[outcome.ClassRejected] != sent || st.Counts[outcome.ClassSkipped] != 40-sent {
		t.Errorf("counts %v for %d requests", st.Counts, sent)
	}
	for k, o := range got {
		if o.Class == outcome.ClassOK && f.storedN(k) != 1 {
			t.Errorf("%s ok but stored %d times", k, f.storedN(k))
		}
	}
}

func TestSubmitInterrupt(t *testing.T) {
	f := newFakeAPI(t)
	f.hold = make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	var items []validate.Item
	for i := range 30 {
		items = append(items, item(fmt.Sprintf("a%02d", i), i+2))
	}
	s := fastSubmitter(f)
	s.Concurrency = 3
	go func() {
		// Cancel once three requests are held in flight, then let them answer.
		for f.total() < 3 {
			time.Sleep(time.Millisecond)
		}
		cancel()
		close(f.hold)
	}()
	got, st, err := collect(t, ctx, s, items)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
	if n := f.total(); n != 3 {
		t.Errorf("%d requests, want the 3 in flight", n)
	}
	if st.Counts[outcome.ClassOK] != 3 || st.Counts[outcome.ClassSkipped] != 27 {
		t.Errorf("counts %v: in-flight rows must finish ok, the rest be skipped", st.Counts)
	}
	if o := got["a29"]; !strings.Contains(o.Message, "interrupted") || o.Attempts != 0 {
		t.Errorf("unsent row: %+v", o)
	}
}

func TestSubmitInterruptDuringBackoff(t *testing.T) {
	f := newFakeAPI(t)
	f.fault = func(api.SubmitRequest, int) fakeAnswer { return fakeAnswer{status: 502} }
	ctx, cancel := context.WithCancel(context.Background())
	s := &Submitter{Client: f.client(), Retries: DefaultRetries, BaseDelay: time.Hour, MaxDelay: time.Hour}
	go func() {
		for f.total() < 1 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	got, _, err := collect(t, ctx, s, []validate.Item{item("a", 2)})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	if o := got["a"]; o.Class != outcome.ClassSkipped || o.Attempts != 1 || !strings.Contains(o.Message, "502") {
		t.Errorf("row in backoff: %+v", o)
	}
}

func TestSubmitConcurrencyAndStreaming(t *testing.T) {
	f := newFakeAPI(t)
	f.fault = func(api.SubmitRequest, int) fakeAnswer {
		time.Sleep(time.Millisecond)
		return fakeAnswer{}
	}
	s := fastSubmitter(f)
	s.Concurrency = 5
	// More rows than can be read ahead, so that unbounded reading shows.
	const n = 5*maxAhead + 100
	var pulled, emitted, ahead atomic.Int64
	items := func(yield func(validate.Item) bool) {
		for i := range n {
			a := pulled.Add(1) - emitted.Load()
			for {
				m := ahead.Load()
				if a <= m || ahead.CompareAndSwap(m, a) {
					break
				}
			}
			if !yield(item(fmt.Sprintf("a%03d", i), i+2)) {
				return
			}
		}
	}
	st, err := s.Run(context.Background(), items, func(outcome.Outcome) { emitted.Add(1) })
	if err != nil || st.Counts[outcome.ClassOK] != n {
		t.Fatalf("%v %+v", err, st)
	}
	if f.maxIn > 5 {
		t.Errorf("%d requests in flight at once, limit 5", f.maxIn)
	}
	// Read ahead, in the batch being recorded, waiting for a worker, waiting
	// for the ledger, in flight, waiting to be emitted, and one in each
	// goroutine's hands: 4·maxAhead+2·5+4.
	if m := ahead.Load(); m > 4*maxAhead+2*5+4 {
		t.Errorf("read %d items ahead of their outcomes; memory must be bounded by the concurrency", m)
	}
}

// memLedger is an in-memory Ledger that also checks that Begin comes before
// the request.
type memLedger struct {
	mu      sync.Mutex
	entries map[string]*memEntry
}

type memEntry struct {
	body     string // as accepted, or as last sent
	accepted bool
	open     bool // begun, not finished
	inDoubt  bool
}

func bodyOf(req *api.SubmitRequest) string {
	r := *req
	r.HardOverride = false
	data, _ := json.Marshal(&r)
	return string(data)
}

func (l *memLedger) Check(_ context.Context, req *api.SubmitRequest) (LedgerCheck, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entries[req.ActivityKey()]
	switch {
	case e == nil:
		return LedgerCheck{}, nil
	case e.accepted && e.body == bodyOf(req):
		return LedgerCheck{Verdict: LedgerDuplicate}, nil
	case e.accepted:
		return LedgerCheck{Verdict: LedgerChanged, Message: "changed since the earlier run"}, nil
	}
	return LedgerCheck{Own: e.inDoubt && e.body == bodyOf(req)}, nil
}

func (l *memLedger) Begin(_ context.Context, intents []LedgerIntent) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, in := range intents {
		l.entries[in.Req.ActivityKey()] = &memEntry{body: bodyOf(in.Req), open: true}
	}
	return nil
}

func (l *memLedger) Finish(_ context.Context, done []LedgerDone) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, d := range done {
		e := l.entries[d.Req.ActivityKey()]
		e.open, e.inDoubt = false, d.InDoubt
		e.accepted = d.Outcome.Class == outcome.ClassOK || d.Outcome.Class == outcome.ClassOverridden
	}
	return nil
}

func (l *memLedger) entry(key string) memEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return *l.entries[key]
}

func TestSubmitLedger(t *testing.T) {
	f := newFakeAPI(t)
	l := &memLedger{entries: map[string]*memEntry{}}
	f.fault = func(req api.SubmitRequest, n int) fakeAnswer {
		l.mu.Lock()
		defer l.mu.Unlock()
		if e := l.entries[req.ActivityID]; e == nil || !e.open {
			t.Errorf("%s sent before the ledger recorded it", req.ActivityID)
		}
		return fakeAnswer{afterStore: true, drop: req.ActivityID == "lost" && n == 1}
	}
	s := fastSubmitter(f)
	s.Ledger = l
	s.Retries = 0
	items := []validate.Item{item("new", 2), item("lost", 3), item("other", 4)}
	got, _, err := collect(t, context.Background(), s, items)
	if err != nil {
		t.Fatal(err)
	}
	if got["new"].Class != outcome.ClassOK || got["lost"].Class != outcome.ClassFailed {
		t.Fatalf("first run: %+v %+v", got["new"], got["lost"])
	}
	if e := l.entry("lost"); !e.inDoubt || e.accepted {
		t.Errorf("a lost answer was recorded as %+v, want in doubt", e)
	}
	if e := l.entry("new"); e.inDoubt || !e.accepted {
		t.Errorf("an accepted row was recorded as %+v", e)
	}

	// The next run sends only the row in doubt, and takes its 409 as ours; a
	// changed result for an accepted activity is a conflict without a request.
	changed := item("other", 4)
	changed.Request.TaskResult.Result = "NO_CONTACT"
	got, st, err := collect(t, context.Background(), s, []validate.Item{items[0], items[1], changed})
	if err != nil {
		t.Fatal(err)
	}
	if o := got["new"]; o.Class != outcome.ClassSkipped || o.Attempts != 0 || !strings.Contains(o.Message, "earlier run") {
		t.Errorf("accepted row sent again: %+v", o)
	}
	if o := got["lost"]; o.Class != outcome.ClassOK || o.Attempts != 1 || f.storedN("lost") != 1 {
		t.Errorf("row in doubt: %+v, stored %d", o, f.storedN("lost"))
	}
	if o := got["other"]; o.Class != outcome.ClassConflict || o.Attempts != 0 || !strings.Contains(o.Message, "changed since") {
		t.Errorf("changed row under policy never: %+v", o)
	}
	// One submission, and one read of the stored result to see that the 409 is ours.
	if st.Requests != 2 || f.count("lost") != 2 || f.lists != 1 {
		t.Errorf("%d requests, %d lists; want the row in doubt sent once and checked once", st.Requests, f.lists)
	}

	// Under "always" the changed row replaces the result, in one request.
	s.Policy = OverrideAlways
	got, _, err = collect(t, context.Background(), s, []validate.Item{changed})
	if err != nil {
		t.Fatal(err)
	}
	if o := got["other"]; o.Class != outcome.ClassOverridden || o.Attempts != 1 || !f.request("other", 1).HardOverride {
		t.Errorf("changed row under policy always: %+v", o)
	}
}

func TestParseOverridePolicy(t *testing.T) {
	for in, want := range map[string]OverridePolicy{"never": OverrideNever, "ALWAYS": OverrideAlways, " row": OverrideRow} {
		if got, err := ParseOverridePolicy(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	if _, err := ParseOverridePolicy("sometimes"); err == nil {
		t.Error("sometimes accepted")
	}
}

func TestBackoffStaysWithinBounds(t *testing.T) {
	const base, most = 10 * time.Millisecond, 100 * time.Millisecond
	r := (&Submitter{BaseDelay: base, MaxDelay: most}).newRun(context.Background())
	defer r.release()
	for range 50 {
		b := r.newBackOff()
		b.Reset()
		for n := 1; n < 70; n++ {
			interval := min(most, base<<min(n-1, 20))
			if d := b.NextBackOff(); d < interval/2 || d > min(most, interval*3/2) {
				t.Fatalf("wait before retry %d = %v, want within half of %v, at most %v", n, d, interval, most)
			}
		}
	}
}

func TestRetry(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch {
		case r.Header.Get("x-api-key") != "rtn_sk_test":
			writeError(w, 401, "API key missing or invalid")
		case n <= 2:
			writeError(w, 503, "busy")
		default:
			w.Write([]byte(`[{"code":"SALE_COMPLETED","label":"Venta completada"}]`))
		}
	}))
	defer srv.Close()
	c, _ := api.NewClient(srv.URL, "rtn_sk_test")
	s := &Submitter{Client: c, Retries: DefaultRetries, BaseDelay: time.Millisecond}
	var got []api.ResultTypeConfig
	err := s.Retry(context.Background(), func(ctx context.Context) (err error) {
		got, err = c.ListResultTypeConfigs(ctx)
		return err
	})
	if err != nil || len(got) != 1 || calls.Load() != 3 {
		t.Errorf("after two 503s: %v %v, %d calls", got, err, calls.Load())
	}

	calls.Store(0)
	bad, _ := api.NewClient(srv.URL, "rtn_sk_other")
	err = s.Retry(context.Background(), func(ctx context.Context) error {
		_, err := bad.ListResultTypeConfigs(ctx)
		return err
	})
	if e, ok := api.AsError(err); !ok || e.StatusCode != 401 || calls.Load() != 1 {
		t.Errorf("a 401 was retried: %v, %d calls", err, calls.Load())
	}

	calls.Store(-100) // every answer a 503 from now on
	s.Retries = 2
	err = s.Retry(context.Background(), func(ctx context.Context) error {
		_, err := c.ListResultTypeConfigs(ctx)
		return err
	})
	if e, ok := api.AsError(err); !ok || e.StatusCode != 503 || calls.Load() != -97 {
		t.Errorf("budget of 2 retries: %v, %d calls", err, calls.Load()+100)
	}
}

func TestSubmitInterruptAfterTheLastRowChangesNothing(t *testing.T) {
	f := newFakeAPI(t)
	ctx, cancel := context.WithCancel(context.Background())
	items := []validate.Item{item("a", 2), item("b", 3)}
	seq := func(yield func(validate.Item) bool) {
		for _, it := range items {
			if !yield(it) {
				return
			}
		}
		for f.total() < len(items) { // every row sent: now the signal comes
			time.Sleep(time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond)
		cancel()
	}
	st, err := fastSubmitter(f).Run(ctx, seq, func(outcome.Outcome) {})
	if err != nil || st.Counts[outcome.ClassOK] != 2 || st.Stopped != "" {
		t.Errorf("%v %+v: an interrupt after every row was settled must not fail the run", err, st)
	}
}

// Any 5xx may come after the write: a 409 after one is read back. The
// result the API holds decides: this row's values (stored by our attempt
// that was answered 504, or 500) make the row ok; someone else's keep it a
// conflict that says so. Nothing is sent with hard_override on top of it.
func TestSubmitConflictAfter5xx(t *testing.T) {
	for _, policy := range []OverridePolicy{OverrideNever, OverrideAlways} {
		t.Run(string(policy), func(t *testing.T) {
			f := newFakeAPI(t)
			// "other" holds someone else's result by the time our retry arrives.
			f.stored["other"] = 1
			f.fault = func(req api.SubmitRequest, n int) fakeAnswer {
				switch {
				case req.ActivityID == "gw" && n == 1:
					return fakeAnswer{afterStore: true, status: http.StatusGatewayTimeout}
				case req.ActivityID == "ours" && n == 1:
					return fakeAnswer{afterStore: true, status: http.StatusInternalServerError}
				case req.ActivityID == "other" && n == 1:
					return fakeAnswer{status: http.StatusInternalServerError}
				}
				return fakeAnswer{}
			}
			s := fastSubmitter(f)
			s.Policy = policy
			got, _, err := collect(t, context.Background(), s, []validate.Item{item("gw", 2), item("ours", 3), item("other", 4)})
			if err != nil {
				t.Fatal(err)
			}
			for k, status := range map[string]string{"gw": "504", "ours": "500"} {
				if o := got[k]; o.Class != outcome.ClassOK || o.Attempts != 2 || !strings.Contains(o.Message, "stored by our earlier attempt (answered "+status) {
					t.Errorf("%s: %s after %d attempts: %s", k, o.Class, o.Attempts, o.Message)
				}
				if n := f.storedN(k); n != 1 {
					t.Errorf("%s stored %d times", k, n)
				}
			}
			o := got["other"]
			switch policy {
			case OverrideNever:
				if o.Class != outcome.ClassConflict || o.Attempts != 2 || !strings.Contains(o.Message, "result NOT_INTERESTED") || !strings.Contains(o.Message, "answered 500") {
					t.Errorf("other: %s after %d attempts: %s", o.Class, o.Attempts, o.Message)
				}
			case OverrideAlways:
				// Read back and found someone else's: the policy replaces it.
				if o.Class != outcome.ClassOverridden || o.Attempts != 3 || !f.request("other", 2).HardOverride {
					t.Errorf("other: %s after %d attempts: %s", o.Class, o.Attempts, o.Message)
				}
			}
		})
	}
}

// countingLimiter lets n requests through, then fails: a shared rate whose
// store went away.
type countingLimiter struct {
	waits atomic.Int32
	n     int32
}

func (l *countingLimiter) Wait(ctx context.Context) error {
	if l.waits.Add(1) > l.n {
		return errors.New("connection lost")
	}
	return ctx.Err()
}

func TestSubmitTenantRate(t *testing.T) {
	f := newFakeAPI(t)
	var items []validate.Item
	for i := range 20 {
		items = append(items, item(fmt.Sprintf("a%d", i), i+2))
	}
	s := fastSubmitter(f)
	s.Concurrency = 1
	lim := &countingLimiter{n: 5}
	s.TenantRate = lim
	got, st, err := collect(t, context.Background(), s, items)
	if err == nil || !strings.Contains(err.Error(), "tenant rate") || !strings.Contains(err.Error(), "connection lost") {
		t.Fatalf("Run: %v, want the tenant rate's error", err)
	}
	// Every request waited on the shared rate; none went out after it failed.
	if f.total() != 5 || st.Requests != 5 {
		t.Fatalf("%d requests (stats %d), want the 5 the tenant rate let through", f.total(), st.Requests)
	}
	skipped := 0
	for _, o := range got {
		if o.Class == outcome.ClassSkipped {
			skipped++
		}
	}
	if skipped != 15 {
		t.Errorf("%d rows skipped, want 15", skipped)
	}
}

// decidedLedger says every request was refused before, as decided names.
type decidedLedger struct {
	decided map[string]LedgerCheck
}

func (l decidedLedger) Check(_ context.Context, req *api.SubmitRequest) (LedgerCheck, error) {
	return l.decided[req.ActivityKey()], nil
}
func (decidedLedger) Begin(context.Context, []LedgerIntent) error { return nil }
func (decidedLedger) Finish(context.Context, []LedgerDone) error  { return nil }

func TestSubmitLedgerDecided(t *testing.T) {
	l := decidedLedger{decided: map[string]LedgerCheck{
		"gone":  {Verdict: LedgerDecided, Class: outcome.ClassRejected, Status: 404, Message: "unchanged since 2026-12-02 22:00 UTC (run r1): not found; fix the row, or pass --force / --hard-override"},
		"taken": {Verdict: LedgerDecided, Class: outcome.ClassConflict, Status: 409, Message: "unchanged since 2026-12-02 22:00 UTC (run r1): Activity already has a result; fix the row, or pass --force / --hard-override"},
	}}
	items := []validate.Item{item("gone", 2), item("taken", 3), item("new", 4)}
	for _, tc := range []struct {
		policy    OverridePolicy
		wantTaken outcome.Class
	}{
		{OverrideNever, outcome.ClassConflict},
		{OverrideRow, outcome.ClassConflict}, // the row does not ask for it
		{OverrideAlways, outcome.ClassOverridden},
	} {
		t.Run(string(tc.policy), func(t *testing.T) {
			f := newFakeAPI(t)
			f.stored["taken"] = 1 // someone else's result
			s := fastSubmitter(f)
			s.Ledger, s.Policy = l, tc.policy
			got, _, err := collect(t, context.Background(), s, items)
			if err != nil {
				t.Fatal(err)
			}
			if o := got["gone"]; o.Class != outcome.ClassRejected || o.HTTPStatus != 404 || o.Error != "Not Found" || o.Attempts != 0 || f.count("gone") != 0 || !strings.HasPrefix(o.Message, "unchanged since") || o.Code != outcome.CodeUnchanged {
				t.Errorf("decided 404: %+v, %d requests", o, f.count("gone"))
			}
			o := got["taken"]
			if o.Class != tc.wantTaken {
				t.Errorf("decided conflict: %+v, want %s", o, tc.wantTaken)
			}
			if tc.wantTaken == outcome.ClassConflict && (o.Attempts != 0 || f.count("taken") != 0 || o.HTTPStatus != 409 || o.Code != outcome.CodeUnchanged) {
				t.Errorf("decided conflict sent: %+v, %d requests", o, f.count("taken"))
			}
			if tc.wantTaken == outcome.ClassOverridden && (f.count("taken") != 1 || !f.request("taken", 0).HardOverride) {
				t.Errorf("a conflict the policy may now override: %d requests, want one with hard_override", f.count("taken"))
			}
			if got["new"].Class != outcome.ClassOK {
				t.Errorf("new row: %+v", got["new"])
			}
		})
	}
}
