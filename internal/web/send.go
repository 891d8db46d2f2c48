package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/reten/reconcile/internal/engine"
	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/ledger"
)

// sendPage is the page that starts a run: what will be sent, and the
// choice of what to do when an activity already has a result.
type sendPage struct {
	Sum         *checkSummary
	CanSend     bool   // the console has a Runner
	Live        string // the id of this upload's run still going, if any
	OverrideCol string // the file's column mapped to hard_override, "" if none
	StateDir    string
	Ledger      string // Options.Ledger
}

func (s *Server) handleSendPage(w http.ResponseWriter, r *http.Request) {
	u, c, ok := s.checkedUpload(w, r)
	if !ok {
		return
	}
	p := sendPage{Sum: c.sum, CanSend: s.opts.Runner != nil, StateDir: s.opts.StateDir, Ledger: s.opts.Ledger}
	if lr := s.liveRunOfUpload(u.ID); lr != nil {
		p.Live = lr.ID
	}
	for i, f := range c.sum.Fields {
		if f == importer.HardOverride.String() {
			p.OverrideCol = c.sum.Columns[i]
		}
	}
	s.render(w, r, http.StatusOK, "send", view{Title: "Send", Step: "send", Upload: u, Data: p})
}

// handleStartRun starts the run and sends the browser to its page. A state
// directory another run holds (another tab, the CLI, cron) answers 409 with
// who holds it, and nothing is sent.
func (s *Server) handleStartRun(w http.ResponseWriter, r *http.Request) {
	u, err := s.loadUpload(r.PathValue("id"))
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	lr, err := s.startRun(r.Context(), u, r.PostFormValue("policy"))
	var locked *ledger.LockedError
	var bad *requestError
	var failed *engine.Failure
	switch {
	case errors.As(err, &locked):
		msg, _, _ := strings.Cut(err.Error(), "\n")
		s.render(w, r, http.StatusConflict, "locked", view{Title: "Another run holds the state directory", Step: "send", Upload: u,
			Data: lockedPage{Message: msg, Run: holderRun(s, locked)}})
		return
	case errors.Is(err, errNoRunner):
		s.fail(w, r, http.StatusServiceUnavailable, "Sending is off", "This console was started to check files only. Start it with `reconcile serve` and the API's base URL and key to send them.")
		return
	case errors.As(err, &failed) && failed.Ending == engine.LedgerFailed:
		// The database of a shared ledger is out of reach, or refuses: the
		// person can do nothing here but wait for it, and try again.
		s.opts.Logger.Error("web: the ledger cannot be opened", "err", err)
		msg, _, _ := strings.Cut(err.Error(), "\n")
		s.fail(w, r, http.StatusServiceUnavailable, "Nothing was sent: the ledger cannot be used", msg+". Send the file again from this page once the ledger answers.")
		return
	case errors.As(err, &bad):
		s.fail(w, r, http.StatusBadRequest, "Cannot send this file yet", err.Error())
		return
	case err != nil:
		s.failErr(w, r, err)
		return
	}
	http.Redirect(w, r, "/runs/"+lr.ID, http.StatusSeeOther)
}

type lockedPage struct {
	Message string
	Run     string // the holder's run, when its page can be shown
}

// holderRun is the id of the run that holds the state directory, when the
// console can show it.
func holderRun(s *Server, e *ledger.LockedError) string {
	if e.Holder == nil || !engine.ValidRunID(e.Holder.Run) {
		return ""
	}
	if s.liveRunOf(e.Holder.Run) != nil {
		return e.Holder.Run
	}
	if _, err := engine.ReadRun(s.opts.StateDir, e.Holder.Run); err == nil {
		return e.Holder.Run
	}
	return ""
}
