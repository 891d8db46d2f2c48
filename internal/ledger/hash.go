package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/reten/reconcile/internal/api"
)

// PayloadHash is the hex sha256 of the request's canonical JSON without
// hard_override: two requests with the same hash would store the same result.
// Canonical means object keys sorted and no insignificant white space, so that
// raw_payload and task_result.payload hash alike however their JSON was spelled;
// numbers keep their spelling (1 and 1.0 differ), as the API may store them so.
func PayloadHash(r *api.SubmitRequest) (string, error) {
	var buf [512]byte
	canon, err := appendCanonicalRequest(buf[:0], r)
	if err != nil {
		return "", fmt.Errorf("ledger: hash of the request for activity %s: %w", r.ActivityKey(), err)
	}
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:]), nil
}

// sortedRequest and sortedResult are api.SubmitRequest and api.TaskResult with
// their fields in the order of their sorted JSON names, so that encoding one
// gives the canonical JSON at once (every run hashes each row twice: this is
// several times faster than re-encoding through a map).
type sortedRequest struct {
	ActivityID         string          `json:"activity_id,omitempty"`
	CommerceExternalID string          `json:"commerce_external_id"`
	ExternalStatus     string          `json:"external_status,omitempty"`
	OccurredAt         string          `json:"occurred_at"`
	ProviderActivityID string          `json:"provider_activity_id,omitempty"`
	RawPayload         json.RawMessage `json:"raw_payload,omitempty"`
	Status             string          `json:"status"`
	TaskResult         sortedResult    `json:"task_result"`
}

type sortedResult struct {
	Comment            string          `json:"comment,omitempty"`
	ContactType        string          `json:"contact_type,omitempty"`
	FutureScheduledAt  string          `json:"future_scheduled_at,omitempty"`
	OperatorExternalID string          `json:"operator_external_id,omitempty"`
	Payload            json.RawMessage `json:"payload,omitempty"`
	Result             string          `json:"result"`
}

// canonicalRequest is the canonical JSON of r without hard_override: the same
// bytes as canonicalJSON of its encoding.
func canonicalRequest(r *api.SubmitRequest) ([]byte, error) {
	return appendCanonicalRequest(nil, r)
}

// appendCanonicalRequest appends canonicalRequest(r) to b. Requests whose
// strings need no escaping and that carry no raw JSON (nearly all of them)
// are written directly, in the sorted order of their keys; encoding/json's
// reflection was about half of a submitter's hashing.
func appendCanonicalRequest(b []byte, r *api.SubmitRequest) ([]byte, error) {
	t := &r.TaskResult
	if len(r.RawPayload) == 0 && len(t.Payload) == 0 &&
		api.PlainJSON(r.ActivityID) && api.PlainJSON(r.CommerceExternalID) && api.PlainJSON(r.ExternalStatus) &&
		api.PlainJSON(r.OccurredAt) && api.PlainJSON(r.ProviderActivityID) && api.PlainJSON(r.Status) &&
		api.PlainJSON(t.Comment) && api.PlainJSON(t.ContactType) && api.PlainJSON(t.FutureScheduledAt) &&
		api.PlainJSON(t.OperatorExternalID) && api.PlainJSON(t.Result) {
		b = append(b, '{')
		b = appendPlain(b, `"activity_id":`, r.ActivityID, true)
		b = appendPlain(b, `"commerce_external_id":`, r.CommerceExternalID, false)
		b = appendPlain(b, `"external_status":`, r.ExternalStatus, true)
		b = appendPlain(b, `"occurred_at":`, r.OccurredAt, false)
		b = appendPlain(b, `"provider_activity_id":`, r.ProviderActivityID, true)
		b = appendPlain(b, `"status":`, r.Status, false)
		b = append(b, `"task_result":{`...)
		b = appendPlain(b, `"comment":`, t.Comment, true)
		b = appendPlain(b, `"contact_type":`, t.ContactType, true)
		b = appendPlain(b, `"future_scheduled_at":`, t.FutureScheduledAt, true)
		b = appendPlain(b, `"operator_external_id":`, t.OperatorExternalID, true)
		b = appendPlain(b, `"result":`, t.Result, false)
		b[len(b)-1] = '}' // the last field's comma
		return append(b, '}'), nil
	}
	canon, err := encodeCanonicalRequest(r)
	return append(b, canon...), err
}

// appendPlain appends name, s quoted, and a comma, unless s is empty and
// omitted; s must be api.PlainJSON.
func appendPlain(b []byte, name, s string, omitEmpty bool) []byte {
	if s == "" && omitEmpty {
		return b
	}
	b = append(b, name...)
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"', ',')
}

// encodeCanonicalRequest is canonicalRequest through encoding/json.
func encodeCanonicalRequest(r *api.SubmitRequest) ([]byte, error) {
	t := &r.TaskResult
	for _, s := range []string{r.ActivityID, r.CommerceExternalID, r.ExternalStatus, r.OccurredAt, r.ProviderActivityID, r.Status,
		t.Comment, t.ContactType, t.FutureScheduledAt, t.OperatorExternalID, t.Result} {
		if !utf8.ValidString(s) {
			// encoding/json spells invalid UTF-8 differently on the way in
			// and out: take the long way, which the hash was defined by.
			return slowCanonicalRequest(r)
		}
	}
	c := sortedRequest{
		ActivityID: r.ActivityID, CommerceExternalID: r.CommerceExternalID, ExternalStatus: r.ExternalStatus,
		OccurredAt: r.OccurredAt, ProviderActivityID: r.ProviderActivityID, Status: r.Status,
		TaskResult: sortedResult{
			Comment: t.Comment, ContactType: t.ContactType, FutureScheduledAt: t.FutureScheduledAt,
			OperatorExternalID: t.OperatorExternalID, Result: t.Result,
		},
	}
	var err error
	if len(r.RawPayload) > 0 {
		if c.RawPayload, err = canonicalJSON(r.RawPayload); err != nil {
			return nil, err
		}
	}
	if len(t.Payload) > 0 {
		if c.TaskResult.Payload, err = canonicalJSON(t.Payload); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&c); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// slowCanonicalRequest defines the canonical JSON of a request: its encoding,
// without hard_override, through canonicalJSON.
func slowCanonicalRequest(r *api.SubmitRequest) ([]byte, error) {
	c := *r
	c.HardOverride = false
	data, err := json.Marshal(&c)
	if err != nil {
		return nil, err
	}
	return canonicalJSON(data)
}

// canonicalJSON re-encodes data with sorted object keys and compact spacing.
func canonicalJSON(data []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // maps encode with sorted keys
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
