package web

import (
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/reports"
	"github.com/reten/reconcile/internal/validate"
)

// pageRows is how many rows a preview page shows.
const pageRows = 50

type previewPage struct {
	Sum          *checkSummary
	Filter       string
	Counts       countsView
	ProblemsView problemsView
	Columns      []columnView
	Rows         []rowView
	From, To     int // 1-based, inclusive, of the rows listed
	Total        int // rows the filter lists
	Prev         string
	Next         string
	Command      string // the same check or run from the CLI
	Configs      int    // result types checked against
	Fetched      string
}

type columnView struct {
	Header string
	Field  string
}

type countsView struct {
	UploadID string
	Filter   string
	All      int
	Classes  []classCount
}

type classCount struct {
	Class, Label string
	Count        int
}

type problemsView struct {
	UploadID string
	CSRF     string
	Problems []problemView
	Edited   int
}

type problemView struct {
	Filter, Column, Example string
	Count                   int
	Active                  bool
}

type rowView struct {
	UploadID string
	Ordinal  int
	Row      int
	Class    string
	Cells    []cellView
	Problems []string // the row's own, and those of fields without a column
	Note     string
	Edited   bool
	Filter   string
}

type cellView struct {
	Col      int
	Text     string
	Bad      bool
	Messages []string
}

var classLabels = map[string]string{classReady: "ready to send", classInvalid: "invalid", classSkipped: "skipped"}

// checkedUpload reads the mapped upload a request names and its check,
// checking it first if it has none. It answers the request itself when it
// cannot: the mapping page for an upload not mapped yet, a page saying why
// rows cannot be checked.
func (s *Server) checkedUpload(w http.ResponseWriter, r *http.Request) (*upload, *checkView, bool) {
	u, err := s.loadUpload(r.PathValue("id"))
	if err != nil {
		s.failErr(w, r, err)
		return nil, nil, false
	}
	if !u.Mapped {
		http.Redirect(w, r, "/uploads/"+u.ID+"/map", http.StatusSeeOther)
		return nil, nil, false
	}
	c, err := s.viewCheck(u)
	if errors.Is(err, errNoCatalogue) {
		s.fail(w, r, http.StatusServiceUnavailable, "No result types", "The console has not got the tenant's result types, so rows cannot be checked. Restart it with a base URL and key that can read them (VIEW_ACTIVITIES), or after `reconcile configs pull`.")
		return nil, nil, false
	}
	if err != nil {
		s.failErr(w, r, err)
		return nil, nil, false
	}
	return u, c, true
}

func (s *Server) handlePreview(w http.ResponseWriter, r *http.Request) {
	u, c, ok := s.checkedUpload(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	filter := q.Get("problem")
	if filter == "" {
		filter = q.Get("class")
	}
	if !c.validFilter(filter) {
		filter = ""
	}
	pageNo, _ := strconv.Atoi(q.Get("page"))
	pageNo = max(pageNo, 1)
	p := previewPage{Sum: c.sum, Filter: filter, Total: c.count(filter), Counts: countsOf(u, c.sum, filter)}
	if cat := s.opts.Catalogue; cat != nil {
		p.Configs = len(cat.Configs)
		if !cat.FetchedAt.IsZero() {
			p.Fetched = cat.FetchedAt.Local().Format("2 Jan 2006 15:04")
		}
	}
	for i, h := range c.sum.Columns {
		cv := columnView{Header: h}
		if i < len(c.sum.Fields) {
			cv.Field = c.sum.Fields[i]
		}
		p.Columns = append(p.Columns, cv)
	}
	p.ProblemsView = problemsOf(r, u, c.sum, filter)
	from := (pageNo - 1) * pageRows
	if from >= p.Total && p.Total > 0 {
		from = (p.Total - 1) / pageRows * pageRows
		pageNo = from/pageRows + 1
	}
	rows, ords, err := c.page(filter, from, pageRows)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	for i, cr := range rows {
		p.Rows = append(p.Rows, rowViewOf(u.ID, ords[i], cr, filter))
	}
	if len(rows) > 0 {
		p.From, p.To = from+1, from+len(rows)
	}
	link := func(n int) string {
		v := url.Values{}
		if strings.HasPrefix(filter, "p") {
			v.Set("problem", filter)
		} else if filter != "" {
			v.Set("class", filter)
		}
		v.Set("page", strconv.Itoa(n))
		return "/uploads/" + u.ID + "/preview?" + v.Encode()
	}
	if pageNo > 1 {
		p.Prev = link(pageNo - 1)
	}
	if p.To < p.Total {
		p.Next = link(pageNo + 1)
	}
	p.Command = cliCommand(u)
	s.render(w, r, http.StatusOK, "preview", view{Title: "Preview", Step: "preview", Upload: u, Data: p})
}

// viewCheck opens the upload's check, checking it first if it has none.
func (s *Server) viewCheck(u *upload) (*checkView, error) {
	l := s.lock(u.ID)
	l.RLock()
	c, err := openCheck(u)
	l.RUnlock()
	if !errors.Is(err, errNoCheck) {
		return c, err
	}
	l.Lock()
	defer l.Unlock()
	if c, err := openCheck(u); !errors.Is(err, errNoCheck) {
		return c, err
	}
	if _, err := s.checkLocked(u); err != nil {
		return nil, err
	}
	return openCheck(u)
}

func countsOf(u *upload, sum *checkSummary, filter string) countsView {
	cv := countsView{UploadID: u.ID, Filter: filter, All: sum.Rows}
	for _, c := range checkClasses {
		cv.Classes = append(cv.Classes, classCount{Class: c, Label: classLabels[c], Count: sum.Counts[c]})
	}
	return cv
}

func problemsOf(r *http.Request, u *upload, sum *checkSummary, filter string) problemsView {
	pv := problemsView{UploadID: u.ID, Edited: sum.Edited}
	if sess := sessionFrom(r.Context()); sess != nil {
		pv.CSRF = sess.csrf
	}
	for _, k := range sum.Problems {
		f := "p" + strconv.Itoa(k.ID)
		pv.Problems = append(pv.Problems, problemView{Filter: f, Column: k.Column, Example: k.Example, Count: k.Count, Active: f == filter})
	}
	return pv
}

func rowViewOf(id string, ord int, cr checkedRow, filter string) rowView {
	rv := rowView{UploadID: id, Ordinal: ord, Row: cr.Row, Class: cr.Class, Note: cr.Note, Edited: cr.Edited, Filter: filter}
	rv.Cells = make([]cellView, len(cr.Cells))
	for i, c := range cr.Cells {
		rv.Cells[i] = cellView{Col: i, Text: c}
	}
	for _, p := range cr.Problems {
		if len(p.Cols) == 0 {
			msg := p.Message
			if p.Column != "" {
				msg = p.Column + ": " + msg
			}
			rv.Problems = append(rv.Problems, msg)
			continue
		}
		for _, i := range p.Cols {
			if i < len(rv.Cells) {
				rv.Cells[i].Bad = true
				rv.Cells[i].Messages = append(rv.Cells[i].Messages, p.Message)
			}
		}
	}
	return rv
}

// cliCommand is the CLI line that reads the file as the console does.
func cliCommand(u *upload) string {
	args := []string{"reconcile", "run", "--mapping", "mapping.txt"}
	add := func(flag, v string) {
		if v != "" {
			args = append(args, flag, shellQuote(v))
		}
	}
	add("--sheet", u.Read.Sheet)
	add("--delimiter", u.Read.Delimiter)
	add("--encoding", u.Read.Encoding)
	add("--date-format", u.Read.DateFormat)
	add("--timezone", u.Read.Timezone)
	return strings.Join(append(args, shellQuote(u.Name)), " ")
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func (s *Server) handleCheckJSON(w http.ResponseWriter, r *http.Request) {
	u, err := s.loadUpload(r.PathValue("id"))
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	if !u.Mapped {
		s.fail(w, r, http.StatusConflict, "Not mapped", "Map the file's columns first.")
		return
	}
	c, err := s.viewCheck(u)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c.sum)
}

// handleRejects writes the rows that need fixing as the reports write a
// rejects file (the file's own columns, format and encoding, a
// reconcile_error column) and sends it; fixed, it can be uploaded again.
func (s *Server) handleRejects(w http.ResponseWriter, r *http.Request) {
	u, err := s.loadUpload(r.PathValue("id"))
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	if s.opts.Catalogue == nil {
		s.fail(w, r, http.StatusServiceUnavailable, "No result types", "The console has not got the tenant's result types, so rows cannot be checked.")
		return
	}
	dir, err := os.MkdirTemp(u.dir, "rejects-")
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	defer os.RemoveAll(dir)
	if err := s.writeRejects(u, dir); err != nil {
		s.failErr(w, r, err)
		return
	}
	files, _ := filepath.Glob(filepath.Join(dir, "rejects*"))
	if len(files) == 0 {
		s.fail(w, r, http.StatusNotFound, "Nothing to fix", "No row of this file needs fixing, so there is no rejects file.")
		return
	}
	ext := filepath.Ext(files[0])
	name := strings.TrimSuffix(u.Name, filepath.Ext(u.Name)) + "-rejects" + ext
	ctype := "text/csv; charset=utf-8"
	if ext == ".xlsx" {
		ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	serveAttachment(w, r, files[0], name, ctype)
}

// writeRejects checks the upload, edits in place, into reports in dir.
func (s *Server) writeRejects(u *upload, dir string) error {
	in, err := u.editedInput()
	if err != nil {
		return err
	}
	var rw *reports.Writer
	start := func(l *importer.Layout) error {
		rw, err = reports.Create(dir, reports.RunInfo{Command: "validate", Layouts: []*importer.Layout{l}, BaseURL: s.opts.BaseURL},
			reports.Options{Rejects: true, Now: s.opts.Now})
		return err
	}
	err = s.eachItem(in, start, func(it validate.Item) error {
		o, offline := it.Offline()
		if !offline {
			o = outcome.Outcome{Row: it.Row, Class: outcome.ClassOK}
		}
		return rw.Write(o)
	})
	if rw != nil {
		if _, cerr := rw.Close(0); err == nil {
			err = cerr
		}
	}
	return err
}
