package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

const controlPrefix = "/_sandbox/"

// Request is one API request as the sandbox saw it. It holds no header, so no key.
type Request struct {
	Time   time.Time `json:"time"`
	Method string    `json:"method"`
	Path   string    `json:"path"`
	// ActivityKey is the activity a POST named: activity_id if sent, else
	// provider_activity_id, as the client wrote it; "" if the body had neither.
	ActivityKey  string `json:"activity_key,omitempty"`
	HardOverride bool   `json:"hard_override,omitempty"`
	// Status is the status answered; 0 when there was no answer (Dropped or Gone).
	Status int `json:"status"`
	// Dropped is true when a fault closed the connection instead of answering.
	Dropped bool `json:"dropped,omitempty"`
	// Gone is true when the client left before the answer (e.g. during Latency).
	Gone bool `json:"gone,omitempty"`
	// Stored is true when the request stored a result, whatever was answered.
	Stored   bool          `json:"stored,omitempty"`
	Duration time.Duration `json:"duration_ns"`

	byProvider bool // ActivityKey is a provider_activity_id
}

// ActivityStats counts the POSTs that named one activity.
type ActivityStats struct {
	Posts     int `json:"posts"`     // POSTs that arrived, whatever their answer
	Stored    int `json:"stored"`    // results stored (201, or a fault after storing)
	Overrides int `json:"overrides"` // results stored with hard_override, replacing one
	Conflicts int `json:"conflicts"` // 409 answers
}

// Stats are the sandbox's counters since New or Reset.
type Stats struct {
	Requests int         `json:"requests"` // API requests received
	Status   map[int]int `json:"status"`   // answers by status code
	Dropped  int         `json:"dropped"`  // connections closed by a fault
	Gone     int         `json:"gone"`     // clients that left before the answer
	Stored   int         `json:"stored"`   // results stored
	// Activities counts POSTs by activity: known activities under their id
	// (whichever id the request used), unknown ones under the key as sent.
	Activities map[string]ActivityStats `json:"activities"`
	Faults     Faults                   `json:"faults"`
}

// Result is a result the sandbox stored.
type Result struct {
	ID                 string `json:"id"`
	ActivityID         string `json:"activity_id"`
	ProviderActivityID string `json:"provider_activity_id,omitempty"`
	HardOverride       bool   `json:"hard_override"`
	Status             string `json:"status,omitempty"`      // the body's status
	ResultCode         string `json:"result,omitempty"`      // the body's task_result.result
	OccurredAt         string `json:"occurred_at,omitempty"` // the body's occurred_at
	// Body is the request body as received.
	Body     json.RawMessage `json:"body"`
	StoredAt time.Time       `json:"stored_at"`
	// Preloaded is true for a result the tenant file already had (has_result);
	// it has no ID or Body.
	Preloaded bool `json:"preloaded,omitempty"`
}

// count counts a request whose answer is decided.
func (s *Server) count(rec *Request) {
	s.mu.Lock()
	s.total++
	switch {
	case rec.Dropped:
		s.dropped++
	case rec.Gone:
		s.gone++
	default:
		s.status[rec.Status]++
	}
	if rec.Method == http.MethodPost && rec.ActivityKey != "" {
		s.statsFor(rec).Posts++
	}
	if len(s.log) < logCap {
		s.log = append(s.log, *rec)
	} else {
		s.log[s.logNext] = *rec
		s.logNext = (s.logNext + 1) % logCap
	}
	s.mu.Unlock()
}

// logRequest logs a request that has been answered.
func (s *Server) logRequest(rec *Request) {
	if s.Logger != nil {
		attrs := []slog.Attr{
			slog.String("method", rec.Method), slog.String("path", rec.Path),
			slog.Int("status", rec.Status), slog.Duration("took", rec.Duration),
		}
		if rec.ActivityKey != "" {
			attrs = append(attrs, slog.String("activity", rec.ActivityKey))
		}
		if rec.HardOverride {
			attrs = append(attrs, slog.Bool("hard_override", true))
		}
		if rec.Dropped {
			attrs = append(attrs, slog.Bool("dropped", true))
		}
		if rec.Gone {
			attrs = append(attrs, slog.Bool("client_gone", true))
		}
		if rec.Stored {
			attrs = append(attrs, slog.Bool("stored", true))
		}
		s.Logger.LogAttrs(context.Background(), slog.LevelInfo, "request", attrs...)
	}
}

// statsFor returns the counters of the activity a request named, creating
// them for an unknown one. s.mu must be held.
func (s *Server) statsFor(rec *Request) *ActivityStats {
	a := s.byID[rec.ActivityKey]
	if rec.byProvider {
		a = s.byProvider[rec.ActivityKey]
	}
	if a != nil {
		return &a.stats
	}
	st := s.unknown[rec.ActivityKey]
	if st == nil {
		st = &ActivityStats{}
		s.unknown[rec.ActivityKey] = st
	}
	return st
}

// lookup finds an activity by id or provider id.
func (s *Server) lookup(key string) *activity {
	if a := s.byID[key]; a != nil {
		return a
	}
	return s.byProvider[key]
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{
		Requests: s.total, Dropped: s.dropped, Gone: s.gone, Stored: s.stored,
		Status:     make(map[int]int, len(s.status)),
		Activities: map[string]ActivityStats{},
		Faults:     s.Faults(),
	}
	for k, v := range s.status {
		st.Status[k] = v
	}
	for _, a := range s.activities {
		if a.stats != (ActivityStats{}) {
			st.Activities[a.ID] = a.stats
		}
	}
	for k, v := range s.unknown {
		st.Activities[k] = *v
	}
	return st
}

// Requests returns the logged requests, oldest first: all of them, or the
// latest 131072 after that many.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, 0, len(s.log))
	out = append(out, s.log[s.logNext:]...)
	return append(out, s.log[:s.logNext]...)
}

// Result returns the result an activity has, found by id or provider id.
func (s *Server) Result(activityKey string) (Result, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.lookup(activityKey)
	switch {
	case a == nil:
		return Result{}, false
	case a.result != nil:
		return *a.result, true
	case a.HasResult:
		return Result{ActivityID: a.ID, ProviderActivityID: a.ProviderActivityID, Preloaded: true}, true
	}
	return Result{}, false
}

// serveControl answers the /_sandbox/ endpoints. They need no key and see no
// faults, so that scripts can watch a sandbox that is misbehaving on purpose.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	reply := func(v any) {
		body, err := json.Marshal(v)
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, body)
	}
	switch r.Method + " " + r.URL.Path[len(controlPrefix)-1:] {
	case "GET /stats":
		reply(s.Stats())
	case "GET /requests":
		reply(s.Requests())
	case "GET /faults":
		reply(s.Faults())
	case "POST /faults":
		var f Faults
		data, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
		if err == nil {
			err = json.Unmarshal(data, &f)
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("faults: %v; send e.g. {\"fail_rate\":0.2,\"latency\":\"20ms\",\"rate_limit\":50,\"drop_rate\":0.05,\"fail_after_store_rate\":0.05,\"seed\":1}", err))
			return
		}
		s.SetFaults(f)
		reply(f)
	case "POST /reset":
		s.Reset()
		reply(s.Stats())
	default:
		writeError(w, http.StatusNotFound, fmt.Sprintf("Cannot %s %s: the sandbox serves GET /_sandbox/stats, GET /_sandbox/requests, GET and POST /_sandbox/faults, POST /_sandbox/reset", r.Method, r.URL.Path))
	}
}
