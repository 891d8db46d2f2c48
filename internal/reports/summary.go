package reports

import (
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/reten/reconcile/internal/outcome"
)

// Summary is what summary.json holds and the terminal summary shows. Counts
// always has every class, zeros included, so monitors can read any key.
type Summary struct {
	Command     string                `json:"command"`
	Started     time.Time             `json:"started"`
	Finished    time.Time             `json:"finished"`
	DurationMS  int64                 `json:"duration_ms"`
	ExitCode    int                   `json:"exit_code"`
	BaseURL     string                `json:"base_url,omitempty"`
	Files       []File                `json:"files"`
	Settings    map[string]string     `json:"settings"`
	Total       int                   `json:"total"`
	Counts      map[outcome.Class]int `json:"counts"`
	NeedsPerson int                   `json:"needs_person"`
	// TopMessages are the most frequent messages of rows that need a person,
	// most frequent first, at most TopN; quoted values are masked as "…" so
	// that one rule broken with different values counts once.
	TopMessages []TopMessage `json:"top_messages"`
	// OtherMessages counts rows whose message was not tracked: messages are
	// counted exactly until MaxDistinctMessages different ones have been seen.
	OtherMessages int     `json:"other_messages,omitempty"`
	Reports       Reports `json:"reports"`
}

// File is one input file as the summary lists it.
type File struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Sheet    string `json:"sheet,omitempty"`
	Encoding string `json:"encoding,omitempty"`
	Rows     int    `json:"rows"`
}

// TopMessage is one message and how many rows ended with it.
type TopMessage struct {
	Class      outcome.Class `json:"class"`
	HTTPStatus int           `json:"http_status,omitempty"`
	Message    string        `json:"message"`
	Count      int           `json:"count"`
}

// Reports names the files written whole, relative to Dir, and those that
// could not be: a report that failed is in Failed and nowhere else (CSV
// and Summary are then "").
type Reports struct {
	Dir     string         `json:"dir"`
	CSV     string         `json:"csv"`
	XLSX    string         `json:"xlsx,omitempty"`
	Rejects []string       `json:"rejects"`
	Summary string         `json:"summary"`
	Failed  []FailedReport `json:"failed,omitempty"`
}

const (
	// TopN is how many messages the summaries list.
	TopN = 10
	// MaxDistinctMessages bounds the memory spent counting messages when every
	// row fails with its own text.
	MaxDistinctMessages = 10000
)

type messageKey struct {
	class   outcome.Class
	status  int
	message string
}

// tally counts classes and messages as rows arrive.
type tally struct {
	counts   map[outcome.Class]int
	messages map[messageKey]int
	other    int
	total    int
}

func newTally() *tally {
	t := &tally{counts: make(map[outcome.Class]int), messages: make(map[messageKey]int)}
	for _, c := range outcome.Classes {
		t.counts[c] = 0
	}
	return t
}

func (t *tally) add(o *outcome.Outcome) {
	t.total++
	t.counts[o.Class]++
	p, ok := ProblemOf(o.Class, o.HTTPStatus, o.Message, o.Error)
	if !ok {
		return
	}
	k := messageKey{p.Class, p.HTTPStatus, p.Message}
	if _, ok := t.messages[k]; ok || len(t.messages) < MaxDistinctMessages {
		t.messages[k]++
		return
	}
	t.other++
}

// messageShape masks the quoted values in a message ("31/02/2026" becomes
// "…"), so that rows failing the same rule with different values count as
// one problem: the validator quotes the offending cell in its messages.
func messageShape(s string) string {
	i := strings.IndexByte(s, '"')
	if i < 0 {
		return s
	}
	var b strings.Builder
	for i >= 0 {
		end := closingQuote(s, i+1)
		if end < 0 {
			break
		}
		b.WriteString(s[:i])
		b.WriteString(`"…"`)
		s = s[end+1:]
		i = strings.IndexByte(s, '"')
	}
	b.WriteString(s)
	return b.String()
}

// closingQuote returns the index of the quote that ends a quoted value
// starting at from, skipping Go-style escapes (\"), or -1.
func closingQuote(s string, from int) int {
	for j := from; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j
		}
	}
	return -1
}

func (t *tally) top(n int) []TopMessage {
	all := make([]TopMessage, 0, len(t.messages))
	for k, c := range t.messages {
		all = append(all, TopMessage{Class: k.class, HTTPStatus: k.status, Message: k.message, Count: c})
	}
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		if a.Class != b.Class {
			return classOrder(a.Class) < classOrder(b.Class)
		}
		return a.Message < b.Message
	})
	if len(all) > n {
		all = all[:n]
	}
	return all
}

func classOrder(c outcome.Class) int {
	for i, k := range outcome.Classes {
		if k == c {
			return i
		}
	}
	return len(outcome.Classes)
}

// RedactURL returns u without user information, query or fragment, where a key
// could hide (https://key@host/, ?api_key=...). A URL that does not parse is
// withheld entirely rather than risk writing a secret.
func RedactURL(u string) string {
	if u == "" {
		return ""
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme == "" && p.Host == "") {
		return "(withheld: not a valid URL)"
	}
	p.User = nil
	p.RawQuery, p.ForceQuery = "", false
	p.Fragment, p.RawFragment = "", ""
	return p.String()
}

// Print writes the short terminal summary: counts per class, the top
// messages and where the reports are.
func (s *Summary) Print(w io.Writer) {
	var parts []string
	for _, c := range outcome.Classes {
		if n := s.Counts[c]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, c))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "nothing to report")
	}
	fmt.Fprintf(w, "%d rows in %s: %s\n", s.Total, formatDuration(time.Duration(s.DurationMS)*time.Millisecond), strings.Join(parts, ", "))
	if s.NeedsPerson > 0 {
		fmt.Fprintf(w, "%d rows need a person (invalid, rejected, conflict, failed).\n", s.NeedsPerson)
		shown := s.TopMessages
		if len(shown) > 5 {
			shown = shown[:5]
		}
		if len(shown) > 0 {
			fmt.Fprintln(w, "Most frequent problems:")
		}
		for _, m := range shown {
			status := ""
			if m.HTTPStatus != 0 {
				status = fmt.Sprintf(" %d", m.HTTPStatus)
			}
			fmt.Fprintf(w, "  %6d  %s%s: %s\n", m.Count, m.Class, status, shorten(m.Message, 100))
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
		fmt.Fprintf(w, "Reports in %s: %s\n", r.Dir, strings.Join(files, ", "))
	} else {
		fmt.Fprintf(w, "No report could be written in %s.\n", r.Dir)
	}
	for _, f := range r.Failed {
		kept := ""
		if f.Kept != "" {
			kept = "; the rows written before that are in " + f.Kept
		}
		fmt.Fprintf(w, "Not written: %s (%s)%s\n", f.Name, shorten(f.Reason, 100), kept)
	}
	paths := make([]string, len(r.Rejects))
	for i, name := range r.Rejects {
		paths[i] = filepath.Join(r.Dir, name)
	}
	switch len(paths) {
	case 0:
	case 1:
		fmt.Fprintf(w, "Fix the rows in %s and run again with that file.\n", paths[0])
	default:
		fmt.Fprintf(w, "Fix the rows in %s and run again with those files.\n", strings.Join(paths, ", "))
	}
}

func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

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
