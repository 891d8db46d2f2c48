package api

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// MarshalRequest returns json.Marshal(r), byte for byte. A submitter encodes
// one request per row, and encoding/json's reflection was about 3% of its CPU:
// requests whose strings need no escaping and that carry no raw JSON (nearly
// all of them) are written directly; the others go through encoding/json.
func MarshalRequest(r *SubmitRequest) ([]byte, error) {
	t := &r.TaskResult
	if len(r.RawPayload) > 0 || len(t.Payload) > 0 ||
		!plainJSON(r.ActivityID) || !plainJSON(r.ProviderActivityID) || !plainJSON(r.CommerceExternalID) ||
		!plainJSON(r.OccurredAt) || !plainJSON(r.Status) || !plainJSON(r.ExternalStatus) ||
		!plainJSON(t.Result) || !plainJSON(t.Comment) || !plainJSON(t.ContactType) ||
		!plainJSON(t.OperatorExternalID) || !plainJSON(t.FutureScheduledAt) {
		return json.Marshal(r)
	}
	n := 200 + len(r.ActivityID) + len(r.ProviderActivityID) + len(r.CommerceExternalID) + len(r.OccurredAt) +
		len(r.Status) + len(r.ExternalStatus) + len(t.Result) + len(t.Comment) + len(t.ContactType) +
		len(t.OperatorExternalID) + len(t.FutureScheduledAt)
	b := make([]byte, 0, n)
	b = append(b, '{')
	if r.ActivityID != "" {
		b = appendField(b, `"activity_id":`, r.ActivityID)
	}
	if r.ProviderActivityID != "" {
		b = appendField(b, `"provider_activity_id":`, r.ProviderActivityID)
	}
	b = appendField(b, `"commerce_external_id":`, r.CommerceExternalID)
	b = appendField(b, `"occurred_at":`, r.OccurredAt)
	b = appendField(b, `"status":`, r.Status)
	if r.ExternalStatus != "" {
		b = appendField(b, `"external_status":`, r.ExternalStatus)
	}
	if r.HardOverride {
		b = append(b, `"hard_override":true,`...)
	}
	b = append(b, `"task_result":{`...)
	b = appendField(b, `"result":`, t.Result)
	if t.Comment != "" {
		b = appendField(b, `"comment":`, t.Comment)
	}
	if t.ContactType != "" {
		b = appendField(b, `"contact_type":`, t.ContactType)
	}
	if t.OperatorExternalID != "" {
		b = appendField(b, `"operator_external_id":`, t.OperatorExternalID)
	}
	if t.FutureScheduledAt != "" {
		b = appendField(b, `"future_scheduled_at":`, t.FutureScheduledAt)
	}
	b[len(b)-1] = '}' // the last field's comma
	return append(b, '}'), nil
}

// appendField appends name, s quoted, and a comma; s must be plainJSON.
func appendField(b []byte, name, s string) []byte {
	b = append(b, name...)
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"', ',')
}

// PlainJSON reports whether encoding/json writes s as it is between quotes
// (with or without HTML escaping): valid UTF-8 without control characters,
// quotes, backslashes, the HTML characters it escapes (<, >, &) or U+2028 and
// U+2029.
func PlainJSON(s string) bool { return plainJSON(s) }

func plainJSON(s string) bool {
	ascii := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return ascii || (utf8.ValidString(s) && !strings.ContainsRune(s, '\u2028') && !strings.ContainsRune(s, '\u2029'))
}
