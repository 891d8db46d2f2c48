package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/reten/reconcile/internal/api"
)

// Tenant is what the sandbox serves: the keys that may call it, the result
// types and the activities. It is read once; the Server keeps the results that
// arrive later apart from it, so one Tenant may back several Servers.
type Tenant struct {
	Name string `json:"name"`
	// Keys maps each API key to its permissions (VIEW_ACTIVITIES,
	// SUBMIT_ACTIVITY_RESULT).
	Keys map[string][]string `json:"keys"`
	// RevokedKeys answer 401 as if they did not exist.
	RevokedKeys []string `json:"revoked_keys,omitempty"`
	// KeyExpiry maps a key to the RFC 3339 instant from which it answers 401.
	KeyExpiry map[string]string      `json:"key_expiry,omitempty"`
	Configs   []api.ResultTypeConfig `json:"configs"`
	// Activities are the task activities results may be submitted for.
	Activities []Activity `json:"activities"`
}

// Activity is one task activity of the tenant. Only the identifiers are
// required; the listing fields fill GET /activities/tasks and default to
// plausible values.
type Activity struct {
	ID                 string `json:"id"` // a UUID
	ProviderActivityID string `json:"provider_activity_id,omitempty"`
	CommerceExternalID string `json:"commerce_external_id"`
	// HasResult marks an activity that already has a result before the
	// sandbox starts: the first POST for it is a 409.
	HasResult bool `json:"has_result,omitempty"`

	Status             string `json:"status,omitempty"`  // PENDING, IN_PROGRESS, COMPLETED, CANCELLED; default from HasResult
	Channel            string `json:"channel,omitempty"` // default SALESMAN
	ScheduledAt        string `json:"scheduled_at,omitempty"`
	CommerceName       string `json:"commerce_name,omitempty"`
	OperatorExternalID string `json:"operator_external_id,omitempty"`
}

// LoadTenant reads a tenant file such as samples/tenant.json.
func LoadTenant(path string) (*Tenant, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the sandbox tenant: %w (pass --tenant with a file shaped like samples/tenant.json)", err)
	}
	t, err := ParseTenant(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// ParseTenant decodes and checks a tenant from its JSON form.
func ParseTenant(data []byte) (*Tenant, error) {
	var t Tenant
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			line, col := lineCol(data, se.Offset)
			return nil, fmt.Errorf("line %d, column %d: not valid JSON: %v", line, col, se)
		case errors.As(err, &te):
			line, col := lineCol(data, te.Offset)
			return nil, fmt.Errorf("line %d, column %d: %q must be a JSON %s", line, col, te.Field, te.Type)
		}
		return nil, fmt.Errorf("not a tenant file like samples/tenant.json: %v", err)
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	return &t, nil
}

func lineCol(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	// encoding/json's offsets point just past the offending byte.
	col = max(1, int(offset)-bytes.LastIndexByte(before, '\n')-1)
	return line, col
}

// check reports the first inconsistency, naming the entry that has it. Errors
// name keys by their position, never by their text.
func (t *Tenant) check() error {
	if len(t.Keys) == 0 {
		return errors.New(`"keys" is empty: add at least one key with its permissions`)
	}
	for key, perms := range t.Keys {
		if key == "" || strings.ContainsAny(key, " \t\r\n") {
			return errors.New(`"keys" holds an empty key or one with spaces: keys are single words such as rtn_sk_demo`)
		}
		for _, p := range perms {
			if p != api.PermViewActivities && p != api.PermSubmitActivityResult {
				return fmt.Errorf(`"keys": unknown permission %q (use %s or %s)`, p, api.PermViewActivities, api.PermSubmitActivityResult)
			}
		}
	}
	for i, k := range t.RevokedKeys {
		if _, ok := t.Keys[k]; !ok {
			return fmt.Errorf(`"revoked_keys"[%d] is not one of "keys"`, i)
		}
	}
	for k, v := range t.KeyExpiry {
		if _, ok := t.Keys[k]; !ok {
			return errors.New(`"key_expiry" names a key that is not one of "keys"`)
		}
		if _, err := time.Parse(time.RFC3339, v); err != nil {
			return fmt.Errorf(`"key_expiry": %q is not an RFC 3339 time like 2025-01-01T00:00:00Z`, v)
		}
	}
	if len(t.Configs) == 0 {
		return errors.New(`"configs" is empty: add the tenant's result types`)
	}
	codes := map[string]bool{}
	for i, c := range t.Configs {
		if c.Code == "" {
			return fmt.Errorf(`"configs"[%d] has no "code"`, i)
		}
		if codes[c.Code] {
			return fmt.Errorf(`"configs"[%d]: code %q appears twice`, i, c.Code)
		}
		codes[c.Code] = true
	}
	ids, pids := map[string]int{}, map[string]int{}
	for i, a := range t.Activities {
		if !isUUID(a.ID) {
			return fmt.Errorf(`"activities"[%d]: "id" %q is not a UUID`, i, a.ID)
		}
		if j, dup := ids[a.ID]; dup {
			return fmt.Errorf(`"activities"[%d]: "id" %q is also activities[%d]'s`, i, a.ID, j)
		}
		ids[a.ID] = i
		if a.ProviderActivityID != "" {
			if j, dup := pids[a.ProviderActivityID]; dup {
				return fmt.Errorf(`"activities"[%d]: "provider_activity_id" %q is also activities[%d]'s`, i, a.ProviderActivityID, j)
			}
			pids[a.ProviderActivityID] = i
		}
		if a.CommerceExternalID == "" {
			return fmt.Errorf(`"activities"[%d] has no "commerce_external_id"`, i)
		}
		if a.Status != "" && !oneOf(a.Status, activityStatuses) {
			return fmt.Errorf(`"activities"[%d]: "status" %q is not one of %s`, i, a.Status, strings.Join(activityStatuses, ", "))
		}
		if a.ScheduledAt != "" {
			if _, ok := parseISO8601(a.ScheduledAt); !ok {
				return fmt.Errorf(`"activities"[%d]: "scheduled_at" %q is not an ISO 8601 date`, i, a.ScheduledAt)
			}
		}
	}
	return nil
}

// SyntheticTenant returns a tenant with the demo keys and result types of
// samples/tenant.json and n activities, for load tests that need more
// activities than the sample has. Activity i (from 1) has provider id
// SYN-%07d, commerce SYNC-%05d (i mod 1000) and a UUID derived from i.
func SyntheticTenant(n int) *Tenant {
	t := &Tenant{
		Name: "Synthetic tenant",
		Keys: map[string][]string{
			"rtn_sk_demo":      {api.PermViewActivities, api.PermSubmitActivityResult},
			"rtn_sk_viewer":    {api.PermViewActivities},
			"rtn_sk_submitter": {api.PermSubmitActivityResult},
		},
		Configs: []api.ResultTypeConfig{
			{Code: "SALE_COMPLETED", Label: "Venta completada"},
			{Code: "NOT_INTERESTED", Label: "No interesado"},
			{Code: "RESCHEDULE", Label: "Reprogramar visita", RequiresFutureScheduledAt: true},
			{Code: "NO_CONTACT", Label: "Sin contacto"},
		},
	}
	t.AddSynthetic(n)
	return t
}

// AddSynthetic appends n synthetic activities to t, numbered after the
// synthetic ones it already has, as SyntheticTenant describes.
func (t *Tenant) AddSynthetic(n int) {
	start := 0
	for _, a := range t.Activities {
		if strings.HasPrefix(a.ProviderActivityID, "SYN-") {
			start++
		}
	}
	for i := start + 1; i <= start+n; i++ {
		t.Activities = append(t.Activities, Activity{
			ID:                 fmt.Sprintf("5e000000-0000-4000-8000-%012d", i),
			ProviderActivityID: fmt.Sprintf("SYN-%07d", i),
			CommerceExternalID: fmt.Sprintf("SYNC-%05d", i%1000),
		})
	}
}

var activityStatuses = []string{"PENDING", "IN_PROGRESS", "COMPLETED", "CANCELLED"}

func oneOf(s string, set []string) bool {
	for _, v := range set {
		if s == v {
			return true
		}
	}
	return false
}

// isUUID accepts the canonical 8-4-4-4-12 hex form, any version, either case.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// iso8601Layouts are the date forms the API's validator accepts: a calendar
// date, or a date and time with optional fraction and offset (UTC if none).
var iso8601Layouts = []string{
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02",
}

func parseISO8601(s string) (time.Time, bool) {
	for _, l := range iso8601Layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
