package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/reten/reconcile/internal/api"
)

// submission is a POST body, decoded field by field so that every wrong type
// is named, not just the first one encoding/json trips on.
type submission struct {
	body         []byte
	fields       map[string]json.RawMessage // nil if the body is not a JSON object
	notObject    string                     // why fields is nil
	contentType  string
	activityID   string
	providerID   string
	hardOverride bool
}

func parseSubmission(body []byte, contentType string) *submission {
	sub := &submission{body: body, contentType: contentType}
	switch {
	case len(body) > maxBody:
		sub.notObject = fmt.Sprintf("body is larger than %d bytes", maxBody)
	case len(bytes.TrimSpace(body)) == 0:
		sub.notObject = "body is empty: send the result as a JSON object"
	case !json.Valid(body):
		sub.notObject = "body is not valid JSON"
	default:
		if err := json.Unmarshal(body, &sub.fields); err != nil || sub.fields == nil {
			sub.fields = nil
			sub.notObject = "body must be a JSON object"
		}
	}
	// The ids and the override are read leniently here, for the request log
	// and the fault dice; validate says what is wrong with them.
	json.Unmarshal(sub.fields["activity_id"], &sub.activityID)
	json.Unmarshal(sub.fields["provider_activity_id"], &sub.providerID)
	json.Unmarshal(sub.fields["hard_override"], &sub.hardOverride)
	return sub
}

// activityKey is the id that names the activity: activity_id wins.
func (sub *submission) activityKey() string {
	if sub.activityID != "" {
		return sub.activityID
	}
	return sub.providerID
}

var (
	submitFields     = []string{"activity_id", "provider_activity_id", "commerce_external_id", "occurred_at", "status", "external_status", "hard_override", "raw_payload", "task_result"}
	taskResultFields = []string{"result", "comment", "contact_type", "operator_external_id", "future_scheduled_at", "payload"}
	resultStatuses   = []string{api.StatusEffective, api.StatusNotEffective, api.StatusPending}
	contactTypes     = []string{api.ContactInbound, api.ContactOutbound}
)

// validated is a body that passed validation.
type validated struct {
	commerceID, occurredAt, status, result string
}

// validate checks a body against the contract and returns every problem, in
// the order of the contract's field table.
func (s *Server) validate(sub *submission) (validated, []string) {
	var v validated
	ct, _, err := mime.ParseMediaType(sub.contentType)
	if err != nil || ct != "application/json" {
		got := sub.contentType
		if got == "" {
			got = "none"
		}
		return v, []string{fmt.Sprintf("Content-Type must be application/json, got %s", got)}
	}
	if sub.fields == nil {
		return v, []string{sub.notObject}
	}
	c := checker{}
	top := sub.fields
	id := c.str(top, "", "activity_id", false)
	pid := c.str(top, "", "provider_activity_id", false)
	switch {
	case id == "" && pid == "" && !c.failed("activity_id") && !c.failed("provider_activity_id"):
		c.add("activity_id or provider_activity_id is required")
	case id != "" && !isUUID(id):
		c.add("activity_id must be a UUID")
	}
	v.commerceID = c.str(top, "", "commerce_external_id", true)
	v.occurredAt = c.date(top, "", "occurred_at", true)
	v.status = c.enum(top, "", "status", true, resultStatuses)
	c.str(top, "", "external_status", false)
	c.boolean(top, "", "hard_override")
	c.object(top, "", "raw_payload", false)
	if tr := c.object(top, "", "task_result", true); tr != nil {
		const p = "task_result."
		v.result = c.str(tr, p, "result", true)
		cfg, known := s.configs[v.result]
		if v.result != "" && !known {
			c.add(msgBadCode)
		}
		c.str(tr, p, "comment", false)
		c.enum(tr, p, "contact_type", false, contactTypes)
		c.str(tr, p, "operator_external_id", false)
		future := c.date(tr, p, "future_scheduled_at", false)
		switch {
		case cfg.RequiresFutureScheduledAt && future == "" && !c.failed(p+"future_scheduled_at"):
			c.add(fmt.Sprintf("task_result.future_scheduled_at is required when task_result.result is %s", v.result))
		case cfg.RequiresFutureScheduledAt && future != "":
			if t, _ := parseISO8601(future); !t.After(s.now()) {
				c.add("task_result.future_scheduled_at must be a date in the future")
			}
		}
		c.object(tr, p, "payload", false)
		c.unknown(tr, p, taskResultFields)
	}
	c.unknown(top, "", submitFields)
	return v, c.problems
}

// checker collects the problems of one body.
type checker struct {
	problems []string
	bad      map[string]bool // fields with a problem
}

func (c *checker) add(msg string) { c.problems = append(c.problems, msg) }

func (c *checker) fail(name, msg string) {
	if c.bad == nil {
		c.bad = map[string]bool{}
	}
	c.bad[name] = true
	c.add(name + " " + msg)
}

func (c *checker) failed(name string) bool { return c.bad[name] }

func present(m map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	raw, ok := m[name]
	if !ok || string(raw) == "null" {
		return nil, false
	}
	return raw, true
}

// str returns the string field name, "" when absent or wrong.
func (c *checker) str(m map[string]json.RawMessage, prefix, name string, required bool) string {
	raw, ok := present(m, name)
	if !ok {
		if required {
			c.fail(prefix+name, "is required")
		}
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		c.fail(prefix+name, "must be a string")
		return ""
	}
	if required && strings.TrimSpace(s) == "" {
		c.fail(prefix+name, "is required")
		return ""
	}
	return s
}

func (c *checker) date(m map[string]json.RawMessage, prefix, name string, required bool) string {
	s := c.str(m, prefix, name, required)
	if s == "" {
		return ""
	}
	if _, ok := parseISO8601(s); !ok {
		c.fail(prefix+name, "must be a valid ISO 8601 date string")
		return ""
	}
	return s
}

func (c *checker) enum(m map[string]json.RawMessage, prefix, name string, required bool, values []string) string {
	s := c.str(m, prefix, name, required)
	if s == "" {
		return ""
	}
	if !oneOf(s, values) {
		c.fail(prefix+name, "must be one of the following values: "+strings.Join(values, ", "))
		return ""
	}
	return s
}

func (c *checker) boolean(m map[string]json.RawMessage, prefix, name string) {
	if raw, ok := present(m, name); ok {
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			c.fail(prefix+name, "must be a boolean value")
		}
	}
}

func (c *checker) object(m map[string]json.RawMessage, prefix, name string, required bool) map[string]json.RawMessage {
	raw, ok := present(m, name)
	if !ok {
		if required {
			c.fail(prefix+name, "is required")
		}
		return nil
	}
	var obj map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &obj) != nil {
		c.fail(prefix+name, "must be an object")
		return nil
	}
	return obj
}

// unknown rejects fields the contract does not have, as a validation pipe
// that forbids non-whitelisted properties does: a misspelt optional field
// would otherwise vanish unnoticed.
func (c *checker) unknown(m map[string]json.RawMessage, prefix string, known []string) {
	var extra []string
	for k := range m {
		if !oneOf(k, known) {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		c.add("property " + prefix + k + " should not exist")
	}
}

// serveSubmit answers a POST that passed the key, permission and fault checks.
func (s *Server) serveSubmit(r *http.Request, sub *submission, rec *Request) answer {
	v, problems := s.validate(sub)
	if len(problems) > 0 {
		return errorAnswer(http.StatusBadRequest, strings.Join(problems, "; "))
	}

	s.mu.Lock()
	var a *activity
	var msg string
	if sub.activityID != "" {
		if a = s.byID[sub.activityID]; a == nil {
			msg = fmt.Sprintf("Activity not found: no activity with activity_id %s", sub.activityID)
		}
	} else if a = s.byProvider[sub.providerID]; a == nil {
		msg = fmt.Sprintf("Activity not found: no activity with provider_activity_id %s", sub.providerID)
	}
	if a != nil && a.CommerceExternalID != v.commerceID {
		a, msg = nil, fmt.Sprintf("Commerce not found: commerce_external_id %s is not the commerce of this activity", v.commerceID)
	}
	if a == nil {
		s.mu.Unlock()
		return errorAnswer(http.StatusNotFound, msg)
	}
	replaced := a.hasResult()
	if replaced && !sub.hardOverride {
		a.stats.Conflicts++
		s.mu.Unlock()
		return errorAnswer(http.StatusConflict, msgConflict)
	}
	now := time.Now()
	s.nextID++
	res := &Result{
		ID:                 fmt.Sprintf("00000000-0000-4000-8000-%012x", s.nextID),
		ActivityID:         a.ID,
		ProviderActivityID: a.ProviderActivityID,
		HardOverride:       sub.hardOverride,
		Status:             v.status,
		ResultCode:         v.result,
		OccurredAt:         v.occurredAt,
		Body:               bytes.Clone(sub.body), // exact size: io.ReadAll's buffer is larger
		StoredAt:           now,
	}
	a.result = res
	a.stats.Stored++
	if sub.hardOverride && replaced {
		a.stats.Overrides++
	}
	s.stored++
	s.mu.Unlock()
	rec.Stored = true

	switch s.faults.Load().rollAfterStore() {
	case faultDrop:
		return answer{drop: true}
	case fault5xx:
		return errorAnswer(http.StatusInternalServerError, "Injected fault after storing the result")
	}
	id := res.ID
	if s.faults.Load().EchoKey {
		id = r.Header.Get("x-api-key")
	}
	body, _ := json.Marshal(storedJSON{
		ID:                 id,
		ActivityID:         a.ID,
		ProviderActivityID: a.ProviderActivityID,
		CommerceExternalID: v.commerceID,
		Status:             v.status,
		Result:             v.result,
		OccurredAt:         v.occurredAt,
		HardOverride:       sub.hardOverride,
		Replaced:           replaced,
		CreatedAt:          api.FormatTime(now),
	})
	return answer{status: http.StatusCreated, body: body}
}

// storedJSON is the 201 body. The public documentation does not fix it; this
// one names the stored result and what it was stored for.
type storedJSON struct {
	ID                 string `json:"id"`
	ActivityID         string `json:"activityId"`
	ProviderActivityID string `json:"providerActivityId,omitempty"`
	CommerceExternalID string `json:"commerceExternalId"`
	Status             string `json:"status"`
	Result             string `json:"result"`
	OccurredAt         string `json:"occurredAt"`
	HardOverride       bool   `json:"hardOverride"`
	Replaced           bool   `json:"replaced"`
	CreatedAt          string `json:"createdAt"`
}
