package web

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/reten/reconcile/internal/engine"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/reports"
)

// classHelp says in a line what each outcome class means, for the report's
// counts and chart.
var classHelp = map[outcome.Class]string{
	outcome.ClassOK:         "accepted by the API",
	outcome.ClassOverridden: "already had a result, sent again with hard_override and accepted",
	outcome.ClassInvalid:    "failed the offline checks; never sent",
	outcome.ClassRejected:   "refused by the API (4xx other than 409)",
	outcome.ClassConflict:   "the activity already has a result; not overwritten",
	outcome.ClassFailed:     "5xx, timeout or network error after every retry",
	outcome.ClassSkipped:    "not sent on purpose: sent before, a duplicate, or the run was stopped",
}

type reportPage struct {
	Rec      *engine.RunRecord
	Sum      *reports.Summary // nil when the run wrote none
	Duration time.Duration
	Err      string // why the rows cannot be shown
	Classes  []classBar
	Chart    chart
	Problems []problemLink
	Files    []download
	Columns  []reportColumn
	Rows     []reportRow
	Filter   string
	Showing  string // what the filter shows, in words
	Sort     int    // a column, or fileOrder
	Desc     bool
	Unsorted string // the page in the file's order
	From, To int
	Total    int
	Prev     string
	Next     string
	Settings []reports.Setting
}

type classBar struct {
	Class, Help, Link string
	Count             int
	Active            bool
}

// chart is the inline SVG bar chart of the counts per class: attributes
// only, no inline styles, which the console's content policy refuses.
type chart struct {
	Width, Height int
	Bars          []chartBar
}

type chartBar struct {
	Class      string
	Count      int
	Y, TextY   int
	BarWidth   int
	CountX     int
	LabelWidth int
}

// problemLink is one of the run's most frequent problems, in the
// terminal's words (reports.Summary.TopProblems), and the rows it stands
// for.
type problemLink struct {
	Class  string
	Kind   string // class, status and code
	Text   string // the first row's message, values and advice whole
	Like   string // that message alone, without "(and N more like it)"
	Count  int
	Link   string // "" when report.csv has no rows of it to list
	Active bool
}

// topProblems is the summary's list of problems, each linked to the view's
// rows of it (nil v: none linked); the view groups report.csv's rows by
// the same reports.ProblemOf, so the kinds are found by their key.
func topProblems(sum *reports.Summary, v *reportView, filter string, link func(filter string) string) []problemLink {
	var out []problemLink
	for _, m := range sum.TopProblems(reports.TopN) {
		p := problemLink{Class: string(m.Class), Kind: m.Kind(), Text: m.Shown(), Like: cmp.Or(m.Example, m.Message), Count: m.Count}
		if k := v.kindOf(m); k != nil {
			f := "p" + strconv.Itoa(k.ID)
			p.Link, p.Active = link(f), f == filter
		}
		out = append(out, p)
	}
	return out
}

type download struct {
	Name, Href, What string
	Size             int64
}

type reportColumn struct {
	Name     string
	Link     string // sorts by it (again: the other way)
	Sorted   string // "asc", "desc" or ""
	Numeric  bool
	Outcome  bool // one of reconcile's columns
	Class    bool // the outcome column itself
	Wrap     bool // the message: read whole, on several lines
	Position int  // in report.csv
}

type reportRow struct {
	Class string
	Cells []string // in the order of the page's columns
}

func (s *Server) handleReportPage(w http.ResponseWriter, r *http.Request) {
	id, ok := s.runID(w, r)
	if !ok {
		return
	}
	rec, err := engine.ReadRun(s.opts.StateDir, id)
	if errors.Is(err, os.ErrNotExist) {
		s.fail(w, r, http.StatusNotFound, "No such run", "This state directory has no run "+id+". The runs page lists every run it has.")
		return
	}
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	if !rec.Ended() {
		http.Redirect(w, r, "/runs/"+id, http.StatusSeeOther)
		return
	}
	p := reportPage{Rec: rec, Sort: fileOrder, Duration: rec.Finished.Sub(rec.Started)}
	sum, err := reports.ReadSummary(rec.ReportDir)
	if err != nil {
		p.Err = fmt.Sprintf("The run wrote no reports to show (%s).", rec.ReportDir)
		s.render(w, r, http.StatusOK, "report", view{Title: "Report", Step: "runs", Data: p})
		return
	}
	p.Sum = sum
	p.Settings = sortedSettings(sum.Settings)
	p.Files = reportFiles(id, rec.ReportDir, sum)
	v, err := s.openView(id, rec.ReportDir)
	if err != nil {
		p.Err = fmt.Sprintf("The rows cannot be shown: %v. The downloads below still hold them.", err)
		p.Classes, p.Chart = classBars(id, sum.Counts, ""), newChart(sum.Counts)
		p.Problems = topProblems(sum, nil, "", nil)
		s.render(w, r, http.StatusOK, "report", view{Title: "Report", Step: "runs", Data: p})
		return
	}

	q := r.URL.Query()
	filter := q.Get("class")
	if filter != "" {
		filter = "c-" + filter
	}
	if pr := q.Get("problem"); pr != "" {
		filter = "p" + pr
	}
	if !v.validFilter(filter) {
		filter = ""
	}
	p.Filter = filter
	counts := map[outcome.Class]int{}
	for c, n := range v.meta.Counts {
		counts[outcome.Class(c)] = n
	}
	p.Classes, p.Chart = classBars(id, counts, filter), newChart(counts)
	if n, err := strconv.Atoi(q.Get("sort")); err == nil && n >= 0 && n < len(v.meta.Header) {
		p.Sort, p.Desc = n, q.Get("dir") == "desc"
	}
	link := func(filter string, sort int, desc bool, page int) string {
		vals := url.Values{}
		switch {
		case strings.HasPrefix(filter, "c-"):
			vals.Set("class", filter[2:])
		case filter != "":
			vals.Set("problem", filter[1:])
		}
		if sort >= 0 {
			vals.Set("sort", strconv.Itoa(sort))
			if desc {
				vals.Set("dir", "desc")
			}
		}
		if page > 1 {
			vals.Set("page", strconv.Itoa(page))
		}
		if len(vals) == 0 {
			return "/runs/" + id + "/report"
		}
		return "/runs/" + id + "/report?" + vals.Encode()
	}
	p.Problems = topProblems(sum, v, filter, func(f string) string { return link(f, p.Sort, p.Desc, 1) })
	for i := range p.Classes {
		p.Classes[i].Link = link("c-"+p.Classes[i].Class, p.Sort, p.Desc, 1)
	}
	p.Unsorted = link(filter, fileOrder, false, 1)
	p.Showing = "every row"
	if c, ok := strings.CutPrefix(filter, "c-"); ok {
		p.Showing = "the rows that ended " + c
	} else if filter != "" {
		n, _ := strconv.Atoi(filter[1:])
		// A kind beyond the list has no example: its message, values masked.
		p.Showing = "the rows with “" + v.problem(n).Message + "”"
		for _, pl := range p.Problems {
			if pl.Active {
				p.Showing = "the rows like “" + pl.Like + "”"
			}
		}
	}

	order, ours := shownColumns(v.meta.Header)
	for _, i := range order {
		c := reportColumn{Name: v.meta.Header[i], Numeric: v.meta.Numeric[i], Position: i, Outcome: ours[i], Class: i == v.meta.Outcome,
			Wrap: ours[i] && v.meta.Header[i] == reports.MessageColumn}
		desc := false
		if i == p.Sort {
			c.Sorted = "asc"
			if p.Desc {
				c.Sorted = "desc"
			} else {
				desc = true
			}
		}
		c.Link = link(filter, i, desc, 1)
		p.Columns = append(p.Columns, c)
	}

	pageNo, _ := strconv.Atoi(q.Get("page"))
	pageNo = max(pageNo, 1)
	p.Total = v.count(filter)
	from := (pageNo - 1) * pageRows
	if from >= p.Total && p.Total > 0 {
		from = (p.Total - 1) / pageRows * pageRows
		pageNo = from/pageRows + 1
	}
	recs, err := v.page(filter, p.Sort, p.Desc, from, pageRows)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	for _, rec := range recs {
		row := reportRow{Cells: make([]string, len(order))}
		if v.meta.Outcome < len(rec) {
			row.Class = rec[v.meta.Outcome]
		}
		for j, i := range order {
			if i < len(rec) {
				row.Cells[j] = rec[i]
			}
		}
		p.Rows = append(p.Rows, row)
	}
	if len(recs) > 0 {
		p.From, p.To = from+1, from+len(recs)
	}
	if pageNo > 1 {
		p.Prev = link(filter, p.Sort, p.Desc, pageNo-1)
	}
	if p.To < p.Total {
		p.Next = link(filter, p.Sort, p.Desc, pageNo+1)
	}
	s.render(w, r, http.StatusOK, "report", view{Title: "Report", Step: "runs", Data: p})
}

// shownColumns orders report.csv's columns for reading on screen: where
// the row is and how it ended first, then the person's own columns, then
// the request's details. ours marks reconcile's columns.
func shownColumns(header []string) (order []int, ours map[int]bool) {
	ours = map[int]bool{}
	take := func(i int) {
		if i >= 0 && !ours[i] {
			ours[i] = true
			order = append(order, i)
		}
	}
	for _, name := range []string{reports.FileColumn, reports.SheetColumn, reports.RowColumn, reports.OutcomeColumn,
		reports.HTTPStatusColumn, reports.CodeColumn, reports.ErrorColumn, reports.MessageColumn} {
		take(reports.ColumnIndex(header, name))
	}
	var tail []int
	for _, name := range []string{reports.AttemptsColumn, reports.DurationColumn, reports.ResultIDColumn} {
		if i := reports.ColumnIndex(header, name); i >= 0 && !ours[i] {
			ours[i] = true
			tail = append(tail, i)
		}
	}
	for i := range header {
		if !ours[i] {
			order = append(order, i)
		}
	}
	return append(order, tail...), ours
}

func classBars(id string, counts map[outcome.Class]int, filter string) []classBar {
	var bars []classBar
	for _, c := range outcome.Classes {
		bars = append(bars, classBar{Class: string(c), Help: classHelp[c], Count: counts[c], Active: filter == "c-"+string(c)})
	}
	return bars
}

// newChart lays out one bar a class, the longest as wide as the chart
// allows.
func newChart(counts map[outcome.Class]int) chart {
	const labelWidth, barRoom, barHeight, gap, countRoom = 96, 420, 22, 10, 70
	most := 1
	for _, c := range outcome.Classes {
		most = max(most, counts[c])
	}
	ch := chart{Width: labelWidth + barRoom + countRoom}
	for i, c := range outcome.Classes {
		n := counts[c]
		width := n * barRoom / most
		if n > 0 {
			width = max(width, 2)
		}
		y := i * (barHeight + gap)
		ch.Bars = append(ch.Bars, chartBar{Class: string(c), Count: n, Y: y, TextY: y + barHeight/2 + 5,
			BarWidth: width, CountX: labelWidth + width + 8, LabelWidth: labelWidth})
	}
	ch.Height = len(outcome.Classes)*(barHeight+gap) - gap
	return ch
}

// reportFiles are the downloads of a run's report folder, as its summary
// lists them and as they are on disk.
func reportFiles(id, dir string, sum *reports.Summary) []download {
	var files []download
	add := func(name, what string) {
		if name == "" || filepath.Base(name) != name {
			return
		}
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || !fi.Mode().IsRegular() {
			return
		}
		files = append(files, download{Name: name, What: what, Href: "/runs/" + id + "/files/" + url.PathEscape(name), Size: fi.Size()})
	}
	add(sum.Reports.CSV, "every row and how it ended")
	add(sum.Reports.XLSX, "the same, with a summary sheet and a chart")
	for _, name := range sum.Reports.Rejects {
		add(name, "the rows to fix, in the file's own columns")
	}
	add(sum.Reports.Summary, "counts and timings, for monitoring")
	return files
}

// handleReportFile sends one file of a run's report folder: only a file
// the run's summary lists, found by the run's id, never by a path the
// browser gave.
func (s *Server) handleReportFile(w http.ResponseWriter, r *http.Request) {
	id, ok := s.runID(w, r)
	if !ok {
		return
	}
	rec, err := engine.ReadRun(s.opts.StateDir, id)
	if err != nil || !rec.Ended() {
		s.fail(w, r, http.StatusNotFound, "No such report", "This run has no finished reports to download.")
		return
	}
	sum, err := reports.ReadSummary(rec.ReportDir)
	if err != nil {
		s.fail(w, r, http.StatusNotFound, "No such report", "This run wrote no reports.")
		return
	}
	name := r.PathValue("name")
	for _, f := range reportFiles(id, rec.ReportDir, sum) {
		if f.Name != name {
			continue
		}
		ctype := "text/csv; charset=utf-8"
		switch filepath.Ext(name) {
		case ".xlsx":
			ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
		case ".json":
			ctype = "application/json"
		}
		serveAttachment(w, r, filepath.Join(rec.ReportDir, name), name, ctype)
		return
	}
	s.fail(w, r, http.StatusNotFound, "No such report", "This run's report folder has no file of that name. Download the files from the report page.")
}

func sortedSettings(m map[string]string) []reports.Setting {
	var out []reports.Setting
	for k, v := range m {
		out = append(out, reports.Setting{Name: k, Value: v})
	}
	slices.SortFunc(out, func(a, b reports.Setting) int { return strings.Compare(a.Name, b.Name) })
	return out
}
