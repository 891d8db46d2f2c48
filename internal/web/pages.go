package web

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// pageNames are the pages; each is templates/NAME.html with the layout.
var pageNames = []string{"login", "error", "upload", "settings", "map", "preview", "edit"}

var templateFuncs = template.FuncMap{
	"classLabel": func(c string) string { return classLabels[c] },
	"join":       func(xs []string) string { return strings.Join(xs, "\n") },
	"sizeText":   sizeText,
	"slug":       func(s string) string { return strings.ReplaceAll(s, " ", "-") },
	"when":       func(t time.Time) string { return t.Local().Format("2 Jan 2006 15:04") },
	"truncate": func(n int, s string) string {
		if r := []rune(s); len(r) > n {
			return string(r[:n-1]) + "…"
		}
		return s
	},
	"rowText": func(cells []string) string { return strings.Join(cells, " · ") },
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
