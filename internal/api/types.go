// Package api is a client for the Reten task integration API: the wire format of
// its three endpoints, and typed errors that keep the API's statusCode, error and
// message. It knows nothing about spreadsheets.
package api

import (
	"encoding/json"
	"time"
)

// Paths of the integration endpoints, relative to the base URL.
const (
	PathConfigs    = "/api/integration/task-result-type-configs"
	PathActivities = "/api/integration/activities/tasks"
	PathSubmit     = "/api/integration/activity-results/tasks"
)

// Permissions carried by API keys.
const (
	PermViewActivities       = "VIEW_ACTIVITIES"
	PermSubmitActivityResult = "SUBMIT_ACTIVITY_RESULT"
)

// Values of SubmitRequest.Status.
const (
	StatusEffective    = "EFFECTIVE"
	StatusNotEffective = "NOT_EFFECTIVE"
	StatusPending      = "PENDING"
)

// Values of TaskResult.ContactType.
const (
	ContactInbound  = "INBOUND"
	ContactOutbound = "OUTBOUND"
)

// TimeLayout is the ISO 8601 form reconcile sends dates in: UTC with milliseconds,
// as in the documentation's examples (2026-04-11T10:30:00.000Z).
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// FormatTime renders t the way the API documents dates.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// ResultTypeConfig is one element of GET /task-result-type-configs.
type ResultTypeConfig struct {
	Code                      string `json:"code"`
	Label                     string `json:"label"`
	RequiresFutureScheduledAt bool   `json:"requiresFutureScheduledAt"`
}

// Activity is one task activity as listed by GET /activities/tasks. The API
// returns more fields than these; unknown ones are ignored and missing ones stay
// empty. Times are kept as the API wrote them.
type Activity struct {
	ID                   string `json:"id"`
	ProviderActivityID   string `json:"providerActivityId,omitempty"`
	ActivityOrigin       string `json:"activityOrigin,omitempty"`
	Type                 string `json:"type,omitempty"`
	Status               string `json:"status,omitempty"`
	Channel              string `json:"channel,omitempty"`
	ScheduledAt          string `json:"scheduledAt,omitempty"`
	OccurredAt           string `json:"occurredAt,omitempty"`
	CreatedAt            string `json:"createdAt,omitempty"`
	LifecycleStatus      string `json:"lifecycleStatus,omitempty"`
	LifecycleStatusLabel string `json:"lifecycleStatusLabel,omitempty"`
	CommerceExternalID   string `json:"commerceExternalId,omitempty"`
	CommerceName         string `json:"commerceName,omitempty"`
	// ResultStatus and Result are the stored result's status (EFFECTIVE,
	// NOT_EFFECTIVE, PENDING) and code; OccurredAt is then its occurred_at.
	// An activity without a result shows ResultStatus PENDING and no Result.
	ResultStatus string `json:"resultStatus,omitempty"`
	Result       string `json:"result,omitempty"`
}

// redact takes key out of every field, as received from a server that may
// echo it.
func (a *Activity) redact(key string) {
	for _, f := range []*string{&a.ID, &a.ProviderActivityID, &a.ActivityOrigin, &a.Type, &a.Status, &a.Channel,
		&a.ScheduledAt, &a.OccurredAt, &a.CreatedAt, &a.LifecycleStatus, &a.LifecycleStatusLabel,
		&a.CommerceExternalID, &a.CommerceName, &a.ResultStatus, &a.Result} {
		*f = redact(*f, key)
	}
}

// ActivityFilter holds the query of GET /activities/tasks. Zero fields are not sent.
type ActivityFilter struct {
	Status             string // PENDING, IN_PROGRESS, COMPLETED, CANCELLED
	ResultStatus       string // EFFECTIVE, NOT_EFFECTIVE, PENDING
	Channel            string // SALESMAN, CALLCENTER, ...
	ExternalCommerceID string
	ExternalOperatorID string
	ScheduledFrom      time.Time
	ScheduledTo        time.Time
}

// PageMeta is the "meta" object of a paginated answer.
type PageMeta struct {
	Page       int `json:"page"`
	Limit      int `json:"limit"`
	Total      int `json:"total"`
	TotalPages int `json:"totalPages"`
}

// ActivityPage is one page of GET /activities/tasks.
type ActivityPage struct {
	Data []Activity `json:"data"`
	Meta PageMeta   `json:"meta"`
}

// SubmitRequest is the body of POST /activity-results/tasks. Empty optional
// fields are omitted rather than sent as "".
type SubmitRequest struct {
	ActivityID         string          `json:"activity_id,omitempty"`
	ProviderActivityID string          `json:"provider_activity_id,omitempty"`
	CommerceExternalID string          `json:"commerce_external_id"`
	OccurredAt         string          `json:"occurred_at"`
	Status             string          `json:"status"`
	ExternalStatus     string          `json:"external_status,omitempty"`
	HardOverride       bool            `json:"hard_override,omitempty"`
	RawPayload         json.RawMessage `json:"raw_payload,omitempty"`
	TaskResult         TaskResult      `json:"task_result"`
}

// TaskResult is the task_result object of a SubmitRequest.
type TaskResult struct {
	Result             string          `json:"result"`
	Comment            string          `json:"comment,omitempty"`
	ContactType        string          `json:"contact_type,omitempty"`
	OperatorExternalID string          `json:"operator_external_id,omitempty"`
	FutureScheduledAt  string          `json:"future_scheduled_at,omitempty"`
	Payload            json.RawMessage `json:"payload,omitempty"`
}

// ActivityKey is the identifier that names the activity a request is about:
// activity_id when present (it wins on the server too), else provider_activity_id.
func (r *SubmitRequest) ActivityKey() string {
	if r.ActivityID != "" {
		return r.ActivityID
	}
	return r.ProviderActivityID
}

// SubmitResponse is an accepted submission: a 2xx with a result.
type SubmitResponse struct {
	StatusCode int
	// ID is the body's "id", never empty.
	ID string
	// Body is the answer as received, the key taken out.
	Body json.RawMessage
}

// ErrorBody is the JSON body of every failure.
type ErrorBody struct {
	StatusCode int    `json:"statusCode"`
	Error      string `json:"error"`
	Message    string `json:"message"`
}
