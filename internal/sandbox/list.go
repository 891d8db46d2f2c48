package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// activityJSON is one item of GET /activities/tasks, in the API's camelCase.
type activityJSON struct {
	ID                   string `json:"id"`
	ProviderActivityID   string `json:"providerActivityId,omitempty"`
	ActivityOrigin       string `json:"activityOrigin"`
	Type                 string `json:"type"`
	Status               string `json:"status"`
	Channel              string `json:"channel"`
	ScheduledAt          string `json:"scheduledAt,omitempty"`
	OccurredAt           string `json:"occurredAt,omitempty"`
	CreatedAt            string `json:"createdAt"`
	LifecycleStatus      string `json:"lifecycleStatus"`
	LifecycleStatusLabel string `json:"lifecycleStatusLabel"`
	CommerceExternalID   string `json:"commerceExternalId"`
	CommerceName         string `json:"commerceName"`
	OperatorExternalID   string `json:"operatorExternalId,omitempty"`
	ResultStatus         string `json:"resultStatus"`
	Result               string `json:"result,omitempty"`
}

var lifecycleLabels = map[string]string{
	"PENDING":     "Pendiente",
	"IN_PROGRESS": "En curso",
	"COMPLETED":   "Completada",
	"CANCELLED":   "Cancelada",
}

// item renders a as the listing shows it. s.mu must be held.
func (s *Server) item(a *activity) activityJSON {
	it := activityJSON{
		ID:                 a.ID,
		ProviderActivityID: a.ProviderActivityID,
		ActivityOrigin:     "INTEGRATION",
		Type:               "TASK",
		Status:             a.Status,
		Channel:            a.Channel,
		ScheduledAt:        a.ScheduledAt,
		CreatedAt:          s.createdAt,
		CommerceExternalID: a.CommerceExternalID,
		CommerceName:       a.CommerceName,
		OperatorExternalID: a.OperatorExternalID,
		ResultStatus:       "PENDING",
	}
	switch {
	case a.result != nil:
		it.Status = "COMPLETED"
		it.ResultStatus = a.result.Status
		it.Result = a.result.ResultCode
		it.OccurredAt = a.result.OccurredAt
	case a.HasResult:
		// The tenant file does not say what that result holds: it shows
		// as effective, from before the sandbox started.
		it.ResultStatus = "EFFECTIVE"
		it.OccurredAt = s.createdAt
		if it.Status == "" {
			it.Status = "COMPLETED"
		}
	}
	if it.Status == "" {
		it.Status = "PENDING"
	}
	if it.Channel == "" {
		it.Channel = "SALESMAN"
	}
	if it.CommerceName == "" {
		it.CommerceName = "Comercio " + a.CommerceExternalID
	}
	it.LifecycleStatus = it.Status
	it.LifecycleStatusLabel = lifecycleLabels[it.Status]
	return it
}

// listQuery is the query of GET /activities/tasks.
type listQuery struct {
	page, perPage                    int
	status, resultStatus, channel    string
	commerceID, operatorID           string
	scheduledFrom, scheduledTo       time.Time
	hasScheduledFrom, hasScheduledTo bool
}

func parseListQuery(r *http.Request) (listQuery, []string) {
	q := r.URL.Query()
	lq := listQuery{page: 1, perPage: 20}
	var problems []string
	intParam := func(name string, dst *int, lo, hi int) {
		v := q.Get(name)
		if v == "" {
			return
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			problems = append(problems, fmt.Sprintf("%s must be a whole number from %d to %d", name, lo, hi))
			return
		}
		*dst = n
	}
	enumParam := func(name string, dst *string, values []string) {
		v := q.Get(name)
		if v != "" && values != nil && !oneOf(v, values) {
			problems = append(problems, fmt.Sprintf("%s must be one of the following values: %s", name, strings.Join(values, ", ")))
			return
		}
		*dst = v
	}
	dateParam := func(name string, dst *time.Time, has *bool) {
		v := q.Get(name)
		if v == "" {
			return
		}
		t, ok := parseISO8601(v)
		if !ok {
			problems = append(problems, name+" must be a valid ISO 8601 date string")
			return
		}
		*dst, *has = t, true
	}
	intParam("page", &lq.page, 1, 1<<30)
	intParam("per_page", &lq.perPage, 1, 100)
	enumParam("status", &lq.status, activityStatuses)
	enumParam("result_status", &lq.resultStatus, resultStatuses)
	enumParam("channel", &lq.channel, nil)
	enumParam("external_commerce_id", &lq.commerceID, nil)
	enumParam("external_operator_id", &lq.operatorID, nil)
	dateParam("scheduled_from", &lq.scheduledFrom, &lq.hasScheduledFrom)
	dateParam("scheduled_to", &lq.scheduledTo, &lq.hasScheduledTo)
	return lq, problems
}

func (lq *listQuery) match(it *activityJSON) bool {
	if lq.status != "" && it.Status != lq.status ||
		lq.resultStatus != "" && it.ResultStatus != lq.resultStatus ||
		lq.channel != "" && it.Channel != lq.channel ||
		lq.commerceID != "" && it.CommerceExternalID != lq.commerceID ||
		lq.operatorID != "" && it.OperatorExternalID != lq.operatorID {
		return false
	}
	if lq.hasScheduledFrom || lq.hasScheduledTo {
		t, ok := parseISO8601(it.ScheduledAt)
		if !ok || lq.hasScheduledFrom && t.Before(lq.scheduledFrom) || lq.hasScheduledTo && t.After(lq.scheduledTo) {
			return false
		}
	}
	return true
}

type pageJSON struct {
	Data []activityJSON `json:"data"`
	Meta struct {
		Page       int `json:"page"`
		Limit      int `json:"limit"`
		Total      int `json:"total"`
		TotalPages int `json:"totalPages"`
	} `json:"meta"`
}

func (s *Server) serveActivities(r *http.Request, _ *submission, rec *Request) answer {
	lq, problems := parseListQuery(r)
	if len(problems) > 0 {
		return errorAnswer(http.StatusBadRequest, strings.Join(problems, "; "))
	}
	var p pageJSON
	p.Data = []activityJSON{}
	first := (lq.page - 1) * lq.perPage
	s.mu.Lock()
	for _, a := range s.activities {
		it := s.item(a)
		if !lq.match(&it) {
			continue
		}
		if p.Meta.Total >= first && len(p.Data) < lq.perPage {
			p.Data = append(p.Data, it)
		}
		p.Meta.Total++
	}
	s.mu.Unlock()
	p.Meta.Page, p.Meta.Limit = lq.page, lq.perPage
	p.Meta.TotalPages = (p.Meta.Total + lq.perPage - 1) / lq.perPage
	body, _ := json.Marshal(p)
	return answer{status: http.StatusOK, body: body}
}
