package web

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/reten/reconcile/internal/outcome"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// pageNames are the pages; each is templates/NAME.html with the layout.
var pageNames = []string{"login", "error", "upload", "settings", "map", "preview", "edit", "send", "locked", "run", "report", "runs"}

var templateFuncs = template.FuncMap{
	"classLabel":  func(c string) string { return classLabels[c] },
	"join":        func(xs []string) string { return strings.Join(xs, "\n") },
	"sizeText":    sizeText,
	"slug":        func(s string) string { return strings.ReplaceAll(s, " ", "-") },
	"when":        func(t time.Time) string { return t.Local().Format("2 Jan 2006 15:04") },
	"truncate":    truncate,
	"rowText":     func(cells []string) string { return strings.Join(cells, " · ") },
	"num":         thousands,
	"dur":         durationText,
	"seconds":     func(s float64) string { return durationText(time.Duration(s * float64(time.Second))) },
	"eta":         etaText,
	"endingTitle": func(e string) string { return endingTitles[e] },
	"endingText":  func(e string) string { return endingTexts[e] },
	"basename":    filepath.Base,
	"classes": func() []string {
		cs := make([]string, len(outcome.Classes))
		for i, c := range outcome.Classes {
			cs[i] = string(c)
		}
		return cs
	},
	"delimName": func(d rune) string {
		for _, c := range delimiterChoices {
			if c.Value == delimiterValue(d) {
				return c.Label
			}
		}
		return string(d)
	},
	"encodingName": func(e string) string {
		if e == "utf-8-bom" {
			return "UTF-8 with BOM"
		}
		for _, c := range encodingChoices {
			if c.Value == e {
				return c.Label
			}
		}
		return e
	},
}

// endingTitles head the page of a run that has ended, by engine.Ending's
// names; endingTexts say what it means for the rows.
var (
	endingTitles = map[string]string{
		"finished": "Sent", "bad input": "Not sent", "locked": "Not sent", "key refused": "Stopped",
		"interrupted": "Stopped", "API failed": "Not sent", "read failed": "Stopped", "report failed": "Stopped",
		"ledger failed": "Stopped",
	}
	endingTexts = map[string]string{
		"finished":      "Finished: every row has its outcome in the report.",
		"bad input":     "Nothing was sent: the file or a setting could not be used (below).",
		"locked":        "Nothing was sent: another run held the state directory.",
		"key refused":   "Stopped: the API refused the key. The rows not sent are skipped.",
		"interrupted":   "Stopped as asked: the requests in flight finished, the rows not sent are skipped, and the reports are written.",
		"API failed":    "Nothing was sent: the API could not be reached or failed before the first row.",
		"read failed":   "Stopped: the file could not be read past a row; the rows after it are not in the report.",
		"report failed": "Stopped: the reports could not be written.",
		"ledger failed": "Stopped: the ledger could not be written.",
	}
)

// thousands writes n with a comma between thousands: 20,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// durationText writes a duration as people say it: 450 ms, 12.3 s, 4 min 05 s, 2 h 03 min.
func durationText(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%d min %02d s", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%d h %02d min", int(d.Hours()), int(d.Minutes())%60)
}

// etaText is the time left, rounded up to what is worth saying.
func etaText(s float64) string {
	switch {
	case s < 0:
		return "working it out…"
	case s < 1:
		return "under a second"
	}
	return "about " + durationText(time.Duration(math.Ceil(s))*time.Second)
}

// truncate cuts s to n characters, the last an ellipsis.
func truncate(n int, s string) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func parsePages() (map[string]*template.Template, error) {
	pages := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(templateFuncs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}

// assetHandler serves the embedded style sheet and script; they hold
// nothing secret, so they need no session.
func assetHandler() http.Handler {
	sub, _ := fs.Sub(assetFS, "assets")
	files := http.StripPrefix("/assets/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no listings
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}

type loginPage struct {
	Err  string
	Next string
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	next := r.URL.Query().Get("next")
	if r.Method == http.MethodPost {
		next = r.PostFormValue("next")
	}
	s.render(w, r, status, "login", view{Title: "Log in", Data: loginPage{Err: msg, Next: safeNext(next)}})
}
