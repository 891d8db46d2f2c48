// Package web is reconcile's web console: the pages a back-office person
// uses to upload a spreadsheet, map its headers, see every row checked
// offline and fix the bad cells, send it and follow the run, and that a
// reviewer reads the reports and the history of runs on, behind a token
// login. It holds no rule of its own: rows are read by the importer and
// checked by the same Validator as the CLI's, and runs are the engine's,
// started through a Runner (EngineRunner). The API key is the engine's
// submitter's: no page, event or download is made from it.
package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
	_ "time/tzdata" // time zones on servers without a zone database

	"golang.org/x/time/rate"

	"github.com/reten/reconcile/internal/reports"
	"github.com/reten/reconcile/internal/validate"
)

// DefaultMaxUpload is the largest upload accepted when Options.MaxUpload is 0.
const DefaultMaxUpload = 50 << 20

// Options configure a Server.
type Options struct {
	// StateDir holds the uploads and the saved mappings (see store.go);
	// required. It is the CLI's --state-dir, so the ledger sits beside them.
	StateDir string
	// Token logs a browser in; required (see Token for where it comes from).
	Token string
	// MaxUpload is the largest file accepted, in bytes; 0 means
	// DefaultMaxUpload (50 MB).
	MaxUpload int64
	// BaseURL is the API's base URL: shown on every page (without any user
	// information or query) and naming the tenant whose mapping is saved.
	// "" names a tenant of its own. The API key is not an option: the
	// console has no use for it.
	BaseURL string
	// Ledger is where the runs record what they sent, for the send page:
	// "" for the state directory's ledger file, which one run at a time
	// holds; else the URL of a ledger in PostgreSQL, its password hidden
	// (pgledger.Redact), which any number of runs and workers share.
	Ledger string
	// Catalogue is the tenant's result types, which the preview checks
	// rows against; nil makes the preview say how to get them.
	Catalogue *validate.Catalogue
	// Runner starts runs; nil leaves the console checking files without
	// sending them.
	Runner Runner
	// Logger receives a line per failure the user cannot fix; nil means
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Server is the console, an http.Handler.
type Server struct {
	opts    Options
	handler http.Handler
	pages   map[string]*template.Template
	tenant  string // the tenant's folder name under tenants/

	sessions     sessions
	failedLogins *rate.Limiter

	// locks serialises the checks of each upload with the pages reading
	// them: an *sync.RWMutex by upload id.
	locks sync.Map

	runsMu    sync.Mutex
	runs      map[string]*liveRun
	following sync.WaitGroup // a goroutine a run, taking in its progress
	closing   chan struct{}  // closed by StopRuns: event streams end
	closeOnce sync.Once

	// views serialises the building of each run's report view: a
	// *sync.Mutex by run id.
	views sync.Map
}

// New returns a console serving opts.
func New(opts Options) (*Server, error) {
	if opts.Token == "" {
		return nil, errors.New("web: no access token; set " + TokenEnv + " or let Token make one")
	}
	if opts.StateDir == "" {
		return nil, errors.New("web: no state directory")
	}
	if opts.MaxUpload <= 0 {
		opts.MaxUpload = DefaultMaxUpload
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.BaseURL = reports.RedactURL(opts.BaseURL)
	for _, d := range []string{uploadsDir, tenantsDir} {
		if err := os.MkdirAll(filepath.Join(opts.StateDir, d), 0o700); err != nil {
			return nil, fmt.Errorf("the console cannot use the state directory: %w; choose another with --state-dir", err)
		}
	}
	s := &Server{
		opts:         opts,
		tenant:       tenantKey(opts.BaseURL),
		failedLogins: rate.NewLimiter(rate.Every(time.Second), 5),
		runs:         map[string]*liveRun{},
		closing:      make(chan struct{}),
	}
	var err error
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

// ServeHTTP serves the console.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) now() time.Time { return s.opts.Now() }

// routes is every URL the console answers. Pages answer HTML and redirect
// to the login page without a session; /api/ answers JSON, and 401.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	page := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, s.requireSession(h, false)) }

	mux.Handle("GET /assets/", assetHandler())
	mux.HandleFunc("GET /login", s.handleLoginPage)
	mux.HandleFunc("POST /login", s.handleLogin)

	page("POST /logout", s.handleLogout)
	page("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/upload", http.StatusSeeOther) })
	page("GET /upload", s.handleUploadPage)
	mux.Handle("POST /uploads", s.requireSession(http.HandlerFunc(s.handleUpload), true))
	page("GET /uploads/{id}", s.handleSettingsPage)
	page("POST /uploads/{id}/settings", s.handleSettings)
	page("GET /uploads/{id}/map", s.handleMapPage)
	page("POST /uploads/{id}/map", s.handleMap)
	page("GET /uploads/{id}/mapping.txt", s.handleUploadMappingFile)
	page("GET /mapping.txt", s.handleTenantMappingFile)
	page("GET /uploads/{id}/preview", s.handlePreview)
	page("GET /uploads/{id}/rows/{i}", s.handleEditPage)
	page("POST /uploads/{id}/rows/{i}", s.handleEdit)
	page("POST /uploads/{id}/edits/discard", s.handleDiscardEdits)
	page("GET /uploads/{id}/rejects", s.handleRejects)
	page("GET /uploads/{id}/send", s.handleSendPage)
	page("POST /uploads/{id}/runs", s.handleStartRun)
	page("GET /runs", s.handleRunsPage)
	page("GET /runs/{run}", s.handleRunPage)
	page("POST /runs/{run}/cancel", s.handleCancelRun)
	page("GET /runs/{run}/report", s.handleReportPage)
	page("GET /runs/{run}/files/{name}", s.handleReportFile)
	page("GET /api/uploads/{id}/check", s.handleCheckJSON)
	page("POST /api/uploads/{id}/rows/{i}", s.handleEdit)
	page("GET /api/runs/{run}/events", s.handleRunEvents)
	page("POST /api/runs/{run}/cancel", s.handleCancelRun)
	page("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusNotFound, "Page not found", "There is nothing at this address. Start again from the upload page.")
	})

	// Go's cross-origin check refuses a state-changing request a browser
	// sends from another site (Sec-Fetch-Site, Origin) before any handler
	// runs; the session's CSRF token stands behind it for browsers that
	// send neither header.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusForbidden, "Request refused", "The request came from another site. Use the console's own pages.")
	}))
	return securityHeaders(cop.Handler(mux))
}

// securityHeaders keeps pages out of frames, scripts and styles to the
// console's own files, and answers from caches.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		if hd.Get("Cache-Control") == "" {
			hd.Set("Cache-Control", "no-store")
		}
		h.ServeHTTP(w, r)
	})
}

// sessionKey carries the request's session in its context.
type sessionKey struct{}

func withSession(ctx context.Context, s *session) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

func sessionFrom(ctx context.Context) *session {
	s, _ := ctx.Value(sessionKey{}).(*session)
	return s
}

// view is what every page template gets.
type view struct {
	Title   string
	Step    string // the step of the flow the page is: upload, settings, map, preview, send; or runs
	CSRF    string // "" on the login page
	BaseURL string
	Upload  *upload
	Data    any
}

// render writes page name with status, or a plain 500 if the template fails
// (rendered to a buffer first, so a failure never leaves half a page).
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	if sess := sessionFrom(r.Context()); sess != nil {
		v.CSRF = sess.csrf
	}
	v.BaseURL = s.opts.BaseURL
	var buf bytes.Buffer
	t := s.pages[name]
	if t == nil {
		s.opts.Logger.Error("web: no such page template", "page", name)
		http.Error(w, "internal error: the page is missing; see the server's log", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		s.opts.Logger.Error("web: rendering a page", "page", name, "err", err)
		http.Error(w, "internal error rendering the page; see the server's log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// fail answers an error the user can read: a page, or {"error", "message"}
// for the API.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, title, message string) {
	if isAPI(r) {
		writeJSON(w, status, map[string]string{"error": title, "message": message})
		return
	}
	s.render(w, r, status, "error", view{Title: title, Data: message})
}

// failErr answers an unexpected error: logged in full, and shown.
func (s *Server) failErr(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errNoUpload) {
		s.fail(w, r, http.StatusNotFound, "No such upload", "This upload does not exist (or was removed). Upload the file again.")
		return
	}
	s.opts.Logger.Error("web: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	s.fail(w, r, http.StatusInternalServerError, "Something went wrong", err.Error())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// lock returns the lock of one upload's check.
func (s *Server) lock(id string) *sync.RWMutex {
	l, _ := s.locks.LoadOrStore(id, &sync.RWMutex{})
	return l.(*sync.RWMutex)
}
