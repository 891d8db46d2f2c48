package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/sandbox"
)

// Activities of samples/tenant.json.
const (
	act1     = "8a2da0ef-e94a-5f98-ad28-4741ec9a5245" // YOM-0001, COM-001, no result
	act2     = "26d662d6-6e54-5c60-9688-dfc147a14532" // YOM-0002, COM-002, no result
	act55    = "9f9de778-3b23-58be-86f1-b6b3e99c87e5" // YOM-0055, 0004555, has a result
	noSuchID = "00000000-1111-4222-8333-444444444444"
)

func sampleTenant(t testing.TB) *sandbox.Tenant {
	t.Helper()
	tn, err := sandbox.LoadTenant("../../samples/tenant.json")
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

// start serves a fresh sandbox of the sample tenant on loopback.
func start(t testing.TB) (*sandbox.Server, *httptest.Server) {
	t.Helper()
	srv := sandbox.New(sampleTenant(t))
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return srv, hs
}

func client(t testing.TB, hs *httptest.Server, key string) *api.Client {
	t.Helper()
	c, err := api.NewClient(hs.URL, key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// valid is a request the sample tenant accepts.
func valid() *api.SubmitRequest {
	return &api.SubmitRequest{
		ActivityID:         act1,
		CommerceExternalID: "COM-001",
		OccurredAt:         "2026-04-11T10:30:00.000Z",
		Status:             api.StatusEffective,
		TaskResult:         api.TaskResult{Result: "SALE_COMPLETED"},
	}
}

// validWith returns valid() as JSON with edit applied to its generic form, so
// that cases can send wrong types the typed request cannot hold.
func validWith(edit func(m map[string]any)) []byte {
	data, _ := json.Marshal(valid())
	var m map[string]any
	json.Unmarshal(data, &m)
	edit(m)
	data, _ = json.Marshal(m)
	return data
}

func taskResult(m map[string]any) map[string]any { return m["task_result"].(map[string]any) }

func submit(edit func(r *api.SubmitRequest)) func(context.Context, *api.Client) error {
	return func(ctx context.Context, c *api.Client) error {
		r := valid()
		if edit != nil {
			edit(r)
		}
		_, err := c.SubmitResult(ctx, r)
		return err
	}
}

func submitRaw(body []byte) func(context.Context, *api.Client) error {
	return func(ctx context.Context, c *api.Client) error {
		_, err := c.SubmitRaw(ctx, body)
		return err
	}
}

func listConfigs(ctx context.Context, c *api.Client) error {
	_, err := c.ListResultTypeConfigs(ctx)
	return err
}

func listPage(f api.ActivityFilter, page, perPage int) func(context.Context, *api.Client) error {
	return func(ctx context.Context, c *api.Client) error {
		_, err := c.ActivitiesPage(ctx, f, page, perPage)
		return err
	}
}

// TestErrorTable drives every row of the contract's error table through the
// real client and checks the typed error it returns.
func TestErrorTable(t *testing.T) {
	past := api.FormatTime(time.Now().Add(-time.Hour))
	tests := []struct {
		name   string
		key    string // default rtn_sk_demo
		faults sandbox.Faults
		call   func(context.Context, *api.Client) error
		status int
		errStr string // default http.StatusText(status)
		msg    string
	}{
		// 400, one per validation rule.
		{name: "body not JSON", call: submitRaw([]byte(`{"activity_id": `)), status: 400, msg: "body is not valid JSON"},
		{name: "body not an object", call: submitRaw([]byte(`[1,2]`)), status: 400, msg: "body must be a JSON object"},
		{name: "empty body", call: submitRaw([]byte(` `)), status: 400, msg: "body is empty: send the result as a JSON object"},
		{name: "hard_override a string", call: submitRaw(validWith(func(m map[string]any) { m["hard_override"] = "true" })), status: 400, msg: "hard_override must be a boolean value"},
		{name: "task_result not an object", call: submitRaw(validWith(func(m map[string]any) { m["task_result"] = "SALE_COMPLETED" })), status: 400, msg: "task_result must be an object"},
		{name: "raw_payload not an object", call: submitRaw(validWith(func(m map[string]any) { m["raw_payload"] = []int{1} })), status: 400, msg: "raw_payload must be an object"},
		{name: "payload not an object", call: submitRaw(validWith(func(m map[string]any) { taskResult(m)["payload"] = "x" })), status: 400, msg: "task_result.payload must be an object"},
		{name: "occurred_at a number", call: submitRaw(validWith(func(m map[string]any) { m["occurred_at"] = 20260411 })), status: 400, msg: "occurred_at must be a string"},
		{name: "commerce_external_id missing", call: submit(func(r *api.SubmitRequest) { r.CommerceExternalID = "" }), status: 400, msg: "commerce_external_id is required"},
		{name: "occurred_at missing", call: submit(func(r *api.SubmitRequest) { r.OccurredAt = "" }), status: 400, msg: "occurred_at is required"},
		{name: "status missing", call: submit(func(r *api.SubmitRequest) { r.Status = "" }), status: 400, msg: "status is required"},
		{name: "task_result missing", call: submitRaw(validWith(func(m map[string]any) { delete(m, "task_result") })), status: 400, msg: "task_result is required"},
		{name: "task_result.result missing", call: submit(func(r *api.SubmitRequest) { r.TaskResult.Result = "" }), status: 400, msg: "task_result.result is required"},
		{name: "neither id", call: submit(func(r *api.SubmitRequest) { r.ActivityID = "" }), status: 400, msg: "activity_id or provider_activity_id is required"},
		{name: "activity_id not a UUID", call: submit(func(r *api.SubmitRequest) { r.ActivityID = "YOM-0001" }), status: 400, msg: "activity_id must be a UUID"},
		{name: "status unknown", call: submit(func(r *api.SubmitRequest) { r.Status = "DONE" }), status: 400, msg: "status must be one of the following values: EFFECTIVE, NOT_EFFECTIVE, PENDING"},
		{name: "contact_type unknown", call: submit(func(r *api.SubmitRequest) { r.TaskResult.ContactType = "PHONE" }), status: 400, msg: "task_result.contact_type must be one of the following values: INBOUND, OUTBOUND"},
		{name: "occurred_at not ISO 8601", call: submit(func(r *api.SubmitRequest) { r.OccurredAt = "11/04/2026 10:30" }), status: 400, msg: "occurred_at must be a valid ISO 8601 date string"},
		{name: "future_scheduled_at not ISO 8601", call: submit(func(r *api.SubmitRequest) {
			r.TaskResult.Result, r.TaskResult.FutureScheduledAt = "RESCHEDULE", "mañana"
		}), status: 400, msg: "task_result.future_scheduled_at must be a valid ISO 8601 date string"},
		{name: "unknown result code", call: submit(func(r *api.SubmitRequest) { r.TaskResult.Result = "VENTA" }), status: 400, msg: "task_result.result must be a valid result type code"},
		{name: "future_scheduled_at missing", call: submit(func(r *api.SubmitRequest) { r.TaskResult.Result = "RESCHEDULE" }), status: 400, msg: "task_result.future_scheduled_at is required when task_result.result is RESCHEDULE"},
		{name: "future_scheduled_at past", call: submit(func(r *api.SubmitRequest) {
			r.TaskResult.Result, r.TaskResult.FutureScheduledAt = "RESCHEDULE", past
		}), status: 400, msg: "task_result.future_scheduled_at must be a date in the future"},
		{name: "unknown field", call: submitRaw(validWith(func(m map[string]any) { m["colour"] = "red" })), status: 400, msg: "property colour should not exist"},
		{name: "several problems at once", call: submit(func(r *api.SubmitRequest) { r.Status, r.TaskResult.Result = "", "VENTA" }), status: 400, msg: "status is required; task_result.result must be a valid result type code"},
		{name: "page 0", call: listPage(api.ActivityFilter{}, 0, 20), status: 400, msg: "page must be a whole number from 1 to 1073741824"},
		{name: "per_page 101", call: listPage(api.ActivityFilter{}, 1, 101), status: 400, msg: "per_page must be a whole number from 1 to 100"},
		{name: "status filter unknown", call: listPage(api.ActivityFilter{Status: "DONE"}, 1, 20), status: 400, msg: "status must be one of the following values: PENDING, IN_PROGRESS, COMPLETED, CANCELLED"},
		{name: "result_status filter unknown", call: listPage(api.ActivityFilter{ResultStatus: "OK"}, 1, 20), status: 400, msg: "result_status must be one of the following values: EFFECTIVE, NOT_EFFECTIVE, PENDING"},

		// 401, for every kind of bad key and on every endpoint.
		{name: "unknown key", key: "rtn_sk_nope", call: submit(nil), status: 401, msg: "API key missing or invalid"},
		{name: "key with extra characters", key: "rtn_sk_demo!", call: submit(nil), status: 401, msg: "API key missing or invalid"},
		{name: "key cut short", key: "rtn_sk_dem", call: submit(nil), status: 401, msg: "API key missing or invalid"},
		{name: "revoked key", key: "rtn_sk_revoked", call: submit(nil), status: 401, msg: "API key missing or invalid"},
		{name: "expired key", key: "rtn_sk_expired", call: submit(nil), status: 401, msg: "API key missing or invalid"},
		{name: "unknown key on configs", key: "rtn_sk_nope", call: listConfigs, status: 401, msg: "API key missing or invalid"},
		{name: "expired key on activities", key: "rtn_sk_expired", call: listPage(api.ActivityFilter{}, 1, 20), status: 401, msg: "API key missing or invalid"},
		{name: "401 before 403", key: "rtn_sk_revoked", call: listConfigs, status: 401, msg: "API key missing or invalid"},

		// 403, one per endpoint.
		{name: "viewer submits", key: "rtn_sk_viewer", call: submit(nil), status: 403, msg: "Insufficient permissions"},
		{name: "submitter lists configs", key: "rtn_sk_submitter", call: listConfigs, status: 403, msg: "Insufficient permissions"},
		{name: "submitter lists activities", key: "rtn_sk_submitter", call: listPage(api.ActivityFilter{}, 1, 20), status: 403, msg: "Insufficient permissions"},
		{name: "403 before faults", key: "rtn_sk_viewer", faults: sandbox.Faults{FailRate: 1}, call: submit(nil), status: 403, msg: "Insufficient permissions"},
		{name: "403 before validation", key: "rtn_sk_viewer", call: submitRaw([]byte(`nope`)), status: 403, msg: "Insufficient permissions"},

		// 404.
		{name: "unknown activity_id", call: submit(func(r *api.SubmitRequest) { r.ActivityID = noSuchID }), status: 404, msg: "Activity not found: no activity with activity_id " + noSuchID},
		{name: "unknown provider_activity_id", call: submit(func(r *api.SubmitRequest) { r.ActivityID, r.ProviderActivityID = "", "YOM-9999" }), status: 404, msg: "Activity not found: no activity with provider_activity_id YOM-9999"},
		{name: "commerce of another activity", call: submit(func(r *api.SubmitRequest) { r.CommerceExternalID = "COM-002" }), status: 404, msg: "Commerce not found: commerce_external_id COM-002 is not the commerce of this activity"},
		{name: "activity_id wins over a good provider id", call: submit(func(r *api.SubmitRequest) { r.ActivityID, r.ProviderActivityID = noSuchID, "YOM-0001" }), status: 404, msg: "Activity not found: no activity with activity_id " + noSuchID},
		{name: "validation before existence", call: submit(func(r *api.SubmitRequest) { r.ActivityID, r.Status = noSuchID, "DONE" }), status: 400, msg: "status must be one of the following values: EFFECTIVE, NOT_EFFECTIVE, PENDING"},

		// 409.
		{name: "activity already has a result", call: submit(func(r *api.SubmitRequest) { r.ActivityID, r.CommerceExternalID = act55, "0004555" }), status: 409, msg: "Activity already has a result"},
		{name: "by provider id too", call: submit(func(r *api.SubmitRequest) {
			r.ActivityID, r.ProviderActivityID, r.CommerceExternalID = "", "YOM-0055", "0004555"
		}), status: 409, msg: "Activity already has a result"},

		// 5xx and 429 from faults.
		{name: "5xx fault", faults: sandbox.Faults{FailRate: 1}, call: submit(nil), status: 500, msg: "Injected fault: try again later"},
		{name: "5xx fault on configs", faults: sandbox.Faults{FailRate: 1}, call: listConfigs, status: 500, msg: "Injected fault: try again later"},
		{name: "5xx before validation", faults: sandbox.Faults{FailRate: 1}, call: submitRaw([]byte(`nope`)), status: 500, msg: "Injected fault: try again later"},
		{name: "fault after store", faults: sandbox.Faults{FailAfterStoreRate: 1, Seed: 1}, call: submit(nil), status: 500, msg: "Injected fault after storing the result"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, hs := start(t)
			srv.SetFaults(tt.faults)
			key := tt.key
			if key == "" {
				key = "rtn_sk_demo"
			}
			err := tt.call(context.Background(), client(t, hs, key))
			e, ok := api.AsError(err)
			if !ok {
				t.Fatalf("got %v (%T), want an *api.Error", err, err)
			}
			want := tt.errStr
			if want == "" {
				want = http.StatusText(tt.status)
			}
			status := e.StatusCode
			if tt.status == 500 && status >= 500 {
				// The dice pick 500, 502 or 503.
				want, tt.status = http.StatusText(status), status
			}
			if status != tt.status || e.Err != want || e.Message != tt.msg {
				t.Errorf("got %d %q %q\nwant %d %q %q", status, e.Err, e.Message, tt.status, want, tt.msg)
			}
			if got := api.Retryable(context.Background(), err); got != (status >= 500 || status == 429) {
				t.Errorf("Retryable = %v for %d", got, status)
			}
		})
	}
}

// rawPost sends what the client refuses to send.
func rawPost(t *testing.T, url string, header http.Header, body string) (int, api.ErrorBody, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var eb api.ErrorBody
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if resp.StatusCode >= 400 {
		if err := dec.Decode(&eb); err != nil {
			t.Fatalf("error body %s is not exactly {statusCode, error, message}: %v", data, err)
		}
		if eb.StatusCode != resp.StatusCode {
			t.Errorf("body statusCode %d, answer %d", eb.StatusCode, resp.StatusCode)
		}
	}
	return resp.StatusCode, eb, resp.Header
}

// TestRawRequests covers the rows a well-behaved client cannot produce: no
// key, a key with a space, two keys, a wrong Content-Type, unknown paths.
func TestRawRequests(t *testing.T) {
	_, hs := start(t)
	body, _ := json.Marshal(valid())
	submitURL := hs.URL + api.PathSubmit
	h := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Add(kv[i], kv[i+1])
		}
		return h
	}
	tests := []struct {
		name   string
		url    string
		header http.Header
		status int
		msg    string
	}{
		{"no key", submitURL, h("Content-Type", "application/json"), 401, "API key missing or invalid"},
		{"key with a space", submitURL, h("Content-Type", "application/json", "x-api-key", "rtn_sk_demo x"), 401, "API key missing or invalid"},
		{"key sent twice", submitURL, h("Content-Type", "application/json", "x-api-key", "rtn_sk_demo", "x-api-key", "rtn_sk_demo"), 401, "API key missing or invalid"},
		{"key in lower case", submitURL, h("Content-Type", "application/json", "x-api-key", "RTN_SK_DEMO"), 401, "API key missing or invalid"},
		{"text/plain", submitURL, h("Content-Type", "text/plain", "x-api-key", "rtn_sk_demo"), 400, "Content-Type must be application/json, got text/plain"},
		{"no Content-Type", submitURL, h("x-api-key", "rtn_sk_demo"), 400, "Content-Type must be application/json, got none"},
		{"unknown path", hs.URL + "/api/integration/nothing", h("x-api-key", "rtn_sk_demo"), 404, "Cannot POST /api/integration/nothing"},
		{"wrong method", hs.URL + api.PathConfigs, h("x-api-key", "rtn_sk_demo"), 404, "Cannot POST " + api.PathConfigs},
		{"unknown control path", hs.URL + "/_sandbox/nothing", h(), 404, "Cannot POST /_sandbox/nothing: the sandbox serves GET /_sandbox/stats, GET /_sandbox/requests, GET and POST /_sandbox/faults, POST /_sandbox/reset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, eb, _ := rawPost(t, tt.url, tt.header, string(body))
			if status != tt.status || eb.Error != http.StatusText(tt.status) || eb.Message != tt.msg {
				t.Errorf("got %d %q %q, want %d %q", status, eb.Error, eb.Message, tt.status, tt.msg)
			}
		})
	}
	t.Run("charset is fine", func(t *testing.T) {
		status, eb, _ := rawPost(t, submitURL, h("Content-Type", "application/json; charset=utf-8", "x-api-key", "rtn_sk_demo"), string(body))
		if status != 201 {
			t.Errorf("got %d %+v, want 201", status, eb)
		}
	})
}

func TestSpacedKeyNeverLeavesTheClient(t *testing.T) {
	srv, hs := start(t)
	for _, key := range []string{"rtn_sk_demo ", " rtn_sk_demo", "rtn_sk _demo", "rtn_sk_demo\n", ""} {
		_, err := client(t, hs, key).SubmitResult(context.Background(), valid())
		var ke *api.KeyError
		if !errors.As(err, &ke) {
			t.Errorf("key %q: got %v, want a *api.KeyError", key, err)
		}
		if api.Retryable(context.Background(), err) {
			t.Errorf("key %q: a bad key is retryable", key)
		}
	}
	if n := srv.Stats().Requests; n != 0 {
		t.Errorf("the sandbox got %d requests, want none", n)
	}
}

func TestRateLimit(t *testing.T) {
	srv, hs := start(t)
	srv.SetFaults(sandbox.Faults{RateLimit: 1})
	c := client(t, hs, "rtn_sk_nope")
	// The first request takes the one token and meets the key check; the next
	// is refused before the key is even looked at.
	if e, _ := api.AsError(listConfigs(context.Background(), c)); e == nil || e.StatusCode != 401 {
		t.Fatalf("first request: got %v, want 401", e)
	}
	err := listConfigs(context.Background(), c)
	e, ok := api.AsError(err)
	if !ok || e.StatusCode != 429 || e.Err != "Too Many Requests" {
		t.Fatalf("got %v, want 429", err)
	}
	if e.RetryAfter != time.Second {
		t.Errorf("RetryAfter = %v, want 1s", e.RetryAfter)
	}
	if !strings.HasPrefix(e.Message, "Too many requests: at most 1 a second; retry after 1 s") {
		t.Errorf("message %q", e.Message)
	}
	if !api.Retryable(context.Background(), err) {
		t.Error("429 is not retryable")
	}
	if st := srv.Stats(); st.Status[429] != 1 || st.Status[401] != 1 {
		t.Errorf("status counts %v", st.Status)
	}
}

func TestRetryAfterRoundsUp(t *testing.T) {
	srv, hs := start(t)
	srv.SetFaults(sandbox.Faults{RateLimit: 0.25}) // a token every 4 s
	c := client(t, hs, "rtn_sk_demo")
	listConfigs(context.Background(), c)
	e, ok := api.AsError(listConfigs(context.Background(), c))
	if !ok || e.StatusCode != 429 {
		t.Fatalf("got %v, want 429", e)
	}
	if e.RetryAfter < 3*time.Second || e.RetryAfter > 4*time.Second {
		t.Errorf("RetryAfter = %v, want 4s (or 3s on a slow machine)", e.RetryAfter)
	}
}

func TestStateAndCounters(t *testing.T) {
	srv, hs := start(t)
	ctx := context.Background()
	c := client(t, hs, "rtn_sk_demo")

	first, err := c.SubmitResult(ctx, valid())
	if err != nil {
		t.Fatal(err)
	}
	if first.StatusCode != 201 || first.ID == "" {
		t.Fatalf("got %+v, want 201 with an id", first)
	}
	var body map[string]any
	json.Unmarshal(first.Body, &body)
	if body["activityId"] != act1 || body["result"] != "SALE_COMPLETED" || body["replaced"] != false {
		t.Errorf("201 body %s", first.Body)
	}

	// The same activity named by its provider id is the same activity.
	again := valid()
	again.ActivityID, again.ProviderActivityID = "", "YOM-0001"
	_, err = c.SubmitResult(ctx, again)
	if e, ok := api.AsError(err); !ok || e.StatusCode != 409 || e.Message != "Activity already has a result" {
		t.Fatalf("second submission: got %v, want 409", err)
	}

	override := valid()
	override.HardOverride = true
	override.TaskResult.Result = "NOT_INTERESTED"
	override.Status = api.StatusNotEffective
	second, err := c.SubmitResult(ctx, override)
	if err != nil {
		t.Fatalf("hard_override: %v", err)
	}
	if second.ID == first.ID {
		t.Errorf("the replacement kept id %s", second.ID)
	}

	res, ok := srv.Result("YOM-0001")
	if !ok || res.ID != second.ID || !res.HardOverride || res.ResultCode != "NOT_INTERESTED" || res.Status != api.StatusNotEffective {
		t.Errorf("stored result %+v", res)
	}
	var stored api.SubmitRequest
	if err := json.Unmarshal(res.Body, &stored); err != nil || stored.TaskResult.Result != "NOT_INTERESTED" || !stored.HardOverride {
		t.Errorf("stored body %s (%v)", res.Body, err)
	}

	// A preloaded result can be overridden too, and an untouched activity has none.
	pre := valid()
	pre.ActivityID, pre.CommerceExternalID, pre.HardOverride = act55, "0004555", true
	if _, err := c.SubmitResult(ctx, pre); err != nil {
		t.Errorf("overriding a preloaded result: %v", err)
	}
	if _, ok := srv.Result(act2); ok {
		t.Error("activity 2 has a result nobody sent")
	}
	if r, ok := srv.Result("YOM-0056"); !ok || !r.Preloaded {
		t.Errorf("YOM-0056: got %+v %v, want the preloaded result", r, ok)
	}

	st := srv.Stats()
	if st.Requests != 4 || st.Stored != 3 || st.Status[201] != 3 || st.Status[409] != 1 {
		t.Errorf("stats %+v", st)
	}
	if got := st.Activities[act1]; got != (sandbox.ActivityStats{Posts: 3, Stored: 2, Overrides: 1, Conflicts: 1}) {
		t.Errorf("activity 1 stats %+v", got)
	}
	if got := st.Activities[act55]; got != (sandbox.ActivityStats{Posts: 1, Stored: 1, Overrides: 1}) {
		t.Errorf("activity 55 stats %+v", got)
	}
	if _, ok := st.Activities["YOM-0001"]; ok {
		t.Errorf("a provider id has its own counters: %+v", st.Activities)
	}
	reqs := srv.Requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests logged, want 4", len(reqs))
	}
	if r := reqs[1]; r.ActivityKey != "YOM-0001" || r.Status != 409 || r.Stored {
		t.Errorf("second request logged as %+v", r)
	}
	if r := reqs[2]; r.ActivityKey != act1 || !r.HardOverride || r.Status != 201 || !r.Stored {
		t.Errorf("third request logged as %+v", r)
	}

	// The listing shows the stored result.
	acts, err := c.ListActivities(ctx, api.ActivityFilter{ExternalCommerceID: "COM-001"})
	if err != nil {
		t.Fatal(err)
	}
	if len(acts) != 4 || acts[0].ID != act1 || acts[0].Status != "COMPLETED" || acts[1].Status != "PENDING" {
		t.Errorf("COM-001 activities %+v", acts)
	}

	srv.Reset()
	if _, err := c.SubmitResult(ctx, valid()); err != nil {
		t.Errorf("after Reset: %v", err)
	}
	if st := srv.Stats(); st.Requests != 1 || st.Stored != 1 {
		t.Errorf("after Reset: %+v", st)
	}
}

func TestFaultsBeforeStoring(t *testing.T) {
	srv, hs := start(t)
	ctx := context.Background()
	c := client(t, hs, "rtn_sk_demo")

	srv.SetFaults(sandbox.Faults{DropRate: 1})
	_, err := c.SubmitResult(ctx, valid())
	if err == nil || !api.Retryable(ctx, err) {
		t.Fatalf("dropped connection: got %v, want a retryable error", err)
	}
	if _, ok := api.AsError(err); ok {
		t.Errorf("dropped connection gave an API error: %v", err)
	}
	srv.SetFaults(sandbox.Faults{FailRate: 1})
	if _, err := c.SubmitResult(ctx, valid()); !api.Retryable(ctx, err) {
		t.Fatalf("5xx: got %v", err)
	}
	if _, ok := srv.Result(act1); ok {
		t.Fatal("a result was stored despite the fault")
	}

	// A result stored whose answer was lost makes the retry a 409.
	srv.SetFaults(sandbox.Faults{FailAfterStoreRate: 1})
	_, err = c.SubmitResult(ctx, valid())
	if !api.Retryable(ctx, err) {
		t.Fatalf("fault after store: got %v, want retryable", err)
	}
	if _, ok := srv.Result(act1); !ok {
		t.Fatal("the fault after store did not store")
	}
	srv.SetFaults(sandbox.Faults{})
	_, err = c.SubmitResult(ctx, valid())
	if e, ok := api.AsError(err); !ok || e.StatusCode != 409 {
		t.Fatalf("retry after a lost answer: got %v, want 409", err)
	}

	st := srv.Stats()
	if st.Requests != 4 || st.Stored != 1 || st.Activities[act1].Posts != 4 || st.Activities[act1].Stored != 1 {
		t.Errorf("stats %+v", st)
	}
	if st.Dropped+st.Status[500] != 2 || st.Dropped < 1 {
		t.Errorf("dropped %d, 500s %d", st.Dropped, st.Status[500])
	}
}

func TestFaultRatesAndSeed(t *testing.T) {
	run := func(seed int64) []int {
		srv, hs := start(t)
		srv.SetFaults(sandbox.Faults{FailRate: 0.3, Seed: seed})
		c := client(t, hs, "rtn_sk_demo")
		var got []int
		for range 200 {
			status := 200
			if e, ok := api.AsError(listConfigs(context.Background(), c)); ok {
				status = e.StatusCode
			}
			got = append(got, status)
		}
		return got
	}
	a, b := run(7), run(7)
	fails := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("seed 7 gave different faults on request %d: %d and %d", i, a[i], b[i])
		}
		if a[i] != 200 {
			fails++
		}
	}
	// 200 draws at 0.3: 60 expected; 30..90 is more than 4 standard deviations.
	if fails < 30 || fails > 90 {
		t.Errorf("%d of 200 failed at FailRate 0.3", fails)
	}
}

func TestListActivities(t *testing.T) {
	srv, hs := start(t)
	c := client(t, hs, "rtn_sk_viewer")
	ctx := context.Background()
	p, err := c.ActivitiesPage(ctx, api.ActivityFilter{}, 3, 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Data) != 20 || p.Meta != (api.PageMeta{Page: 3, Limit: 20, Total: 60, TotalPages: 3}) || p.Data[0].ProviderActivityID != "YOM-0041" {
		t.Errorf("page 3: meta %+v, first %+v", p.Meta, p.Data[0])
	}
	if p, err = c.ActivitiesPage(ctx, api.ActivityFilter{}, 4, 20); err != nil || len(p.Data) != 0 || p.Meta.Total != 60 {
		t.Errorf("page 4: %+v %v", p, err)
	}

	// Defaults when page and per_page are not sent.
	resp, err := http.DefaultClient.Do(func() *http.Request {
		r, _ := http.NewRequest(http.MethodGet, hs.URL+api.PathActivities, nil)
		r.Header.Set("x-api-key", "rtn_sk_viewer")
		return r
	}())
	if err != nil {
		t.Fatal(err)
	}
	var def api.ActivityPage
	json.NewDecoder(resp.Body).Decode(&def)
	resp.Body.Close()
	if def.Meta != (api.PageMeta{Page: 1, Limit: 20, Total: 60, TotalPages: 3}) || len(def.Data) != 20 {
		t.Errorf("defaults: %+v", def.Meta)
	}

	for _, tt := range []struct {
		f    api.ActivityFilter
		want int
	}{
		{api.ActivityFilter{}, 60},
		{api.ActivityFilter{ResultStatus: "PENDING"}, 54},
		{api.ActivityFilter{ResultStatus: "EFFECTIVE"}, 6},
		{api.ActivityFilter{Status: "COMPLETED"}, 6},
		{api.ActivityFilter{Status: "CANCELLED"}, 0},
		{api.ActivityFilter{ExternalCommerceID: "COM-002"}, 4},
		{api.ActivityFilter{ExternalCommerceID: "COM-002", Status: "PENDING"}, 4},
		{api.ActivityFilter{Channel: "CALLCENTER"}, 0},
	} {
		acts, err := c.ListActivities(ctx, tt.f)
		if err != nil || len(acts) != tt.want {
			t.Errorf("%+v: got %d activities (%v), want %d", tt.f, len(acts), err, tt.want)
		}
	}
	if n := srv.Stats().Status[200]; n != 11 {
		t.Errorf("%d answers 200, want 11", n)
	}
}

func TestControlEndpoints(t *testing.T) {
	srv, hs := start(t)
	resp, err := http.Post(hs.URL+"/_sandbox/faults", "application/json", strings.NewReader(`{"fail_rate":0.5,"latency":"20ms","rate_limit":50,"seed":3}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := srv.Faults(); got != (sandbox.Faults{FailRate: 0.5, Latency: 20 * time.Millisecond, RateLimit: 50, Seed: 3}) {
		t.Errorf("faults %+v", got)
	}
	resp, err = http.Post(hs.URL+"/_sandbox/faults", "application/json", strings.NewReader(`{"failrate":0.5}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || srv.Faults().FailRate != 0.5 {
		t.Errorf("a misspelt fault: %d, faults now %+v", resp.StatusCode, srv.Faults())
	}
	resp, err = http.Post(hs.URL+"/_sandbox/faults", "application/json", strings.NewReader(`{"fail_rate":2}`))
	if err != nil {
		t.Fatal(err)
	}
	var eb api.ErrorBody
	json.NewDecoder(resp.Body).Decode(&eb)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(eb.Message, "fail rate 2 must be between 0 and 1") {
		t.Errorf("bad faults: %d %+v", resp.StatusCode, eb)
	}
	srv.SetFaults(sandbox.Faults{})
	client(t, hs, "rtn_sk_demo").SubmitResult(context.Background(), valid())

	resp, err = http.Get(hs.URL + "/_sandbox/stats")
	if err != nil {
		t.Fatal(err)
	}
	var st sandbox.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if st.Requests != 1 || st.Status[201] != 1 || st.Activities[act1].Stored != 1 {
		t.Errorf("stats over HTTP %+v", st)
	}
	resp, err = http.Get(hs.URL + "/_sandbox/requests")
	if err != nil {
		t.Fatal(err)
	}
	var reqs []sandbox.Request
	json.NewDecoder(resp.Body).Decode(&reqs)
	resp.Body.Close()
	if len(reqs) != 1 || reqs[0].ActivityKey != act1 || reqs[0].Status != 201 {
		t.Errorf("requests over HTTP %+v", reqs)
	}
}

func TestParseTenantErrors(t *testing.T) {
	good := `"configs":[{"code":"A"}],"activities":[{"id":"` + act1 + `","commerce_external_id":"C"}]`
	tests := []struct{ name, json, want string }{
		{"not JSON", "{\n\"keys\": {,}", "line 2, column 10: not valid JSON"},
		{"wrong type", `{"keys": {"k": "VIEW_ACTIVITIES"}}`, `line 1, column 32: "keys" must be a JSON []string`},
		{"unknown field", `{"kees": {}}`, `unknown field "kees"`},
		{"no keys", `{` + good + `}`, `"keys" is empty`},
		{"bad permission", `{"keys":{"k":["ADMIN"]},` + good + `}`, `unknown permission "ADMIN"`},
		{"revoked unknown", `{"keys":{"k":[]},"revoked_keys":["rtn_sk_secret"],` + good + `}`, `"revoked_keys"[0] is not one of "keys"`},
		{"bad expiry", `{"keys":{"k":[]},"key_expiry":{"k":"tomorrow"},` + good + `}`, `"key_expiry": "tomorrow" is not an RFC 3339 time`},
		{"no configs", `{"keys":{"k":[]}}`, `"configs" is empty`},
		{"bad id", `{"keys":{"k":[]},"configs":[{"code":"A"}],"activities":[{"id":"1","commerce_external_id":"C"}]}`, `"activities"[0]: "id" "1" is not a UUID`},
		{"duplicate id", `{"keys":{"k":[]},"configs":[{"code":"A"}],"activities":[{"id":"` + act1 + `","commerce_external_id":"C"},{"id":"` + act1 + `","commerce_external_id":"C"}]}`, `"activities"[1]: "id" "` + act1 + `" is also activities[0]'s`},
		{"no commerce", `{"keys":{"k":[]},"configs":[{"code":"A"}],"activities":[{"id":"` + act1 + `"}]}`, `"activities"[0] has no "commerce_external_id"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sandbox.ParseTenant([]byte(tt.json))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "rtn_sk_secret") {
				t.Errorf("the error names a key: %v", err)
			}
		})
	}
	if _, err := sandbox.LoadTenant("no/such/tenant.json"); err == nil || !strings.Contains(err.Error(), "pass --tenant") {
		t.Errorf("missing file: %v", err)
	}
}

func TestSyntheticTenant(t *testing.T) {
	tn := sandbox.SyntheticTenant(250)
	data, _ := json.Marshal(tn)
	if _, err := sandbox.ParseTenant(data); err != nil {
		t.Fatalf("a synthetic tenant does not load back: %v", err)
	}
	hs := httptest.NewServer(sandbox.New(tn))
	defer hs.Close()
	acts, err := client(t, hs, "rtn_sk_demo").ListActivities(context.Background(), api.ActivityFilter{})
	if err != nil || len(acts) != 250 || acts[249].ProviderActivityID != "SYN-0000250" {
		t.Fatalf("got %d activities (%v)", len(acts), err)
	}
}

// TestAccepted checks the forms a valid body may take.
func TestAccepted(t *testing.T) {
	future := time.Now().Add(48 * time.Hour).UTC()
	for _, edit := range []func(r *api.SubmitRequest){
		nil,
		func(r *api.SubmitRequest) {
			r.TaskResult.Result, r.TaskResult.FutureScheduledAt = "RESCHEDULE", api.FormatTime(future)
		},
		func(r *api.SubmitRequest) {
			r.TaskResult.Result, r.TaskResult.FutureScheduledAt = "RESCHEDULE", future.Format("2006-01-02T15:04:05-07:00")
		},
		func(r *api.SubmitRequest) { r.ActivityID, r.ProviderActivityID = "", "YOM-0001" },
		func(r *api.SubmitRequest) { r.ProviderActivityID = "YOM-9999" }, // activity_id wins
		func(r *api.SubmitRequest) { r.OccurredAt = "2026-04-11" },
		func(r *api.SubmitRequest) { r.OccurredAt = "2026-04-11T10:30:00+02:00" },
		func(r *api.SubmitRequest) {
			r.ExternalStatus, r.RawPayload = "CERRADA", json.RawMessage(`{"row":7}`)
			r.TaskResult.Comment, r.TaskResult.ContactType, r.TaskResult.OperatorExternalID = "ok", api.ContactOutbound, "OP-1"
			r.TaskResult.Payload = json.RawMessage(`{"amount":12.5}`)
		},
	} {
		_, hs := start(t)
		r := valid()
		if edit != nil {
			edit(r)
		}
		if _, err := client(t, hs, "rtn_sk_submitter").SubmitResult(context.Background(), r); err != nil {
			body, _ := json.Marshal(r)
			t.Errorf("%s: %v", body, err)
		}
	}
}

// TestCountersFollowTheIDThatWins: a POST is counted under the activity its
// winning id names, never under one its other id happens to match.
func TestCountersFollowTheIDThatWins(t *testing.T) {
	srv, hs := start(t)
	c := client(t, hs, "rtn_sk_demo")
	ctx := context.Background()
	c.SubmitResult(ctx, &api.SubmitRequest{ActivityID: "YOM-0002", CommerceExternalID: "COM-002", OccurredAt: "2026-04-11", Status: "EFFECTIVE", TaskResult: api.TaskResult{Result: "NO_CONTACT"}})
	c.SubmitResult(ctx, &api.SubmitRequest{ActivityID: noSuchID, ProviderActivityID: "YOM-0002", CommerceExternalID: "COM-002", OccurredAt: "2026-04-11", Status: "EFFECTIVE", TaskResult: api.TaskResult{Result: "NO_CONTACT"}})
	c.SubmitResult(ctx, &api.SubmitRequest{ProviderActivityID: "YOM-0002", CommerceExternalID: "COM-002", OccurredAt: "2026-04-11", Status: "EFFECTIVE", TaskResult: api.TaskResult{Result: "NO_CONTACT"}})
	st := srv.Stats()
	want := map[string]sandbox.ActivityStats{
		"YOM-0002": {Posts: 1},
		noSuchID:   {Posts: 1},
		act2:       {Posts: 1, Stored: 1},
	}
	if len(st.Activities) != len(want) {
		t.Errorf("activities counted: %+v", st.Activities)
	}
	for k, v := range want {
		if st.Activities[k] != v {
			t.Errorf("%s: %+v, want %+v", k, st.Activities[k], v)
		}
	}
}

// TestConcurrentSubmissions: of many simultaneous first results for one
// activity exactly one is stored, and faults can change meanwhile.
func TestConcurrentSubmissions(t *testing.T) {
	srv, hs := start(t)
	c := client(t, hs, "rtn_sk_demo")
	var wg sync.WaitGroup
	var created, conflicts atomic.Int32
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%10 == 0 {
				srv.SetFaults(sandbox.Faults{Seed: int64(i)})
			}
			_, err := c.SubmitResult(context.Background(), valid())
			if err == nil {
				created.Add(1)
			} else if e, ok := api.AsError(err); ok && e.StatusCode == 409 {
				conflicts.Add(1)
			} else {
				t.Error(err)
			}
			srv.Stats()
		}()
	}
	wg.Wait()
	if created.Load() != 1 || conflicts.Load() != 39 {
		t.Errorf("%d created, %d conflicts; want 1 and 39", created.Load(), conflicts.Load())
	}
	if st := srv.Stats().Activities[act1]; st != (sandbox.ActivityStats{Posts: 40, Stored: 1, Conflicts: 39}) {
		t.Errorf("stats %+v", st)
	}
}

// TestHostileFaults: each fault a hostile server or something in the way
// plays, as the client meets it.
func TestHostileFaults(t *testing.T) {
	ctx := context.Background()
	t.Run("html-2xx-rate", func(t *testing.T) {
		srv, hs := start(t)
		srv.SetFaults(sandbox.Faults{HTML2xxRate: 1})
		req, _ := http.NewRequest(http.MethodPost, hs.URL+api.PathSubmit, strings.NewReader(string(validWith(func(map[string]any) {}))))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("x-api-key", "rtn_sk_demo")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(body), "<html>") {
			t.Errorf("got %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		_, err = client(t, hs, "rtn_sk_demo").SubmitResult(ctx, valid())
		var nr *api.NotResultError
		if !errors.As(err, &nr) || nr.StatusCode != 200 {
			t.Errorf("the client took the page for %v", err)
		}
		if _, ok := srv.Result(act1); ok {
			t.Error("a result was stored behind the page")
		}
	})
	t.Run("echo-key", func(t *testing.T) {
		srv, hs := start(t)
		srv.SetFaults(sandbox.Faults{EchoKey: true})
		body := validWith(func(map[string]any) {})
		req, _ := http.NewRequest(http.MethodPost, hs.URL+api.PathSubmit, strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("x-api-key", "rtn_sk_demo")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var stored struct{ ID string }
		json.NewDecoder(resp.Body).Decode(&stored)
		resp.Body.Close()
		if resp.StatusCode != 201 || stored.ID != "rtn_sk_demo" {
			t.Errorf("got %d, id %q: want the key echoed", resp.StatusCode, stored.ID)
		}
	})
	t.Run("store-then-500-rate", func(t *testing.T) {
		srv, hs := start(t)
		srv.SetFaults(sandbox.Faults{StoreThen500Rate: 1})
		c := client(t, hs, "rtn_sk_demo")
		for i := range 10 {
			srv.Reset()
			_, err := c.SubmitResult(ctx, valid())
			if e, ok := api.AsError(err); !ok || e.StatusCode != 500 || e.Message != "Injected fault after storing the result" {
				t.Fatalf("attempt %d: %v, want a 500 every time", i, err)
			}
			if _, ok := srv.Result(act1); !ok {
				t.Fatal("nothing stored before the 500")
			}
		}
	})
	t.Run("hang", func(t *testing.T) {
		srv, hs := start(t)
		srv.SetFaults(sandbox.Faults{Hang: true})
		c := client(t, hs, "rtn_sk_demo")
		c.Timeout = 50 * time.Millisecond
		start := time.Now()
		_, err := c.SubmitResult(ctx, valid())
		if !errors.Is(err, context.DeadlineExceeded) || !api.NoAnswer(err) {
			t.Errorf("got %v, want the client's own timeout", err)
		}
		if _, err := c.ListResultTypeConfigs(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("a GET was answered: %v", err)
		}
		if took := time.Since(start); took < 100*time.Millisecond {
			t.Errorf("answered in %v", took)
		}
		// The server learns that the client left a moment after the client.
		for deadline := time.Now().Add(5 * time.Second); srv.Stats().Gone < 2 && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		if st := srv.Stats(); st.Gone != 2 || st.Stored != 0 || len(st.Status) != 0 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("retry-after", func(t *testing.T) {
		srv, hs := start(t)
		srv.SetFaults(sandbox.Faults{RateLimit: 1e-9, RetryAfter: 86400 * 365})
		c := client(t, hs, "rtn_sk_demo")
		listConfigs(ctx, c) // takes the only token
		resp, err := http.Get(hs.URL + api.PathConfigs)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "31536000" {
			t.Errorf("got %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		e, ok := api.AsError(listConfigs(ctx, c))
		if !ok || e.StatusCode != 429 || e.RetryAfter != 24*time.Hour {
			t.Errorf("the client's sanity bound: %+v", e)
		}
	})
}

func TestHostileFaultsOverHTTP(t *testing.T) {
	srv, hs := start(t)
	resp, err := http.Post(hs.URL+"/_sandbox/faults", "application/json",
		strings.NewReader(`{"html_2xx_rate":0.25,"echo_key":true,"store_then_500_rate":0.5,"hang":true,"retry_after":3600}`))
	if err != nil {
		t.Fatal(err)
	}
	var got sandbox.Faults
	json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	want := sandbox.Faults{HTML2xxRate: 0.25, EchoKey: true, StoreThen500Rate: 0.5, Hang: true, RetryAfter: 3600}
	if resp.StatusCode != 200 || srv.Faults() != want || got != want {
		t.Errorf("%d: set %+v, answered %+v", resp.StatusCode, srv.Faults(), got)
	}
	for body, msg := range map[string]string{
		`{"html_2xx_rate":1,"fail_rate":0.5}`:                     "add up to more than 1",
		`{"store_then_500_rate":0.6,"fail_after_store_rate":0.6}`: "add up to more than 1",
		`{"retry_after":-1}`:                                      "retry-after -1 must be a number of seconds",
	} {
		resp, err := http.Post(hs.URL+"/_sandbox/faults", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var eb api.ErrorBody
		json.NewDecoder(resp.Body).Decode(&eb)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(eb.Message, msg) {
			t.Errorf("%s: %d %q", body, resp.StatusCode, eb.Message)
		}
	}
}
