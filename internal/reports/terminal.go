package reports

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/reten/reconcile/internal/outcome"
)

// shownProblems is how many of the top messages the terminal lists; the
// reports hold TopN.
const shownProblems = 5

// Print writes the terminal summary to w, its long lines wrapped at width
// columns between words (0: not wrapped): the counts per class, the most
// frequent problems with an example of their values, what to do next for
// each class that needs a person, and where the reports are.
func (s *Summary) Print(w io.Writer, width int) {
	var parts []string
	for _, c := range s.classes() {
		if n := s.Counts[c]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, c))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "nothing to report")
	}
	fmt.Fprintf(w, "%d rows in %s: %s\n", s.Total, formatDuration(time.Duration(s.DurationMS)*time.Millisecond), strings.Join(parts, ", "))
	if s.NeedsPerson > 0 {
		var needing []string
		for _, c := range s.classes() {
			if c.NeedsPerson() {
				needing = append(needing, string(c))
			}
		}
		fmt.Fprintf(w, "%d rows need a person (%s).\n", s.NeedsPerson, strings.Join(needing, ", "))
		shown := s.TopProblems(shownProblems)
		if len(shown) > 0 {
			fmt.Fprintln(w, "Most frequent problems:")
		}
		for _, m := range shown {
			writeWrapped(w, fmt.Sprintf("  %6d  %s: ", m.Count, m.Kind()), m.Shown(), width, 10)
		}
	}
	r := s.Reports
	var files []string
	for _, name := range []string{r.CSV, r.XLSX} {
		if name != "" {
			files = append(files, name)
		}
	}
	files = append(files, r.Rejects...)
	if r.Summary != "" {
		files = append(files, r.Summary)
	}
	if len(files) > 0 {
		writeWrapped(w, "", fmt.Sprintf("Reports in %s: %s", r.Dir, strings.Join(files, ", ")), width, 2)
	} else {
		fmt.Fprintf(w, "No report could be written in %s.\n", r.Dir)
	}
	for _, f := range r.Failed {
		kept := ""
		if f.Kept != "" {
			kept = "; the rows written before that are in " + f.Kept
		}
		writeWrapped(w, "", fmt.Sprintf("Not written: %s (%s)%s", f.Name, oneLine(f.Reason), kept), width, 2)
	}
	if advice := s.advice(); len(advice) > 0 {
		fmt.Fprintln(w, "What to do next:")
		for _, a := range advice {
			writeWrapped(w, "  ", a, width, 4)
		}
	}
}

// TopProblems is the list of the most frequent problems that the terminal
// and the web console show, most rows first (ties in report order, then by
// message), at most n of them (0: every one the summary kept). Each is read
// as Count, Kind and Shown: the terminal and the console print the same
// words.
func (s *Summary) TopProblems(n int) []TopMessage {
	if n > 0 && len(s.TopMessages) > n {
		return s.TopMessages[:n]
	}
	return s.TopMessages
}

// Kind names what the rows of a message have in common: their class, the
// API's status and the code ("rejected 404 api_404", "invalid bad_date").
func (m *TopMessage) Kind() string {
	k := string(m.Class)
	if m.HTTPStatus != 0 {
		k += " " + strconv.Itoa(m.HTTPStatus)
	}
	if m.Code != "" {
		k += " " + string(m.Code)
	}
	return k
}

// Shown is the message as a person reads it: the first row's, values and
// all, and how many more rows it stands for. The masked form groups the
// rows; a person needs a value to know what to look for.
func (m *TopMessage) Shown() string {
	if m.Example == "" {
		return m.Message
	}
	if m.Count > 1 {
		return fmt.Sprintf("%s (and %d more like it)", m.Example, m.Count-1)
	}
	return m.Example
}

// advice is what to do about each class that needs a person, in report
// order, each naming the command to run next.
func (s *Summary) advice() []string {
	r := s.Reports
	fix := filepath.Join(r.Dir, CSVName)
	if len(r.Rejects) > 0 {
		paths := make([]string, len(r.Rejects))
		for i, name := range r.Rejects {
			paths[i] = filepath.Join(r.Dir, name)
		}
		fix = strings.Join(paths, " ")
	}
	again := "then run it with the same flags: reconcile run " + fix
	if s.Command == "validate" {
		again = "then check it again with the same flags: reconcile validate " + fix + " (reconcile run sends it)"
	}
	var out []string
	for _, c := range s.classes() {
		n := s.Counts[c]
		if n == 0 || !c.NeedsPerson() {
			continue
		}
		var a string
		switch c {
		case outcome.ClassInvalid:
			a = "fix the cells each message names in " + fix + " (its reconcile_error column says which), " + again
		case outcome.ClassRejected:
			a = "the API refused them and would again unchanged: fix the rows in " + fix + ", " + again
		case outcome.ClassConflict:
			a = "the activities already have a result; to replace it with the row's: reconcile retry --conflicts " + r.Dir +
				" (or run the file again with --hard-override always); to keep it, nothing to do"
		case outcome.ClassFailed:
			a = "the API failed or did not answer, even after the retries; when it is back: reconcile retry " + r.Dir
		default:
			continue
		}
		out = append(out, fmt.Sprintf("%s (%d): %s", c, n, a))
	}
	return out
}

// writeWrapped writes prefix as it is, then text, as lines of at most width
// columns broken between words (a word longer than a line has one to
// itself, whole), the lines after the first indented by indent spaces.
// width 0 writes it on one line.
func writeWrapped(w io.Writer, prefix, text string, width, indent int) {
	words := strings.Fields(text)
	if width <= 0 || len(words) == 0 {
		fmt.Fprintf(w, "%s%s\n", prefix, strings.Join(words, " "))
		return
	}
	b := []byte(prefix)
	col := utf8.RuneCountInString(prefix)
	for i, word := range words {
		n := utf8.RuneCountInString(word)
		switch {
		case i == 0 && (col+n <= width || col <= indent):
		case i == 0, col+1+n > width:
			b = append(bytes.TrimRight(b, " "), '\n')
			b = append(b, strings.Repeat(" ", indent)...)
			col = indent
		default:
			b = append(b, ' ')
			col++
		}
		b = append(b, word...)
		col += n
	}
	w.Write(append(b, '\n'))
}

// oneLine is s with its runs of white space, line breaks included, made
// single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func formatDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	default:
		return d.Round(time.Second).String()
	}
}
