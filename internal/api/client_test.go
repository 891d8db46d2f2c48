package api_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/sandbox"
	"github.com/reten/reconcile/internal/sandbox/sandboxtest"
)

const act1 = "8a2da0ef-e94a-5f98-ad28-4741ec9a5245" // YOM-0001, COM-001 in samples/tenant.json

func start(t *testing.T, tn *sandbox.Tenant) (*sandbox.Server, *api.Client) {
	t.Helper()
	if tn == nil {
		var err error
		if tn, err = sandbox.LoadTenant("../../samples/tenant.json"); err != nil {
			t.Fatal(err)
		}
	}
	srv, url := sandboxtest.Start(t, tn, sandbox.Faults{})
	c, err := api.NewClient(url, "rtn_sk_demo")
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func valid() *api.SubmitRequest {
	return &api.SubmitRequest{
		ActivityID: act1, CommerceExternalID: "COM-001", OccurredAt: "2026-04-11T10:30:00.000Z",
		Status: api.StatusEffective, TaskResult: api.TaskResult{Result: "SALE_COMPLETED"},
	}
}

func TestRetryable(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		faults sandbox.Faults
		key    string
		edit   func(*api.SubmitRequest)
		want   bool
	}{
		{name: "5xx", faults: sandbox.Faults{FailRate: 1}, want: true},
		{name: "dropped connection", faults: sandbox.Faults{DropRate: 1}, want: true},
		{name: "answer lost after storing", faults: sandbox.Faults{FailAfterStoreRate: 1, Seed: 5}, want: true},
		{name: "429", faults: sandbox.Faults{RateLimit: 1e-9}, want: true}, // the first request takes the only token
		{name: "400", edit: func(r *api.SubmitRequest) { r.Status = "DONE" }},
		{name: "401", key: "rtn_sk_nope"},
		{name: "403", key: "rtn_sk_viewer"},
		{name: "404", edit: func(r *api.SubmitRequest) { r.CommerceExternalID = "COM-999" }},
		{name: "409", edit: func(r *api.SubmitRequest) {
			r.ActivityID, r.CommerceExternalID = "9f9de778-3b23-58be-86f1-b6b3e99c87e5", "0004555"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := start(t, nil)
			srv.SetFaults(tt.faults)
			if tt.key != "" {
				c.APIKey = tt.key
			}
			if tt.name == "429" {
				c.ListResultTypeConfigs(ctx)
			}
			r := valid()
			if tt.edit != nil {
				tt.edit(r)
			}
			_, err := c.SubmitResult(ctx, r)
			if err == nil {
				t.Fatal("no error")
			}
			if got := api.Retryable(ctx, err); got != tt.want {
				t.Errorf("Retryable(%v) = %v, want %v", err, got, tt.want)
			}
			if e, ok := api.AsError(err); ok && e.Retryable() != tt.want {
				t.Errorf("(*Error).Retryable() = %v for %v", e.Retryable(), err)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	srv, c := start(t, nil)
	srv.SetFaults(sandbox.Faults{Latency: 10 * time.Second})
	c.Timeout = 50 * time.Millisecond
	ctx := context.Background()
	_, err := c.SubmitResult(ctx, valid())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want a deadline error", err)
	}
	if !api.Retryable(ctx, err) {
		t.Errorf("a per-request timeout is not retryable: %v", err)
	}
	if !strings.HasPrefix(err.Error(), "POST "+api.PathSubmit+": ") || strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("error %q should name the request, not the URL", err)
	}
}

func TestCancelReturnsPromptly(t *testing.T) {
	// With a minute of latency, returning at all shows the call did not wait
	// for the answer; the test's own timeout catches a hang.
	tn, err := sandbox.LoadTenant("../../samples/tenant.json")
	if err != nil {
		t.Fatal(err)
	}
	srv := sandbox.New(tn)
	srv.SetFaults(sandbox.Faults{Latency: time.Minute})
	arrived := make(chan struct{}, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		srv.ServeHTTP(w, r)
	}))
	defer hs.Close()
	c, _ := api.NewClient(hs.URL, "rtn_sk_demo")
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived
		cancel()
	}()
	_, err = c.SubmitResult(ctx, valid())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if api.Retryable(ctx, err) {
		t.Error("a cancelled caller's error is retryable")
	}
	if _, ok := srv.Result(act1); ok {
		t.Error("a cancelled request stored a result")
	}

	// A caller deadline is the caller's too: not retryable.
	dctx, dcancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer dcancel()
	go func() { <-arrived }()
	_, err = c.SubmitResult(dctx, valid())
	if !errors.Is(err, context.DeadlineExceeded) || api.Retryable(dctx, err) {
		t.Errorf("caller deadline: got %v, retryable %v", err, api.Retryable(dctx, err))
	}
}

func TestListActivitiesWalksAllPages(t *testing.T) {
	srv, c := start(t, sandbox.SyntheticTenant(250))
	acts, err := c.ListActivities(context.Background(), api.ActivityFilter{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, a := range acts {
		seen[a.ID] = true
	}
	if len(acts) != 250 || len(seen) != 250 {
		t.Errorf("got %d activities, %d distinct, want 250", len(acts), len(seen))
	}
	if n := srv.Stats().Requests; n != 3 {
		t.Errorf("%d requests for 250 activities at 100 a page, want 3", n)
	}
}

func TestListActivitiesStopsOnEmptyPage(t *testing.T) {
	var calls atomic.Int32
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) > 10 {
			t.Error("still asking after 10 pages")
			http.Error(w, "stop", 500)
			return
		}
		page := r.URL.Query().Get("page")
		if page == "1" {
			fmt.Fprint(w, `{"data":[{"id":"a"}],"meta":{"page":1,"limit":100,"total":1000,"totalPages":1000}}`)
			return
		}
		fmt.Fprint(w, `{"data":[],"meta":{"page":2,"limit":100,"total":1000,"totalPages":1000}}`)
	}))
	defer hs.Close()
	c, _ := api.NewClient(hs.URL, "rtn_sk_demo")
	acts, err := c.ListActivities(context.Background(), api.ActivityFilter{})
	if err != nil || len(acts) != 1 || calls.Load() != 2 {
		t.Errorf("got %d activities in %d calls (%v)", len(acts), calls.Load(), err)
	}
}

func TestRedirectToAnotherHostIsRefused(t *testing.T) {
	var leaked atomic.Bool
	var hits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Header.Get("x-api-key") != "" {
			leaked.Store(true)
		}
		w.Write([]byte(`[]`))
	}))
	defer other.Close()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved"+api.PathConfigs {
			w.Write([]byte(`[{"code":"A"}]`))
			return
		}
		if r.URL.Query().Get("same") != "" {
			http.Redirect(w, r, "/moved"+r.URL.Path, http.StatusTemporaryRedirect)
			return
		}
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer origin.Close()

	c, _ := api.NewClient(origin.URL, "rtn_sk_demo")
	ctx := context.Background()
	_, err := c.ListResultTypeConfigs(ctx)
	if err == nil || !strings.Contains(err.Error(), "refusing to follow a redirect to "+other.URL) {
		t.Fatalf("got %v, want a refused redirect", err)
	}
	if api.Retryable(ctx, err) {
		t.Error("a refused redirect is retryable; it will be refused again")
	}
	_, err = c.SubmitResult(ctx, valid())
	if err == nil {
		t.Fatal("POST followed the redirect")
	}
	if leaked.Load() || hits.Load() != 0 {
		t.Errorf("the other host got %d requests (key sent: %v)", hits.Load(), leaked.Load())
	}

	// A redirect on the same origin is followed.
	_, err = c.ActivitiesPage(ctx, api.ActivityFilter{}, 1, 1)
	if err == nil {
		t.Fatal("expected the cross-host redirect error for activities")
	}
	same, _ := api.NewClient(origin.URL, "rtn_sk_demo")
	same.HTTPClient = &http.Client{Transport: rewriteQuery{"same=1"}}
	configs, err := same.ListResultTypeConfigs(ctx)
	if err != nil || len(configs) != 1 {
		t.Errorf("same-origin redirect: %v %v", configs, err)
	}
}

// rewriteQuery adds a query to every request, to steer the test server.
type rewriteQuery struct{ q string }

func (rq rewriteQuery) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if r.URL.RawQuery == "" {
		r.URL.RawQuery = rq.q
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestErrorBodies checks answers that are not the documented JSON.
func TestErrorBodies(t *testing.T) {
	long := "<html><body>" + strings.Repeat("Bad gateway. ", 40) + "</body></html>"
	tests := []struct {
		name, body, want string
		status           int
		retryAfter       string
		wantErr          string
		wantWait         time.Duration
	}{
		{name: "html 502", status: 502, body: long, wantErr: "Bad Gateway", want: long[:200] + "…"},
		{name: "plain text", status: 500, body: "upstream timed out\n", wantErr: "Internal Server Error", want: "upstream timed out"},
		{name: "empty", status: 503, body: "", wantErr: "Service Unavailable", want: "", retryAfter: "7", wantWait: 7 * time.Second},
		{name: "NestJS list", status: 400, body: `{"statusCode":400,"message":["status must be one of the following values: EFFECTIVE","occurred_at must be a valid ISO 8601 date string"],"error":"Bad Request"}`, wantErr: "Bad Request", want: "status must be one of the following values: EFFECTIVE; occurred_at must be a valid ISO 8601 date string"},
		{name: "no error field", status: 500, body: `{"statusCode":500,"message":"Internal server error"}`, wantErr: "", want: "Internal server error"},
		{name: "key echoed", status: 401, body: `{"statusCode":401,"error":"Unauthorized","message":"bad key rtn_sk_demo"}`, wantErr: "Unauthorized", want: "bad key [redacted]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer hs.Close()
			c, _ := api.NewClient(hs.URL, "rtn_sk_demo")
			_, err := c.SubmitResult(context.Background(), valid())
			e, ok := api.AsError(err)
			if !ok {
				t.Fatalf("got %v, want *api.Error", err)
			}
			if e.StatusCode != tt.status || e.Err != tt.wantErr || e.Message != tt.want || e.RetryAfter != tt.wantWait {
				t.Errorf("got %d %q %q %v\nwant %d %q %q %v", e.StatusCode, e.Err, e.Message, e.RetryAfter, tt.status, tt.wantErr, tt.want, tt.wantWait)
			}
			if strings.Contains(err.Error(), "rtn_sk_demo") {
				t.Errorf("the key is in %q", err)
			}
		})
	}
}

func TestRetryAfterHTTPDate(t *testing.T) {
	when := time.Now().Add(2 * time.Minute).UTC().Format(http.TimeFormat)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", when)
		w.WriteHeader(429)
	}))
	defer hs.Close()
	c, _ := api.NewClient(hs.URL, "rtn_sk_demo")
	_, err := c.ListResultTypeConfigs(context.Background())
	e, ok := api.AsError(err)
	if !ok || e.StatusCode != 429 {
		t.Fatalf("got %v", err)
	}
	// HTTP dates have whole seconds: between 1 and 2 minutes whatever the clock did.
	if e.RetryAfter <= time.Minute || e.RetryAfter > 2*time.Minute {
		t.Errorf("RetryAfter = %v, want about 2m", e.RetryAfter)
	}
}

// A 2xx is an acceptance only with a result: a JSON object with an id.
// Anything else (a proxy's page, garbage, JSON without an id) is a
// *NotResultError, which is retryable and never a success.
func TestSubmitResponseID(t *testing.T) {
	for _, tc := range []struct {
		body, contentType, want string
	}{
		{`{"id":"abc"}`, "application/json", "abc"},
		{`{"id":1234567}`, "application/json", "1234567"},
		{`{"id":12345.678}`, "application/json", "12345.678"},
		{`{"ID":"any case"}`, "application/json", "any case"},
		{`{"x":1,"id":"00000000-0000-4000-8000-000000000001","y":{"id":2}}`, "application/json", "00000000-0000-4000-8000-000000000001"},
		{`{"id":null}`, "application/json", ""},
		{`{"id":""}`, "application/json", ""},
		{`{"other":1}`, "application/json", ""},
		{``, "application/json", ""},
		{`{"id":{"x":1}}`, "application/json", ""},
		{`[{"id":"x"}]`, "application/json", ""},
		{`stored, thanks`, "text/plain", ""},
		{"\x00\xff\xfe garbage", "application/octet-stream", ""},
		{`<!DOCTYPE html><html><body>Guest network: sign in</body></html>`, "text/html; charset=utf-8", ""},
	} {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", tc.contentType)
			w.WriteHeader(201)
			w.Write([]byte(tc.body))
		}))
		c, _ := api.NewClient(hs.URL, "rtn_sk_demo")
		resp, err := c.SubmitResult(context.Background(), valid())
		hs.Close()
		if tc.want != "" {
			if err != nil || resp.StatusCode != 201 || resp.ID != tc.want {
				t.Errorf("body %s: got %+v %v, want id %q", tc.body, resp, err, tc.want)
			}
			continue
		}
		var nr *api.NotResultError
		if !errors.As(err, &nr) || resp != nil || nr.StatusCode != 201 || nr.ContentType != tc.contentType {
			t.Errorf("body %q: got %+v %v, want a NotResultError", tc.body, resp, err)
			continue
		}
		if !api.Retryable(context.Background(), err) || api.NoAnswer(err) || !strings.Contains(err.Error(), "answered 201 but not with a result: a proxy or gateway in the way?") {
			t.Errorf("body %q: %v: retryable %v, no answer %v", tc.body, err, api.Retryable(context.Background(), err), api.NoAnswer(err))
		}
	}
}

func TestSandboxIDsRoundTrip(t *testing.T) {
	srv, c := start(t, nil)
	resp, err := c.SubmitResult(context.Background(), valid())
	if err != nil {
		t.Fatal(err)
	}
	res, _ := srv.Result(act1)
	if resp.ID == "" || resp.ID != res.ID {
		t.Errorf("client kept id %q, sandbox stored %q", resp.ID, res.ID)
	}
}

func TestUntrustedCertificateIsFinal(t *testing.T) {
	var hits atomic.Int32
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(`[{"code":"A"}]`))
	}))
	hs.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	hs.StartTLS()
	defer hs.Close()
	c, _ := api.NewClient(hs.URL, "rtn_sk_demo")
	_, err := c.ListResultTypeConfigs(context.Background())
	if err == nil || !strings.Contains(err.Error(), "certificate") || hits.Load() != 0 {
		t.Fatalf("got %v after %d requests, want a certificate error before any", err, hits.Load())
	}
	if api.Retryable(context.Background(), err) {
		t.Errorf("an untrusted certificate is retryable: %v", err)
	}
	// With the server's certificate trusted, the same server answers.
	c.HTTPClient = hs.Client()
	if configs, err := c.ListResultTypeConfigs(context.Background()); err != nil || len(configs) != 1 {
		t.Errorf("trusted: %v %v", configs, err)
	}
}

func TestBaseURL(t *testing.T) {
	const noQuery = "RETEN_BASE_URL must be the API's origin such as https://api.reten.ai, with no query (?api_key=...): put the key in RETEN_API_KEY"
	for _, tc := range []struct {
		base, err string
	}{
		{"https://api.reten.ai", ""},
		{"https://api.reten.ai/", ""},
		{" http://127.0.0.1:8080// ", ""},
		{"https://gateway.example.com/reten", ""},
		{"https://api.reten.ai/?api_key=rtn_sk_secret", noQuery},
		{"https://api.reten.ai?api_key=rtn_sk_secret", noQuery},
		{"https://api.reten.ai/?", noQuery},
		{"https://api.reten.ai/#key=rtn_sk_secret", noQuery},
		{"https://api.reten.ai/api", "without /api: reconcile adds the /api/integration/... paths itself"},
		{"https://api.reten.ai/api/", "without /api"},
		{"https://api.reten.ai/API/integration", "without /API/integration"},
		{"https://user:rtn_sk_secret@api.reten.ai", "with no user or password"},
		{"api.reten.ai", "is not an http(s) URL: RETEN_BASE_URL must be the API's origin"},
		{"ftp://api.reten.ai?api_key=rtn_sk_secret", "is not an http(s) URL"},
	} {
		_, err := api.NewClient(tc.base, "rtn_sk_demo")
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%q refused: %v", tc.base, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: got %v, want %q", tc.base, err, tc.err)
		case err != nil && strings.Contains(err.Error(), "rtn_sk_secret"):
			t.Errorf("%q: the error shows the key: %v", tc.base, err)
		}
	}

	// A trailing slash does not double the path's slash.
	var paths []string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		w.Write([]byte(`[]`))
	}))
	defer hs.Close()
	for _, base := range []string{hs.URL + "/", hs.URL + "/gw/"} {
		c, err := api.NewClient(base, "rtn_sk_demo")
		if err != nil {
			t.Fatal(err)
		}
		c.ListResultTypeConfigs(context.Background())
	}
	if len(paths) != 2 || paths[0] != api.PathConfigs || paths[1] != "/gw"+api.PathConfigs {
		t.Errorf("paths %q", paths)
	}
}

// TestKeyRedactedFromEverythingReceived: a server that echoes the key, in a
// 2xx body, a listing or a header, never hands it to the caller.
func TestKeyRedactedFromEverythingReceived(t *testing.T) {
	const key = "rtn_sk_echo_4b1d"
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := r.Header.Get("x-api-key")
		switch r.URL.Path {
		case api.PathSubmit:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(201)
			// Plain, and spelt with a JSON escape.
			fmt.Fprintf(w, `{"id":"%s","echo":"%s","esc":"\u0072%s"}`, k, k, k[1:])
		case api.PathActivities:
			fmt.Fprintf(w, `{"data":[{"id":"%s","commerceName":"%s","result":"\u0072%s","resultStatus":"%s"}],"meta":{"page":1,"totalPages":1}}`, k, k, k[1:], k)
		default:
			w.Header().Set("Content-Type", "text/html; key="+k)
			w.Write([]byte("<html>" + k + "</html>"))
		}
	}))
	defer hs.Close()
	c, _ := api.NewClient(hs.URL, key)
	resp, err := c.SubmitResult(context.Background(), valid())
	if err != nil {
		t.Fatal(err)
	}
	if resp.ID != "[redacted]" || strings.Contains(string(resp.Body), key) {
		t.Errorf("id %q, body %s", resp.ID, resp.Body)
	}
	page, err := c.ActivitiesPage(context.Background(), api.ActivityFilter{}, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if a := page.Data[0]; strings.Contains(fmt.Sprintf("%+v", a), key) || a.ID != "[redacted]" {
		t.Errorf("listing %+v", a)
	}
	_, err = c.ListResultTypeConfigs(context.Background())
	var nr *api.NotResultError
	if !errors.As(err, &nr) || strings.Contains(err.Error(), key) || strings.Contains(fmt.Sprintf("%+v", nr), key) {
		t.Errorf("a page that echoes the key: %v", err)
	}
}

func TestNoAnswerAndNeverSent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	c, _ := api.NewClient("http://"+closed, "rtn_sk_demo")
	_, refused := c.SubmitResult(context.Background(), valid())

	sb, dc := start(t, nil)
	sb.SetFaults(sandbox.Faults{DropRate: 1})
	_, dropped := dc.SubmitResult(context.Background(), valid())
	sb.SetFaults(sandbox.Faults{FailRate: 1})
	_, answered := dc.SubmitResult(context.Background(), valid())
	for _, tc := range []struct {
		name             string
		err              error
		noAnswer, unsent bool
	}{
		{"connection refused", refused, true, true},
		{"dropped after sending", dropped, true, false},
		{"a 5xx answer", answered, false, false},
		{"a key the client will not send", &api.KeyError{Reason: "is empty"}, false, true},
	} {
		if api.NoAnswer(tc.err) != tc.noAnswer || api.NeverSent(tc.err) != tc.unsent {
			t.Errorf("%s (%v): NoAnswer %v, NeverSent %v", tc.name, tc.err, api.NoAnswer(tc.err), api.NeverSent(tc.err))
		}
	}
}
