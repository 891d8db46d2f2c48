// Package sandbox is a stateful fake of the Reten task integration API for
// tests and demos. It keeps the API contract (paths, permissions, validation
// rules, error bodies), stores the results it accepts so that a second one is a
// 409 unless hard_override is true, and injects switchable faults: 5xx answers,
// latency, 429 above a request rate, dropped connections, and results stored
// whose answer is lost. It counts what arrived so tests can assert on it.
//
// A *Server is an http.Handler: use it with httptest.NewServer in tests, or run
// it with `reconcile sandbox`. Besides the API it serves, with no key needed:
//
//	GET  /_sandbox/stats     counters (Stats) as JSON
//	GET  /_sandbox/requests  the log of received requests (Requests) as JSON
//	GET  /_sandbox/faults    the faults in force
//	POST /_sandbox/faults    replace the faults, e.g. {"fail_rate":0.2,"latency":"20ms"}
//	POST /_sandbox/reset     forget every stored result and counter
package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reten/reconcile/internal/api"
)

// Messages of the documented error bodies.
const (
	msgUnauthorized = "API key missing or invalid"
	msgForbidden    = "Insufficient permissions"
	msgConflict     = "Activity already has a result"
	msgBadCode      = "task_result.result must be a valid result type code"
)

// maxBody bounds a POST body; larger ones are a 400.
const maxBody = 1 << 20

// logCap bounds the request log: older entries are forgotten first, counters
// are not. At about 150 bytes an entry, a full log is some 20 MB.
const logCap = 1 << 17

// Server serves one Tenant. Its exported fields are read while serving: set them
// before the first request.
type Server struct {
	// Logger gets one line per API request (method, path, activity, status,
	// duration; never the key). Nil logs nothing.
	Logger *slog.Logger
	// Now is the clock for key expiry and "future" dates; nil means time.Now.
	Now func() time.Time

	tenant      *Tenant
	keys        map[string]keyInfo
	configs     map[string]api.ResultTypeConfig
	configsJSON []byte
	activities  []*activity
	byID        map[string]*activity
	byProvider  map[string]*activity
	createdAt   string

	faults atomic.Pointer[faultState]

	mu      sync.Mutex // guards everything below and the activities' state
	unknown map[string]*ActivityStats
	status  map[int]int
	total   int
	dropped int
	gone    int
	stored  int
	log     []Request // ring of at most logCap, next write at logNext
	logNext int
	nextID  uint64
}

type keyInfo struct {
	view, submit bool
	revoked      bool
	expires      time.Time // zero: never
}

// activity is a tenant activity with what the sandbox learnt about it.
type activity struct {
	Activity
	result *Result // nil: none stored here
	stats  ActivityStats
}

func (a *activity) hasResult() bool { return a.result != nil || a.HasResult }

// New returns a Server for t with no faults. t must not change afterwards.
func New(t *Tenant) *Server {
	s := &Server{
		tenant:     t,
		keys:       map[string]keyInfo{},
		configs:    map[string]api.ResultTypeConfig{},
		byID:       map[string]*activity{},
		byProvider: map[string]*activity{},
		createdAt:  api.FormatTime(time.Now()),
	}
	for k, perms := range t.Keys {
		var ki keyInfo
		for _, p := range perms {
			ki.view = ki.view || p == api.PermViewActivities
			ki.submit = ki.submit || p == api.PermSubmitActivityResult
		}
		if exp, ok := t.KeyExpiry[k]; ok {
			ki.expires, _ = time.Parse(time.RFC3339, exp)
		}
		s.keys[k] = ki
	}
	for _, k := range t.RevokedKeys {
		ki := s.keys[k]
		ki.revoked = true
		s.keys[k] = ki
	}
	for _, c := range t.Configs {
		s.configs[c.Code] = c
	}
	configs := t.Configs
	if configs == nil {
		configs = []api.ResultTypeConfig{}
	}
	s.configsJSON, _ = json.Marshal(configs)
	for _, a := range t.Activities {
		act := &activity{Activity: a}
		s.activities = append(s.activities, act)
		s.byID[a.ID] = act
		if a.ProviderActivityID != "" {
			s.byProvider[a.ProviderActivityID] = act
		}
	}
	s.resetLocked()
	s.faults.Store(newFaultState(Faults{}))
	return s
}

// SetFaults replaces the faults in force; requests already past a check keep
// the old setting. It is safe to call while serving.
func (s *Server) SetFaults(f Faults) {
	s.faults.Store(newFaultState(f))
}

// Faults returns the faults in force.
func (s *Server) Faults() Faults { return s.faults.Load().Faults }

// Reset forgets every result stored since New and every counter; the tenant's
// own results stay. Faults are kept.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
}

func (s *Server) resetLocked() {
	for _, a := range s.activities {
		a.result = nil
		a.stats = ActivityStats{}
	}
	s.unknown = map[string]*ActivityStats{}
	s.status = map[int]int{}
	s.total, s.dropped, s.gone, s.stored = 0, 0, 0, 0
	s.log = nil
	s.logNext = 0
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// route is one API endpoint.
type route struct {
	method, path string
	perm         string
	serve        func(s *Server, r *http.Request, sub *submission, rec *Request) answer
}

var routes = []route{
	{http.MethodGet, api.PathConfigs, api.PermViewActivities, (*Server).serveConfigs},
	{http.MethodGet, api.PathActivities, api.PermViewActivities, (*Server).serveActivities},
	{http.MethodPost, api.PathSubmit, api.PermSubmitActivityResult, (*Server).serveSubmit},
}

// answer is what a request gets. It is counted before it is written, so a
// client holding its answer finds it in Stats.
type answer struct {
	status     int
	body       []byte
	html       bool // body is a text/html page, not JSON
	retryAfter int  // seconds; 0 sends no Retry-After
	drop       bool // close the connection instead of answering
	gone       bool // the client left (or the server is stopping): no answer either
}

// proxyPage is what a proxy or captive portal in the way answers, with 200.
var proxyPage = []byte(`<!DOCTYPE html>
<html><head><title>Guest network</title></head>
<body><h1>Welcome to the guest network</h1><p>Please sign in to continue.</p></body></html>
`)

// errorAnswer is the documented error body.
func errorAnswer(status int, message string) answer {
	body, _ := json.Marshal(api.ErrorBody{StatusCode: status, Error: http.StatusText(status), Message: message})
	return answer{status: status, body: body}
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if len(r.URL.Path) > len(controlPrefix) && r.URL.Path[:len(controlPrefix)] == controlPrefix {
		s.serveControl(w, r)
		return
	}
	start := time.Now()
	rec := Request{Time: start, Method: r.Method, Path: r.URL.Path}
	ans := s.handle(r, &rec)
	rec.Duration = time.Since(start)
	rec.Status, rec.Dropped, rec.Gone = ans.status, ans.drop, ans.gone
	if ans.drop || ans.gone {
		rec.Status = 0
	}
	s.count(&rec)
	switch {
	case ans.drop || ans.gone:
		// Returning without a write would send an empty 200, which a client
		// still listening (a server shutting down) would take for success.
		drop(w)
	case ans.html:
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Length", strconv.Itoa(len(ans.body)))
		w.WriteHeader(ans.status)
		w.Write(ans.body)
	default:
		if ans.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(ans.retryAfter))
		}
		writeJSON(w, ans.status, ans.body)
	}
	s.logRequest(&rec)
}

// handle decides the answer, checking in the order the API does: rate limit,
// (latency), key, permission, (faults), validation, existence, conflict.
func (s *Server) handle(r *http.Request, rec *Request) answer {
	var rt *route
	for i := range routes {
		if routes[i].path == r.URL.Path && routes[i].method == r.Method {
			rt = &routes[i]
		}
	}
	if rt == nil {
		// NestJS routes before it authenticates: unknown paths are 404 for anyone.
		return errorAnswer(http.StatusNotFound, fmt.Sprintf("Cannot %s %s", r.Method, r.URL.Path))
	}

	var sub *submission
	if r.Method == http.MethodPost {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			return answer{gone: true}
		}
		sub = parseSubmission(body, r.Header.Get("Content-Type"))
		rec.ActivityKey, rec.HardOverride = sub.activityKey(), sub.hardOverride
		rec.byProvider = sub.activityID == "" && sub.providerID != ""
	}

	fs := s.faults.Load()
	if fs.Hang {
		// Accepted, read, and never answered: the client gives up first.
		<-r.Context().Done()
		return answer{gone: true}
	}
	if ok, wait := fs.allow(time.Now()); !ok {
		secs := fs.RetryAfter
		if secs == 0 {
			secs = int(math.Min(math.Ceil(wait.Seconds()), math.MaxInt32))
		}
		secs = max(1, secs)
		ans := errorAnswer(http.StatusTooManyRequests, fmt.Sprintf("Too many requests: at most %g a second; retry after %d s", fs.RateLimit, secs))
		ans.retryAfter = secs
		return ans
	}
	if fs.Latency > 0 {
		t := time.NewTimer(fs.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return answer{gone: true}
		}
	}

	ki, ok := s.key(r)
	if !ok {
		return errorAnswer(http.StatusUnauthorized, msgUnauthorized)
	}
	if rt.perm == api.PermViewActivities && !ki.view || rt.perm == api.PermSubmitActivityResult && !ki.submit {
		return errorAnswer(http.StatusForbidden, msgForbidden)
	}

	switch f, code := fs.roll(); f {
	case faultDrop:
		return answer{drop: true}
	case fault5xx:
		return errorAnswer(code, "Injected fault: try again later")
	case faultHTML:
		return answer{status: http.StatusOK, body: proxyPage, html: true}
	}
	return rt.serve(s, r, sub, rec)
}

// key finds the request's key. A key sent twice, unknown, revoked or expired
// is no key at all.
func (s *Server) key(r *http.Request) (keyInfo, bool) {
	vals := r.Header.Values("x-api-key")
	if len(vals) != 1 {
		return keyInfo{}, false
	}
	ki, ok := s.keys[vals[0]]
	if !ok || ki.revoked || (!ki.expires.IsZero() && !s.now().Before(ki.expires)) {
		return keyInfo{}, false
	}
	return ki, true
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	// HTTP/2, or a ResponseWriter that cannot hijack: abort the stream.
	panic(http.ErrAbortHandler)
}

// writeError writes the documented error body.
func writeError(w http.ResponseWriter, status int, message string) {
	ans := errorAnswer(status, message)
	writeJSON(w, status, ans.body)
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func (s *Server) serveConfigs(r *http.Request, _ *submission, rec *Request) answer {
	return answer{status: http.StatusOK, body: s.configsJSON}
}
