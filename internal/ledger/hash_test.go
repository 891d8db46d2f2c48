package ledger

import (
	"encoding/json"
	"testing"

	"github.com/reten/reconcile/internal/api"
)

func baseRequest() api.SubmitRequest {
	return api.SubmitRequest{
		ActivityID:         "3f1c9a52-0001-4000-8000-000000000001",
		CommerceExternalID: "COM-001",
		OccurredAt:         "2026-04-11T10:30:00.000Z",
		Status:             api.StatusEffective,
		RawPayload:         json.RawMessage(`{"a":1,"b":{"y":2,"x":"ñ"}}`),
		TaskResult: api.TaskResult{
			Result:  "SALE_COMPLETED",
			Comment: "cliente contento",
			Payload: json.RawMessage(`{"k":"v"}`),
		},
	}
}

func mustHash(t *testing.T, r api.SubmitRequest) string {
	t.Helper()
	h, err := PayloadHash(&r)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestPayloadHash(t *testing.T) {
	base := mustHash(t, baseRequest())
	if len(base) != 64 {
		t.Fatalf("hash %q is not hex sha256", base)
	}
	tests := []struct {
		name string
		edit func(*api.SubmitRequest)
		same bool
	}{
		{"unchanged", func(r *api.SubmitRequest) {}, true},
		{"hard_override ignored", func(r *api.SubmitRequest) { r.HardOverride = true }, true},
		{"raw_payload key order and spacing ignored", func(r *api.SubmitRequest) {
			r.RawPayload = json.RawMessage("{ \"b\" : {\"x\":\"ñ\", \"y\":2},\n \"a\":1 }")
		}, true},
		{"raw_payload escaped unicode equals literal", func(r *api.SubmitRequest) {
			r.RawPayload = json.RawMessage(`{"a":1,"b":{"y":2,"x":"\u00f1"}}`)
		}, true},
		{"comment", func(r *api.SubmitRequest) { r.TaskResult.Comment = "cliente contento." }, false},
		{"result code", func(r *api.SubmitRequest) { r.TaskResult.Result = "NOT_INTERESTED" }, false},
		{"occurred_at", func(r *api.SubmitRequest) { r.OccurredAt = "2026-04-11T10:31:00.000Z" }, false},
		{"status", func(r *api.SubmitRequest) { r.Status = api.StatusPending }, false},
		{"activity", func(r *api.SubmitRequest) { r.ActivityID = "3f1c9a52-0001-4000-8000-000000000002" }, false},
		{"raw_payload value", func(r *api.SubmitRequest) { r.RawPayload = json.RawMessage(`{"a":2,"b":{"y":2,"x":"ñ"}}`) }, false},
		{"raw_payload number spelling", func(r *api.SubmitRequest) { r.RawPayload = json.RawMessage(`{"a":1.0,"b":{"y":2,"x":"ñ"}}`) }, false},
		{"payload dropped", func(r *api.SubmitRequest) { r.TaskResult.Payload = nil }, false},
		{"future date added", func(r *api.SubmitRequest) { r.TaskResult.FutureScheduledAt = "2026-12-01T09:00:00.000Z" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := baseRequest()
			tt.edit(&r)
			if got := mustHash(t, r) == base; got != tt.same {
				t.Errorf("same hash = %v, want %v", got, tt.same)
			}
		})
	}
}

func TestPayloadHashBadRaw(t *testing.T) {
	r := baseRequest()
	r.RawPayload = json.RawMessage(`{"a":`)
	if _, err := PayloadHash(&r); err == nil {
		t.Fatal("no error for a raw_payload that is not JSON")
	}
}

// The fast canonical form must be byte for byte the one the hash is defined
// by, or every ledger written before would see its rows as changed.
func TestCanonicalRequestMatchesDefinition(t *testing.T) {
	reqs := []api.SubmitRequest{baseRequest(), {}}
	r := baseRequest()
	r.ProviderActivityID, r.ExternalStatus, r.HardOverride = "P-1", "Visitado <ok> & \"listo\"", true
	r.TaskResult.ContactType, r.TaskResult.OperatorExternalID, r.TaskResult.FutureScheduledAt = "PHONE", "OP\u2028-7", "2026-12-01T09:00:00.000Z"
	r.RawPayload = json.RawMessage(" [1, 2.50, {\"z\": null, \"a\": \"<b>\"}] ")
	r.TaskResult.Payload = json.RawMessage(`"\u003c"`)
	reqs = append(reqs, r)
	r = baseRequest()
	r.RawPayload, r.TaskResult.Payload = json.RawMessage("null"), nil
	r.TaskResult.Comment = "tab\tnew\nline \x01 émoji 🙂"
	reqs = append(reqs, r)
	r = baseRequest()
	r.TaskResult.Comment = "bad \xff utf-8"
	reqs = append(reqs, r)
	// Without raw JSON and with plain strings: written directly.
	r = baseRequest()
	r.RawPayload, r.TaskResult.Payload, r.HardOverride = nil, nil, true
	reqs = append(reqs, r)
	r.ActivityID, r.ProviderActivityID, r.ExternalStatus = "", "P-1", "visitado, señor 🙂"
	r.TaskResult.ContactType, r.TaskResult.OperatorExternalID, r.TaskResult.FutureScheduledAt = "PHONE", "OP-7", "2026-12-01T09:00:00.000Z"
	reqs = append(reqs, r)
	r.TaskResult.Comment, r.Status = "", ""
	reqs = append(reqs, r)
	for i, r := range reqs {
		fast, err1 := canonicalRequest(&r)
		slow, err2 := slowCanonicalRequest(&r)
		if err1 != nil || err2 != nil || string(fast) != string(slow) {
			t.Errorf("request %d:\n fast %s (%v)\n slow %s (%v)", i, fast, err1, slow, err2)
		}
	}
}

// A request as a spreadsheet row gives it: plain strings, no raw JSON.
func BenchmarkPayloadHash(b *testing.B) {
	r := baseRequest()
	r.RawPayload, r.TaskResult.Payload = nil, nil
	b.ReportAllocs()
	for b.Loop() {
		if _, err := PayloadHash(&r); err != nil {
			b.Fatal(err)
		}
	}
}
