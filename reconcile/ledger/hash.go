package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/reten/reconcile/reconcile/api"
)

// PayloadHash is the hex sha256 of the request's canonical JSON without
// hard_override: two requests with the same hash would store the same result.
// Canonical means object keys sorted and no insignificant white space, so that
// raw_payload and task_result.payload hash alike however their JSON was spelled;
// numbers keep their spelling (1 and 1.0 differ), as the API may store them so.
func PayloadHash(r *api.SubmitRequest) (string, error) {
	c := *r
	c.HardOverride = false
	data, err := json.Marshal(&c)
	if err != nil {
		return "", fmt.Errorf("ledger: hash of the request for activity %s: %w", r.ActivityKey(), err)
	}
	canon, err := canonicalJSON(data)
	if err != nil {
		return "", fmt.Errorf("ledger: hash of the request for activity %s: %w", r.ActivityKey(), err)
	}
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:]), nil
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
