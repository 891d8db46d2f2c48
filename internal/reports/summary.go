package reports

import (
	"cmp"
	"net/url"
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
	// Code is the code of the first row counted (rows of one message
	// share the rule, hence the code).
	Code outcome.Code `json:"code,omitempty"`
	// Message has its quoted values masked ("…"); Example is the first
	// row's message, values and all, to show a person what was wrong
	// ("" when the message has no quoted value).
	Message string `json:"message"`
	Example string `json:"example,omitempty"`
	Count   int    `json:"count"`
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
	messages map[messageKey]*messageCount
	other    int
	total    int
}

func newTally(classes []outcome.Class) *tally {
	t := &tally{counts: make(map[outcome.Class]int), messages: make(map[messageKey]*messageCount)}
	for _, c := range classes {
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
	if c, ok := t.messages[k]; ok {
		c.n++
		return
	}
	if len(t.messages) < MaxDistinctMessages {
		c := &messageCount{n: 1, code: o.Code}
		if msg := cmp.Or(o.Message, o.Error); msg != p.Message {
			c.example = strings.Clone(msg)
		}
		t.messages[k] = c
		return
	}
	t.other++
}

// messageCount is how many rows a message had, and what its first row
// showed: the code, and the message with its values when they are masked.
type messageCount struct {
	n       int
	code    outcome.Code
	example string
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
		all = append(all, TopMessage{Class: k.class, HTTPStatus: k.status, Code: c.code, Message: k.message, Example: c.example, Count: c.n})
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
	for i, k := range outcome.AllClasses {
		if k == c {
			return i
		}
	}
	return len(outcome.AllClasses)
}

// classes are the classes the summary counts, in report order: those of
// the run it is of (Counts holds each, zeros included).
func (s *Summary) classes() []outcome.Class {
	var cs []outcome.Class
	for _, c := range outcome.AllClasses {
		if _, ok := s.Counts[c]; ok {
			cs = append(cs, c)
		}
	}
	return cs
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
