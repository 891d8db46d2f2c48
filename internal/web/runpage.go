package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/reten/reconcile/internal/engine"
	"github.com/reten/reconcile/internal/outcome"
)

// runEvent is one Server-Sent Event of a run's progress, and what the run
// page is drawn from before its script takes over.
type runEvent struct {
	Done       int            `json:"done"`
	Total      int            `json:"total"` // 0 while unknown
	Counts     map[string]int `json:"counts"`
	RowsPerSec float64        `json:"rows_per_s"`
	ETASec     float64        `json:"eta_s"` // -1 while unknown
	ElapsedSec float64        `json:"elapsed_s"`
	Stopping   bool           `json:"stopping,omitempty"` // cancelled, finishing the requests in flight
	Final      bool           `json:"final"`
	Elsewhere  bool           `json:"elsewhere,omitempty"` // another process runs it; only its end is known
	Ending     string         `json:"ending,omitempty"`    // engine.Ending's name, once final
	Title      string         `json:"title,omitempty"`     // the page's heading, once final
	Text       string         `json:"text,omitempty"`      // what the ending means for the rows
	Message    string         `json:"message,omitempty"`   // what stopped it, when it did not finish
	Report     string         `json:"report,omitempty"`    // the report page, once final
}

func newRunEvent() runEvent {
	e := runEvent{Counts: map[string]int{}, ETASec: -1}
	for _, c := range outcome.Classes {
		e.Counts[string(c)] = 0
	}
	return e
}

// eventOf is where a run is: a run of this console as it goes, else its
// record in the state directory's history. ok is false for a run neither
// knows.
func (s *Server) eventOf(id string) (e runEvent, seq int, next <-chan struct{}, ok bool) {
	e = newRunEvent()
	if lr := s.liveRunOf(id); lr != nil {
		st := lr.state()
		endErr := st.EndErr
		e.Done, e.Total, e.ElapsedSec = st.Done, st.Total, st.Elapsed.Seconds()
		for c, n := range st.Counts {
			e.Counts[string(c)] = n
		}
		e.RowsPerSec = st.Rate
		if st.Rate > 0 && e.Total >= e.Done {
			e.ETASec = math.Ceil(float64(e.Total-e.Done) / st.Rate)
		}
		e.Stopping = lr.stopping()
		if st.Ended {
			e.Final, e.ETASec, e.Report = true, 0, "/runs/"+id+"/report"
			e.Ending = engine.EndingOf(endErr).String()
			if endErr != nil {
				e.Message = endErr.Error()
			}
			// The record holds the counts the reports were closed with.
			if rec, err := engine.ReadRun(s.opts.StateDir, id); err == nil && rec.Ended() {
				s.fromRecord(&e, rec)
			}
			e.Title, e.Text = endingTitles[e.Ending], endingTexts[e.Ending]
		}
		return e, st.Seq, st.Next, true
	}
	rec, err := engine.ReadRun(s.opts.StateDir, id)
	if err != nil {
		return e, 0, nil, false
	}
	s.fromRecord(&e, rec)
	return e, 0, nil, true
}

func (s *Server) fromRecord(e *runEvent, rec *engine.RunRecord) {
	e.Done, e.Total = rec.Total, rec.Total
	for c, n := range rec.Counts {
		e.Counts[string(c)] = n
	}
	if !rec.Ended() {
		e.Elsewhere, e.Done = true, 0
		e.ElapsedSec = s.now().Sub(rec.Started).Seconds()
		return
	}
	e.Final, e.ETASec, e.Ending, e.Message, e.Report = true, 0, rec.Ending, rec.Error, "/runs/"+rec.ID+"/report"
	e.Title, e.Text = endingTitles[e.Ending], endingTexts[e.Ending]
	e.ElapsedSec = rec.Finished.Sub(rec.Started).Seconds()
	if e.ElapsedSec > 0 {
		e.RowsPerSec = float64(rec.Total) / e.ElapsedSec
	}
}

// runID reads the run id of a request, answering it when it names none
// this console could have: an id is checked before any file is touched.
func (s *Server) runID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("run")
	if !engine.ValidRunID(id) {
		s.fail(w, r, http.StatusNotFound, "No such run", "There is no run with that name. The runs page lists every run of this state directory.")
		return "", false
	}
	return id, true
}

// runPage is the page of one run: its progress while it goes, how it ended.
type runPage struct {
	ID        string
	Files     []string
	Command   string
	Started   time.Time
	Policy    string
	UploadID  string
	Live      bool // started here and still going: it can be cancelled
	Event     runEvent
	Host      string
	PID       int
	EventsURL string
}

func (s *Server) handleRunPage(w http.ResponseWriter, r *http.Request) {
	id, ok := s.runID(w, r)
	if !ok {
		return
	}
	e, _, _, ok := s.eventOf(id)
	if !ok {
		s.fail(w, r, http.StatusNotFound, "No such run", "This state directory has no run "+id+". The runs page lists every run it has.")
		return
	}
	p := runPage{ID: id, Event: e, EventsURL: "/api/runs/" + id + "/events"}
	var u *upload
	if lr := s.liveRunOf(id); lr != nil {
		p.Files, p.Command, p.Started, p.Policy, p.UploadID = []string{lr.Name}, "console", lr.Started, lr.Policy, lr.UploadID
		p.Live = !e.Final
		u, _ = s.loadUpload(lr.UploadID)
	}
	if rec, err := engine.ReadRun(s.opts.StateDir, id); err == nil {
		p.Files, p.Command, p.Started, p.Host, p.PID = rec.Files, rec.Command, rec.Started, rec.Host, rec.PID
	}
	s.render(w, r, http.StatusOK, "run", view{Title: "Run " + id, Step: "send", Upload: u, Data: p})
}

func (s *Server) handleCancelRun(w http.ResponseWriter, r *http.Request) {
	id, ok := s.runID(w, r)
	if !ok {
		return
	}
	lr := s.liveRunOf(id)
	if lr == nil {
		s.fail(w, r, http.StatusNotFound, "Not a run of this console", "Only a run started from this console, while it goes on, can be stopped here. Stop a run of the command line with Ctrl-C where it runs.")
		return
	}
	lr.cancel()
	if isAPI(r) {
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "stopping"})
		return
	}
	http.Redirect(w, r, "/runs/"+id, http.StatusSeeOther)
}

// sseHeartbeat keeps an idle event stream open through proxies that cut
// silent connections.
const sseHeartbeat = 15 * time.Second

// recordPoll is how often the stream of a run of another process looks for
// its end, which that process records.
const recordPoll = 2 * time.Second

// handleRunEvents streams a run's progress as Server-Sent Events: an event
// "progress" at each change, with the change count as its id, until the
// run's final event. A browser that reconnects gets the state at once
// (whatever Last-Event-ID it sends, a missed change is never lost: each
// event is the whole state), then the changes after it.
func (s *Server) handleRunEvents(w http.ResponseWriter, r *http.Request) {
	id, ok := s.runID(w, r)
	if !ok {
		return
	}
	if _, _, _, ok := s.eventOf(id); !ok {
		s.fail(w, r, http.StatusNotFound, "No such run", "This state directory has no run "+id+".")
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		s.fail(w, r, http.StatusInternalServerError, "No streaming", "This server cannot stream events; reload the page to see the run's progress.")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n")
	last := -1
	if n, err := strconv.Atoi(r.Header.Get("Last-Event-ID")); err == nil {
		last = n
	}
	heartbeat := time.NewTicker(sseHeartbeat)
	defer heartbeat.Stop()
	poll := time.NewTicker(recordPoll)
	defer poll.Stop()
	sent, stopping := false, false
	for {
		e, seq, next, ok := s.eventOf(id)
		if !ok {
			return
		}
		// A reconnecting browser may already have this state; sending it
		// again costs one event and never leaves the page behind.
		if !sent || seq != last || e.Final {
			data, err := json.Marshal(e)
			if err != nil {
				return
			}
			if _, err := fmt.Fprintf(w, "id: %d\nevent: progress\ndata: %s\n\n", seq, data); err != nil {
				return
			}
			flusher.Flush()
			sent, last = true, seq
		}
		if e.Final || stopping {
			return
		}
		var changed <-chan struct{} = next
		var polled <-chan time.Time
		if next == nil {
			polled = poll.C // a run of another process: only its record says when it ends
		}
		select {
		case <-changed:
		case <-polled:
		case <-heartbeat.C:
			if _, err := fmt.Fprint(w, ": still running\n\n"); err != nil {
				return
			}
			flusher.Flush()
		case <-r.Context().Done():
			return
		case <-s.closing:
			// The runs have ended and published their final events, which
			// may be ready as well: send the last state, then end.
			stopping = true
		}
	}
}

// runsPage lists the history of the state directory's runs.
type runsPage struct {
	Runs       []runRow
	Prev, Next string
	From, To   int
	Total      int
}

type runRow struct {
	Rec         *engine.RunRecord
	Err         string // the record could not be read
	ID          string
	Live        bool
	NeedsPerson int
	Duration    time.Duration
}

const runsPerPage = 50

func (s *Server) handleRunsPage(w http.ResponseWriter, r *http.Request) {
	ids, err := engine.ListRuns(s.opts.StateDir)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	pageNo, _ := strconv.Atoi(r.URL.Query().Get("page"))
	pageNo = max(pageNo, 1)
	from := min((pageNo-1)*runsPerPage, max(len(ids)-1, 0)/runsPerPage*runsPerPage)
	to := min(from+runsPerPage, len(ids))
	p := runsPage{Total: len(ids), From: from + 1, To: to}
	for _, id := range ids[from:to] {
		row := runRow{ID: id}
		rec, err := engine.ReadRun(s.opts.StateDir, id)
		switch {
		case errors.Is(err, os.ErrNotExist):
			continue
		case err != nil:
			row.Err = err.Error()
		default:
			row.Rec = rec
			for c, n := range rec.Counts {
				if c.NeedsPerson() {
					row.NeedsPerson += n
				}
			}
			if rec.Ended() {
				row.Duration = rec.Finished.Sub(rec.Started)
			}
			if lr := s.liveRunOf(id); lr != nil && !rec.Ended() {
				row.Live = true
			}
		}
		p.Runs = append(p.Runs, row)
	}
	page := from/runsPerPage + 1
	if page > 1 {
		p.Prev = "/runs?page=" + strconv.Itoa(page-1)
	}
	if to < len(ids) {
		p.Next = "/runs?page=" + strconv.Itoa(page+1)
	}
	s.render(w, r, http.StatusOK, "runs", view{Title: "Runs", Step: "runs", Data: p})
}
