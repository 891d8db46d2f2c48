package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/reten/reconcile/internal/spill"

	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/outcome"
	"github.com/reten/reconcile/internal/validate"
)

// A check is one pass of the CLI's Validator over an upload (edits in
// place), kept on disk so that the preview pages through any number of
// rows while holding one page:
//
//	check/rows.jsonl    one checkedRow a line, in file order
//	check/offsets       where each line starts: 8 bytes a row, little-endian
//	check/CLASS.idx     ordinals (4 bytes each) of the rows of a class
//	check/pN.idx        ordinals of the rows with problem kind N
//	check/summary.json  counts, problem kinds and the layout
//
// A new check is written beside the old one and renamed over it, under the
// upload's lock, so a page never reads half of one.
const checkDir = "check"

// The classes a row can have before it is sent: ready (valid, to be sent),
// or invalid and skipped as the outcome classes say.
const (
	classReady   = "ready"
	classInvalid = string(outcome.ClassInvalid)
	classSkipped = string(outcome.ClassSkipped)
)

var checkClasses = []string{classReady, classInvalid, classSkipped}

// maxKinds bounds the problem kinds told apart; rows with others share
// one last kind. Messages are grouped with their values taken out, so a
// file has a few dozen kinds at most.
const maxKinds = 100

type checkSummary struct {
	Rows      int            `json:"rows"`
	Counts    map[string]int `json:"counts"`
	Problems  []problemKind  `json:"problems"`
	Columns   []string       `json:"columns"`
	Fields    []string       `json:"fields"` // aligned with Columns; "" for a column sent nowhere
	HeaderRow int            `json:"header_row"`
	Sheet     string         `json:"sheet,omitempty"`
	Edited    int            `json:"edited"`
	Checked   time.Time      `json:"checked"`
	TookMS    int64          `json:"took_ms"`
	// Err says why the file could not be checked, or why the check ended
	// before the last row; the rows before it are kept.
	Err string `json:"error,omitempty"`
}

// problemKind is one kind of problem: a column and a message with its
// values taken out.
type problemKind struct {
	ID      int    `json:"id"`
	Column  string `json:"column"`
	Example string `json:"example"` // the first message of the kind
	Count   int    `json:"count"`   // rows with it
}

type checkedRow struct {
	Row      int           `json:"row"`
	Class    string        `json:"class"`
	Cells    []string      `json:"cells"`
	Problems []cellProblem `json:"problems,omitempty"`
	Note     string        `json:"note,omitempty"` // why a skipped row is skipped
	Edited   bool          `json:"edited,omitempty"`
}

type cellProblem struct {
	Cols    []int  `json:"cols,omitempty"` // the columns it is about; none for the row as a whole
	Column  string `json:"column,omitempty"`
	Message string `json:"message"`
	Kind    int    `json:"kind"`
}

var errNoCatalogue = errors.New("the console has no result types to check rows against")

// check checks the upload again and returns the new summary.
func (s *Server) check(u *upload) (*checkSummary, error) {
	l := s.lock(u.ID)
	l.Lock()
	defer l.Unlock()
	return s.checkLocked(u)
}

// dropCheck forgets the upload's check and row store, which another
// reading of the file no longer matches.
func (s *Server) dropCheck(u *upload) {
	l := s.lock(u.ID)
	l.Lock()
	defer l.Unlock()
	os.RemoveAll(u.file(checkDir))
	os.Remove(u.file(rowsName))
}

// checkLocked runs the check; the caller holds the upload's lock.
func (s *Server) checkLocked(u *upload) (*checkSummary, error) {
	if s.opts.Catalogue == nil {
		return nil, errNoCatalogue
	}
	started := time.Now()
	tmp, err := os.MkdirTemp(u.dir, checkDir+".tmp-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp) // after the rename, removes nothing
	w, err := newCheckWriter(tmp)
	if err != nil {
		return nil, err
	}
	sum, err := s.runCheck(u, w)
	if cerr := w.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	sum.Checked, sum.TookMS = s.now(), time.Since(started).Milliseconds()
	data, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "summary.json"), data, 0o600); err != nil {
		return nil, err
	}
	final := u.file(checkDir)
	old := final + ".old-" + newID()[:8]
	if err := os.Rename(final, old); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err := os.Rename(tmp, final); err != nil {
		return nil, err
	}
	os.RemoveAll(old)
	return sum, nil
}

// runCheck reads and checks every row into w. A file that cannot be opened
// or read to its end is told in the summary's Err, not as an error: the
// preview shows it.
func (s *Server) runCheck(u *upload, w *checkWriter) (*checkSummary, error) {
	sum := &checkSummary{Counts: map[string]int{}}
	in, err := u.editedInput()
	if err != nil {
		return nil, err
	}
	sum.Edited = len(in.Edits)
	kinds := map[string]int{}
	var cols func(string) []int
	start := func(l *importer.Layout) error {
		sum.Columns, sum.HeaderRow, sum.Sheet = l.Columns, l.HeaderRow, l.Sheet
		for _, f := range l.Fields {
			name := ""
			if f != importer.NoField {
				name = f.String()
			}
			sum.Fields = append(sum.Fields, name)
		}
		if u.Read.HeaderRow != 0 && l.HeaderRow != u.Read.HeaderRow {
			return fmt.Errorf("the header was found on row %d, not on row %d as chosen: with this mapping row %d names two fields first; choose row %d in File settings, or map at least two of row %d's columns",
				l.HeaderRow, u.Read.HeaderRow, l.HeaderRow, l.HeaderRow, u.Read.HeaderRow)
		}
		cols = columnIndex(l)
		return nil
	}
	err = s.eachItem(in, start, func(it validate.Item) error {
		cr := checkedRow{Row: it.Row.Pos.Row, Class: classReady, Cells: it.Row.Cells}
		if o, offline := it.Offline(); offline {
			cr.Class = string(o.Class)
			if o.Class == outcome.ClassSkipped {
				cr.Note = o.Message
			}
		}
		_, cr.Edited = in.Edits[cr.Row]
		var rowKinds []int
		for _, p := range it.Problems {
			cp := cellProblem{Cols: cols(p.Column), Column: p.Column, Message: p.Message}
			cp.Kind = kindOf(kinds, sum, p)
			if !slices.Contains(rowKinds, cp.Kind) {
				rowKinds = append(rowKinds, cp.Kind)
			}
			cr.Problems = append(cr.Problems, cp)
		}
		for _, k := range rowKinds {
			sum.Problems[k].Count++
		}
		sum.Counts[cr.Class]++
		sum.Rows++
		return w.add(&cr, rowKinds)
	})
	var we *writeError
	if errors.As(err, &we) {
		return nil, we.err
	}
	if err != nil {
		sum.Err = err.Error()
	}
	return sum, nil
}

// editedInput is the upload with the corrections made in the preview.
func (u *upload) editedInput() (Input, error) {
	in := u.input()
	var err error
	in.Edits, err = u.loadEdits()
	return in, err
}

// eachItem checks every row of in with the CLI's Validator, as `reconcile
// validate` does: start gets the layout once the file is open, then fn each
// row's item, in file order. It returns the first error of either, or of
// reading the file (naming the user's file, not the stored one).
func (s *Server) eachItem(in Input, start func(*importer.Layout) error, fn func(validate.Item) error) error {
	// A large workbook and duplicate detection spill where a run's do.
	in.Options.SpillDir = spill.Dir(s.opts.StateDir)
	r, rows, err := in.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	if err := start(r.Layout()); err != nil {
		return err
	}
	v := validate.NewValidator(s.opts.Catalogue, s.opts.Now)
	defer v.Close()
	v.ReuseRequests = true // nothing is sent: each item is done with when fn returns
	v.SpillDir = in.Options.SpillDir
	var fnErr error
	err = v.CheckAll(rows, func(it validate.Item) error {
		fnErr = fn(it)
		return fnErr
	})
	if err != nil && fnErr == nil {
		return in.named(err)
	}
	return err
}

// columnIndex returns what finds the columns a problem names: its header,
// or both of "a / b" (the two activity ids); none for a problem of the row
// or of a field the file has no column for.
func columnIndex(l *importer.Layout) func(string) []int {
	at := map[string]int{}
	for i, c := range l.Columns {
		if _, dup := at[c]; !dup {
			at[c] = i
		}
	}
	return func(name string) []int {
		if name == "" {
			return nil
		}
		if i, ok := at[name]; ok {
			return []int{i}
		}
		var cols []int
		for _, part := range strings.Split(name, " / ") {
			if i, ok := at[part]; ok {
				cols = append(cols, i)
			}
		}
		return cols
	}
}

var (
	quoted   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	isoTime  = regexp.MustCompile(`\d{4}-\d{2}-\d{2}T[0-9:.]+Z`)
	numberRe = regexp.MustCompile(`\d+`)
)

// kindOf returns the kind of a problem, registering a new one: its column
// and its message without the values in it, so `"CLOSED" is not a status`
// and `"DONE" is not a status` are one kind.
func kindOf(kinds map[string]int, sum *checkSummary, p validate.Problem) int {
	msg := quoted.ReplaceAllString(p.Message, `"…"`)
	msg = isoTime.ReplaceAllString(msg, "DATE")
	msg = numberRe.ReplaceAllString(msg, "N")
	key := p.Column + "\x00" + msg
	if k, ok := kinds[key]; ok {
		return k
	}
	id := len(sum.Problems)
	if id == maxKinds {
		id--
		sum.Problems[id].Column, sum.Problems[id].Example = "", "other problems"
	} else {
		sum.Problems = append(sum.Problems, problemKind{ID: id, Column: p.Column, Example: p.Message})
	}
	kinds[key] = id
	return id
}
