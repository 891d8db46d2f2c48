package web

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
)

// handleEditPage is the form that corrects one row, for browsers without
// scripts (and for rows whose trouble is not in one cell).
func (s *Server) handleEditPage(w http.ResponseWriter, r *http.Request) {
	u, cr, ord, ok := s.rowOf(w, r)
	if !ok {
		return
	}
	c, err := s.viewCheck(u)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	rv := rowViewOf(u.ID, ord, cr, r.URL.Query().Get("filter"))
	s.render(w, r, http.StatusOK, "edit", view{Title: fmt.Sprintf("Fix row %d", cr.Row), Step: "preview", Upload: u, Data: editPage{Row: rv, Columns: c.sum.Columns}})
}

type editPage struct {
	Row     rowView
	Columns []string
}

// rowOf reads the upload and row a request names; it answers the request
// itself when it cannot.
func (s *Server) rowOf(w http.ResponseWriter, r *http.Request) (*upload, checkedRow, int, bool) {
	u, err := s.loadUpload(r.PathValue("id"))
	if err != nil {
		s.failErr(w, r, err)
		return nil, checkedRow{}, 0, false
	}
	ord, err := strconv.Atoi(r.PathValue("i"))
	c, cerr := s.viewCheck(u)
	if cerr != nil {
		s.failErr(w, r, cerr)
		return nil, checkedRow{}, 0, false
	}
	var cr checkedRow
	if err == nil {
		l := s.lock(u.ID)
		l.RLock()
		cr, err = c.row(ord)
		l.RUnlock()
	}
	if err != nil {
		s.fail(w, r, http.StatusNotFound, "No such row", "The row is not in the latest check of this file. Go back to the preview and pick it again.")
		return nil, checkedRow{}, 0, false
	}
	return u, cr, ord, true
}

// handleEdit corrects cells of one row and checks the file again: the
// whole file, since a corrected id can make another row a duplicate, or
// stop it being one. A form posts c0, c1, ... (every cell); a script posts
// col and value (one cell) to /api/ and gets the row back as HTML.
func (s *Server) handleEdit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "Bad form", "The correction did not arrive whole; try again.")
		return
	}
	u, cr, ord, ok := s.rowOf(w, r)
	if !ok {
		return
	}
	cells := append([]string(nil), cr.Cells...)
	if c := r.PostFormValue("col"); c != "" {
		i, err := strconv.Atoi(c)
		if err != nil || i < 0 || i >= len(cells) {
			s.fail(w, r, http.StatusBadRequest, "No such column", fmt.Sprintf("Row %d has no column %q.", cr.Row, c))
			return
		}
		cells[i] = r.PostFormValue("value")
	}
	for i := range cells {
		if v, ok := r.PostForm[fmt.Sprintf("c%d", i)]; ok {
			cells[i] = v[0]
		}
	}
	l := s.lock(u.ID)
	l.Lock()
	edits, err := u.loadEdits()
	if err == nil {
		edits[cr.Row] = cells
		err = u.saveEdits(edits)
	}
	var sum *checkSummary
	if err == nil {
		sum, err = s.checkLocked(u)
	}
	var c *checkView
	if err == nil {
		c, err = openCheck(u)
	}
	if err == nil {
		cr, err = c.row(ord)
	}
	l.Unlock()
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	filter := r.PostFormValue("filter")
	if !c.validFilter(filter) {
		filter = ""
	}
	if !isAPI(r) {
		http.Redirect(w, r, fmt.Sprintf("/uploads/%s/preview#row-%d", u.ID, cr.Row), http.StatusSeeOther)
		return
	}
	rowHTML, err1 := s.fragment("row", rowViewOf(u.ID, ord, cr, filter))
	countsHTML, err2 := s.fragment("counts", countsOf(u, sum, filter))
	problemsHTML, err3 := s.fragment("problems", problemsOf(r, u, sum, filter))
	if err := errors.Join(err1, err2, err3); err != nil {
		s.failErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, editAnswer{Class: cr.Class, Problems: len(cr.Problems), Row: rowHTML, Counts: countsHTML, ProblemList: problemsHTML})
}

// editAnswer is what a script gets back for a correction: the row's new
// class and its problems left, and the parts of the page to put in place.
type editAnswer struct {
	Class       string `json:"class"`
	Problems    int    `json:"problems"`
	Row         string `json:"row"`          // the row's <tr>
	Counts      string `json:"counts"`       // the counts by class
	ProblemList string `json:"problem_list"` // the problems by kind
}

// fragment renders one template of the preview page alone.
func (s *Server) fragment(name string, data any) (string, error) {
	var buf bytes.Buffer
	err := s.pages["preview"].ExecuteTemplate(&buf, name, data)
	return buf.String(), err
}

func (s *Server) handleDiscardEdits(w http.ResponseWriter, r *http.Request) {
	u, err := s.loadUpload(r.PathValue("id"))
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	l := s.lock(u.ID)
	l.Lock()
	err = os.Remove(u.file(editsName))
	if err == nil || errors.Is(err, os.ErrNotExist) {
		_, err = s.checkLocked(u)
	}
	l.Unlock()
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	http.Redirect(w, r, "/uploads/"+u.ID+"/preview", http.StatusSeeOther)
}
