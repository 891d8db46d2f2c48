package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/reten/reconcile/reconcile/api"
)

// PayloadHash is the hex sha256 of the request's canonical JSON without
// hard_override: two requests with the same hash would store the same result.
// Canonical means object keys sorted and no insignificant white space, so that
// raw_payload and task_result.payload hash alike however their JSON was spelled;
// numbers keep their spelling (1 and 1.0 differ), as the API may store them so.
func PayloadHash(r *api.SubmitRequest) (string, error) {
	canon, err := canonicalRequest(r)
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
