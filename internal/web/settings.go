package web

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/reten/reconcile/internal/importer"
)

// The choices the settings page offers.
var (
	delimiterChoices = []choice{{",", "comma ,"}, {";", "semicolon ;"}, {"tab", "tab"}, {"|", "pipe |"}}
	encodingChoices  = []choice{{"utf-8", "UTF-8"}, {"windows-1252", "Windows-1252 (Excel on Windows)"}, {"latin1", "ISO-8859-1 (Latin-1)"}, {"utf-16", "UTF-16"}}
	dateChoices      = []choice{
		{"", "ISO 8601 and date cells"},
		{"02/01/2006 15:04", "day/month/year: 11/04/2026 10:30"},
		{"01/02/2006 15:04", "month/day/year: 04/11/2026 10:30"},
		{"02-01-2006 15:04", "day-month-year: 11-04-2026 10:30"},
		{"02.01.2006 15:04", "day.month.year: 11.04.2026 10:30"},
	}
	zoneChoices = []string{"UTC", "America/Santiago", "America/Argentina/Buenos_Aires", "America/Bogota", "America/Lima",
		"America/Mexico_City", "America/Sao_Paulo", "America/New_York", "Europe/Madrid", "Europe/London"}
)

type choice struct{ Value, Label string }

// settingsPage is what the settings page shows of a file.
type settingsPage struct {
	Err       string
	Sample    *importer.Sample
	Rows      []importer.SampleRow // the top of the file
	Width     int                  // cells of the widest row shown
	Header    int                  // the header's row number
	Detected  int                  // the row the console would take
	Delimiter string               // as the select names it
	Read      reading
	Custom    string // a date format not among dateChoices
	DateHint  dateHintText
	Choices   settingsChoices
}

type settingsChoices struct {
	Delimiters, Encodings, Dates []choice
	Zones                        []string
}

// settingsRows is how many rows of the file the settings page shows.
const settingsRows = 8

func (s *Server) handleSettingsPage(w http.ResponseWriter, r *http.Request) {
	u, err := s.loadUpload(r.PathValue("id"))
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.renderSettings(w, r, u, http.StatusOK, "")
}

func (s *Server) renderSettings(w http.ResponseWriter, r *http.Request, u *upload, status int, msg string) {
	p := settingsPage{Err: msg, Read: u.Read, Choices: settingsChoices{delimiterChoices, encodingChoices, dateChoices, zoneChoices}}
	p.Custom = u.Read.DateFormat
	for _, c := range dateChoices {
		if c.Value == u.Read.DateFormat {
			p.Custom = ""
		}
	}
	sm, err := s.peek(u)
	if err != nil && p.Err == "" {
		p.Err = err.Error()
		status = http.StatusUnprocessableEntity
	}
	if sm != nil {
		p.Sample = sm
		saved := s.tenantMapping()
		detected := headerIndex(sm, 0, saved)
		h := headerIndex(sm, u.Read.HeaderRow, saved)
		if len(sm.Rows) > 0 {
			p.Detected, p.Header = sm.Rows[detected].Row, sm.Rows[h].Row
		}
		p.DateHint = dateHint(sm, h, saved).text()
		p.Rows = sm.Rows[:min(len(sm.Rows), max(settingsRows, h+4))]
		for _, row := range p.Rows {
			p.Width = max(p.Width, len(row.Cells))
		}
		p.Delimiter = delimiterValue(sm.Delimiter)
	}
	s.render(w, r, status, "settings", view{Title: "File settings", Step: "settings", Upload: u, Data: p})
}

func delimiterValue(d rune) string {
	if d == '\t' {
		return "tab"
	}
	if d == 0 {
		return ""
	}
	return string(d)
}

func (s *Server) handleSettings(w http.ResponseWriter, r *http.Request) {
	u, err := s.loadUpload(r.PathValue("id"))
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	rd := reading{
		Sheet:      r.PostFormValue("sheet"),
		Delimiter:  r.PostFormValue("delimiter"),
		Encoding:   r.PostFormValue("encoding"),
		DateFormat: strings.TrimSpace(r.PostFormValue("date_format")),
		Timezone:   strings.TrimSpace(r.PostFormValue("timezone")),
	}
	if c := strings.TrimSpace(r.PostFormValue("date_format_custom")); c != "" {
		rd.DateFormat = c
	}
	if h := r.PostFormValue("header_row"); h != "" {
		n, err := strconv.Atoi(h)
		if err != nil || n < 1 {
			s.renderSettings(w, r, u, http.StatusUnprocessableEntity, fmt.Sprintf("The header row %q is not a row number; choose one of the rows shown.", h))
			return
		}
		rd.HeaderRow = n
	}
	if rd.Sheet != u.Read.Sheet {
		rd.HeaderRow = 0 // another sheet has a header of its own
	}
	if rd.Timezone == "UTC" {
		rd.Timezone = ""
	}
	if _, err := rd.options(); err != nil {
		u.Read = rd
		s.renderSettings(w, r, u, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if rd.DateFormat != "" && !strings.Contains(rd.DateFormat, "06") {
		u.Read = rd
		s.renderSettings(w, r, u, http.StatusUnprocessableEntity, fmt.Sprintf("The date format %q has no year. Write it in Go's notation: 02/01/2006 15:04 is day/month/year hours:minutes.", rd.DateFormat))
		return
	}
	if rd != u.Read {
		// Another reading may give other headers: the old mapping and
		// check no longer describe the file.
		u.Read, u.Mapped = rd, false
		if err := u.save(); err != nil {
			s.failErr(w, r, err)
			return
		}
		s.dropCheck(u)
	}
	if r.PostFormValue("action") == "continue" {
		http.Redirect(w, r, "/uploads/"+u.ID+"/map", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/uploads/"+u.ID, http.StatusSeeOther)
}

// headerIndex is the index in sm.Rows of the header: the row chosen, when
// it is among them, else the one DetectHeader finds.
func headerIndex(sm *importer.Sample, chosen int, saved *importer.Mapping) int {
	if chosen > 0 {
		for i, row := range sm.Rows {
			if row.Row == chosen {
				return i
			}
		}
	}
	cells := make([][]string, len(sm.Rows))
	for i, row := range sm.Rows {
		cells[i] = row.Cells
	}
	return importer.DetectHeader(cells, saved)
}

// dateHintResult is what the sampled dates say of their order.
type dateHintResult struct {
	Layout  string // a day-first or month-first layout, when the dates show it
	Column  string
	Example string // a date that shows the order (a day above 12)
	Row     int
	Slashed int // dates written with / - or . in the sample
}

type dateHintText string

var slashDate = regexp.MustCompile(`^(\d{1,2})([/.-])(\d{1,2})[/.-](\d{2}|\d{4})\b`)

// dateHint looks at the sampled cells of the occurred_at column (as the
// mapping suggests it) for dates written day and month first: a day above
// 12 shows the order, which is then the layout to read them with. Dates
// that could be either order give no layout: that is for the person to
// say, as the CLI never guesses it.
func dateHint(sm *importer.Sample, h int, saved *importer.Mapping) dateHintResult {
	var res dateHintResult
	if h >= len(sm.Rows) {
		return res
	}
	col := -1
	for i, sg := range importer.SuggestMapping(sm.Rows[h].Cells, saved) {
		if sg.Field == importer.OccurredAt {
			col = i
			res.Column = sg.Header
		}
	}
	if col < 0 {
		return res
	}
	dayFirst, monthFirst := false, false
	for _, row := range sm.Rows[h+1:] {
		if col >= len(row.Cells) {
			continue
		}
		m := slashDate.FindStringSubmatch(strings.TrimSpace(row.Cells[col]))
		if m == nil {
			continue
		}
		res.Slashed++
		a, _ := strconv.Atoi(m[1])
		b, _ := strconv.Atoi(m[3])
		sep := m[2]
		switch {
		case a > 12 && b <= 12 && !dayFirst:
			dayFirst = true
			res.Example, res.Row = row.Cells[col], row.Row
			res.Layout = "02" + sep + "01" + sep + "2006 15:04"
		case b > 12 && a <= 12 && !monthFirst:
			monthFirst = true
			res.Example, res.Row = row.Cells[col], row.Row
			res.Layout = "01" + sep + "02" + sep + "2006 15:04"
		}
	}
	if dayFirst == monthFirst { // neither, or both (a damaged column)
		res.Layout, res.Example, res.Row = "", "", 0
	}
	return res
}

func (d dateHintResult) text() dateHintText {
	switch {
	case d.Layout != "" && strings.HasPrefix(d.Layout, "02"):
		return dateHintText(fmt.Sprintf("%q has dates written day first, e.g. %s on row %d.", d.Column, d.Example, d.Row))
	case d.Layout != "":
		return dateHintText(fmt.Sprintf("%q has dates written month first, e.g. %s on row %d.", d.Column, d.Example, d.Row))
	case d.Slashed > 0:
		return dateHintText(fmt.Sprintf("%q has dates such as 04/05/2026 that could be day/month or month/day: choose the order below.", d.Column))
	}
	return ""
}
