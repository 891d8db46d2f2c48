package api

import (
	"bytes"
	"encoding/json"
	"testing"
)

func sameAsMarshal(t *testing.T, r *SubmitRequest) {
	t.Helper()
	want, werr := json.Marshal(r)
	got, gerr := MarshalRequest(r)
	if (werr != nil) != (gerr != nil) || !bytes.Equal(got, want) {
		t.Errorf("MarshalRequest(%+v):\n got %s, %v\nwant %s, %v", r, got, gerr, want, werr)
	}
}

func TestMarshalRequestMatchesEncodingJSON(t *testing.T) {
	full := SubmitRequest{ActivityID: "a1", ProviderActivityID: "p1", CommerceExternalID: "BC-1", OccurredAt: "2026-04-11T10:30:05.000Z",
		Status: "EFFECTIVE", ExternalStatus: "x", HardOverride: true,
		TaskResult: TaskResult{Result: "SALE", Comment: "Cliente pidió llamar después", ContactType: "PHONE", OperatorExternalID: "op", FutureScheduledAt: "2026-05-01"}}
	for _, r := range []SubmitRequest{
		{},
		{ActivityID: "a1", CommerceExternalID: "BC-1", OccurredAt: "2026-04-11", Status: "EFFECTIVE", TaskResult: TaskResult{Result: "SALE"}},
		{ProviderActivityID: "p1", TaskResult: TaskResult{Comment: "only a comment"}},
		full,
		{ActivityID: "a<b>&c", TaskResult: TaskResult{Comment: "line\nbreak \"quoted\" back\\slash \t\b\f\x01\x7f"}},
		{ActivityID: "bad \xff utf8", TaskResult: TaskResult{Comment: "sep \u2028 \u2029"}},
		{ActivityID: "raw", RawPayload: json.RawMessage(`{ "b": 1, "a": "<x>" }`), TaskResult: TaskResult{Payload: json.RawMessage(`[1, 2]`)}},
		{ActivityID: "bad raw", RawPayload: json.RawMessage(`{`)},
	} {
		sameAsMarshal(t, &r)
	}
}

func FuzzMarshalRequest(f *testing.F) {
	f.Add("a1", "", "BC-1", "2026-04-11", "EFFECTIVE", "", false, "SALE", "comentario ñ", "", "", "", "")
	f.Add("a<", "p\xff", "\u2028", "\n", "\"", "\\", true, "&", ">", "\x00", "\x7f", "{}", "")
	f.Fuzz(func(t *testing.T, aid, pid, ceid, at, st, est string, ho bool, res, com, ct, op, fut, raw string) {
		r := SubmitRequest{ActivityID: aid, ProviderActivityID: pid, CommerceExternalID: ceid, OccurredAt: at, Status: st,
			ExternalStatus: est, HardOverride: ho,
			TaskResult: TaskResult{Result: res, Comment: com, ContactType: ct, OperatorExternalID: op, FutureScheduledAt: fut}}
		if raw != "" {
			r.RawPayload = json.RawMessage(raw)
		}
		sameAsMarshal(t, &r)
	})
}
