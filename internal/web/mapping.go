package web

import (
	"bytes"
	"fmt"
	"mime"
	"net/http"
	"os"
	"strings"

	"github.com/reten/reconcile/internal/importer"
)

// mapPage is the mapping page: each header with its field.
type mapPage struct {
	Err       []string
	HeaderRow int
	Columns   []mapColumn
	Fields    []fieldChoice
	Missing   []string // required fields no column holds
	Results   []resultMatch
	ResultCol string
	Remember  bool
	Tenant    bool // the tenant has a saved mapping
}

type mapColumn struct {
	Index   int
	Header  string
	Field   string // the field's name, "" for none
	Source  string // why it was chosen
	Near    string
	Samples []string
	Ignore  bool
}

type fieldChoice struct {
	Name, Label string
	Required    bool
}

// fieldHelp says what each field holds, for the select.
var fieldHelp = map[importer.Field]string{
	importer.ActivityID:         "Reten's activity id (a UUID)",
	importer.ProviderActivityID: "your system's activity id",
	importer.CommerceExternalID: "the commerce's external id",
	importer.OccurredAt:         "when the activity was handled",
	importer.Status:             "EFFECTIVE, NOT_EFFECTIVE or PENDING",
	importer.ExternalStatus:     "your system's status",
	importer.HardOverride:       "yes to overwrite an existing result",
	importer.RawPayload:         "JSON stored as it is",
	importer.Result:             "the result type, code or label",
	importer.Comment:            "the operator's comment",
	importer.ContactType:        "INBOUND or OUTBOUND",
	importer.OperatorExternalID: "the operator's external id",
	importer.FutureScheduledAt:  "the reschedule date",
	importer.Payload:            "extra result data, JSON",
}

// requiredFields are the ones every row needs, as the importer refuses a
// header without them; one of the two activity ids is required too.
var requiredFields = []importer.Field{importer.CommerceExternalID, importer.OccurredAt, importer.Status, importer.Result}

func fieldChoices() []fieldChoice {
	var cs []fieldChoice
	for f := importer.Field(0); int(f) < importer.NumFields; f++ {
		req := f == importer.ActivityID || f == importer.ProviderActivityID
		for _, r := range requiredFields {
			req = req || r == f
		}
		cs = append(cs, fieldChoice{Name: f.String(), Label: f.String() + " — " + fieldHelp[f], Required: req})
	}
	return cs
}

// resultMatch is one value of the result column and the result type it
// stands for.
type resultMatch struct {
	Value string
	Code  string // "" when it matches none
	Label string
	How   string // "code", "label", or for none the closest result type
	Rows  int    // sampled rows holding it
}

func (s *Server) handleMapPage(w http.ResponseWriter, r *http.Request) {
	u, err := s.loadUpload(r.PathValue("id"))
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.renderMap(w, r, u, nil, nil)
}

// renderMap shows the mapping page: with chosen (header index -> field
// name) after a refused form, else the suggestions.
func (s *Server) renderMap(w http.ResponseWriter, r *http.Request, u *upload, chosen map[int]string, errs []string) {
	sm, h, saved, ok := s.headerOf(w, r, u)
	if !ok {
		return
	}
	headers := sm.Rows[h].Cells
	p := mapPage{Err: errs, HeaderRow: sm.Rows[h].Row, Fields: fieldChoices(), Remember: true, Tenant: s.tenantMapping() != nil}
	data := sm.Rows[h+1:]
	resultCol := -1
	for i, sg := range importer.SuggestMapping(headers, saved) {
		c := mapColumn{Index: i, Header: sg.Header, Source: sg.Source.String(), Near: sg.Near, Ignore: sg.Ignore}
		if sg.Field != importer.NoField {
			c.Field = sg.Field.String()
		}
		if chosen != nil {
			c.Field, c.Source, c.Near = chosen[i], "", ""
		}
		if f, ok := importer.ParseField(c.Field); ok && f == importer.Result {
			resultCol = i
			p.ResultCol = c.Header
		}
		for _, row := range data {
			if i < len(row.Cells) && strings.TrimSpace(row.Cells[i]) != "" && len(c.Samples) < 3 {
				c.Samples = append(c.Samples, row.Cells[i])
			}
		}
		p.Columns = append(p.Columns, c)
	}
	p.Missing = missingFields(p.Columns)
	if resultCol >= 0 {
		p.Results = s.matchResults(data, resultCol)
	}
	s.render(w, r, http.StatusOK, "map", view{Title: "Map columns", Step: "map", Upload: u, Data: p})
}

// headerOf reads the top of the upload and finds its header row, with the
// mapping that suggests fields: the upload's own, else the tenant's. When
// the file cannot be read it answers with the settings page, and ok is false.
func (s *Server) headerOf(w http.ResponseWriter, r *http.Request, u *upload) (sm *importer.Sample, h int, saved *importer.Mapping, ok bool) {
	sm, err := s.peek(u)
	if err != nil {
		s.renderSettings(w, r, u, http.StatusUnprocessableEntity, err.Error())
		return nil, 0, nil, false
	}
	if len(sm.Rows) == 0 {
		s.renderSettings(w, r, u, http.StatusUnprocessableEntity, "The file has no rows. Export the sheet again with its header row.")
		return nil, 0, nil, false
	}
	saved = s.tenantMapping()
	if u.Mapped {
		// This file's own mapping beats the tenant's.
		if m, err := importer.LoadMapping(u.file(mappingName)); err == nil {
			saved = m
		}
	}
	return sm, headerIndex(sm, u.Read.HeaderRow, saved), saved, true
}

// missingFields names the required fields no column is mapped to.
func missingFields(cols []mapColumn) []string {
	has := map[string]bool{}
	for _, c := range cols {
		if f, ok := importer.ParseField(c.Field); ok {
			has[f.String()] = true
		}
	}
	var missing []string
	if !has[importer.ActivityID.String()] && !has[importer.ProviderActivityID.String()] {
		missing = append(missing, "activity_id or provider_activity_id")
	}
	for _, f := range requiredFields {
		if !has[f.String()] {
			missing = append(missing, f.String())
		}
	}
	return missing
}

// matchResults pairs each value of the result column in the sample with the
// tenant's result type, by code or label folded as the Validator folds
// them; a value that matches none gets the closest, as a hint.
func (s *Server) matchResults(rows []importer.SampleRow, col int) []resultMatch {
	var out []resultMatch
	at := map[string]int{}
	for _, row := range rows {
		if col >= len(row.Cells) {
			continue
		}
		v := strings.TrimSpace(row.Cells[col])
		if v == "" {
			continue
		}
		if i, ok := at[v]; ok {
			out[i].Rows++
			continue
		}
		if len(out) == 30 {
			continue
		}
		at[v] = len(out)
		out = append(out, s.matchResult(v))
	}
	return out
}

func (s *Server) matchResult(v string) resultMatch {
	m := resultMatch{Value: v, Rows: 1}
	if s.opts.Catalogue == nil {
		return m
	}
	fv := importer.FoldLabel(v)
	for _, c := range s.opts.Catalogue.Configs {
		if importer.FoldLabel(c.Code) == fv {
			m.Code, m.Label, m.How = c.Code, c.Label, "code"
			return m
		}
	}
	for _, c := range s.opts.Catalogue.Configs {
		if importer.FoldLabel(c.Label) == fv {
			m.Code, m.Label, m.How = c.Code, c.Label, "label"
			return m
		}
	}
	best := 0.0
	for _, c := range s.opts.Catalogue.Configs {
		for _, name := range []string{c.Code, c.Label} {
			if sim := importer.Similarity(fv, importer.FoldLabel(name)); sim > best && sim >= 0.6 {
				best = sim
				m.How = fmt.Sprintf("%s (%s)", c.Label, c.Code)
			}
		}
	}
	return m
}

func (s *Server) handleMap(w http.ResponseWriter, r *http.Request) {
	u, err := s.loadUpload(r.PathValue("id"))
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	sm, h, _, ok := s.headerOf(w, r, u)
	if !ok {
		return
	}
	headers := sm.Rows[h].Cells
	chosen := map[int]string{}
	var entries []importer.MappingEntry
	var errs []string
	holder := map[importer.Field]string{} // field -> the header holding it
	byKey := map[string]string{}          // folded header -> field, for headers written twice
	for i, hd := range headers {
		name := r.PostFormValue(fmt.Sprintf("f%d", i))
		chosen[i] = name
		e := importer.MappingEntry{Header: hd, Field: importer.NoField, Ignore: true}
		if name != "" {
			f, ok := importer.ParseField(name)
			if !ok {
				errs = append(errs, fmt.Sprintf("%q is not a field of the contract; choose one from the list for column %q.", name, hd))
				continue
			}
			if other, taken := holder[f]; taken {
				errs = append(errs, fmt.Sprintf("Columns %q and %q both hold %s; choose it for one of them only.", other, hd, f))
				continue
			}
			holder[f] = hd
			e = importer.MappingEntry{Header: hd, Field: f}
		}
		// Mapping files match headers folded, without spaces.
		key := strings.ReplaceAll(importer.FoldLabel(hd), " ", "")
		if prev, dup := byKey[key]; dup && prev != name && key != "" {
			errs = append(errs, fmt.Sprintf("The file has two columns named %q; give them different names in the file to map them differently.", hd))
			continue
		}
		byKey[key] = name
		entries = append(entries, e)
	}
	cols := make([]mapColumn, len(headers))
	for i := range headers {
		cols[i] = mapColumn{Field: chosen[i]}
	}
	if missing := missingFields(cols); len(missing) > 0 {
		errs = append(errs, "No column holds "+strings.Join(missing, ", ")+"; every row needs them. Choose the column that holds each.")
	}
	if len(errs) > 0 {
		w.Header().Set("X-Form-Errors", fmt.Sprint(len(errs)))
		s.renderMap(w, r, u, chosen, errs)
		return
	}
	var buf bytes.Buffer
	comment := fmt.Sprintf("Mapping of %s: header = contract field. Use it with reconcile run --mapping FILE.", u.Name)
	if err := importer.WriteMapping(&buf, comment, entries); err != nil {
		s.failErr(w, r, err)
		return
	}
	if err := writeFile(u.file(mappingName), buf.Bytes()); err != nil {
		s.failErr(w, r, err)
		return
	}
	if u.Read.HeaderRow == 0 {
		u.Read.HeaderRow = sm.Rows[h].Row
	}
	u.Mapped = true
	if err := u.save(); err != nil {
		s.failErr(w, r, err)
		return
	}
	if r.PostFormValue("remember") != "" {
		if err := s.saveTenant(buf.Bytes(), u.Read); err != nil {
			s.opts.Logger.Error("web: saving the tenant's mapping", "err", err)
		}
	}
	if _, err := s.check(u); err != nil {
		s.opts.Logger.Warn("web: check failed", "id", u.ID, "err", err)
	}
	http.Redirect(w, r, "/uploads/"+u.ID+"/preview", http.StatusSeeOther)
}

func (s *Server) handleUploadMappingFile(w http.ResponseWriter, r *http.Request) {
	u, err := s.loadUpload(r.PathValue("id"))
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	if !u.Mapped {
		s.fail(w, r, http.StatusNotFound, "No mapping yet", "Map the file's columns first; the mapping file can be downloaded after.")
		return
	}
	serveAttachment(w, r, u.file(mappingName), "mapping.txt", "text/plain; charset=utf-8")
}

func (s *Server) handleTenantMappingFile(w http.ResponseWriter, r *http.Request) {
	if _, err := os.Stat(s.tenantFile(mappingName)); err != nil {
		s.fail(w, r, http.StatusNotFound, "No saved mapping", "No mapping has been saved for this tenant yet. Map a file's columns with “Remember for this tenant” ticked.")
		return
	}
	serveAttachment(w, r, s.tenantFile(mappingName), "mapping.txt", "text/plain; charset=utf-8")
}

// serveAttachment sends a file to be saved under name.
func serveAttachment(w http.ResponseWriter, r *http.Request, path, name, ctype string) {
	f, err := os.Open(path)
	if err != nil {
		http.Error(w, "the file is gone; go back and try again", http.StatusNotFound)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	http.ServeContent(w, r, "", fi.ModTime(), f)
}
