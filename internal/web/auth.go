package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// TokenEnv is the environment variable that sets the console's access token.
const TokenEnv = "RECONCILE_WEB_TOKEN"

// Token returns the access token: $RECONCILE_WEB_TOKEN, or a new random one
// (generated is then true, and it is the caller's to print once, as the
// login URL). getenv is os.Getenv, or a test's stand-in.
func Token(getenv func(string) string) (token string, generated bool) {
	if t := strings.TrimSpace(getenv(TokenEnv)); t != "" {
		return t, false
	}
	return NewToken(), true
}

// NewToken returns 32 random bytes from crypto/rand, base64url-encoded.
func NewToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// LoginURL is the address that logs a browser in with token at once, for
// printing when the console starts: base is the console's own, such as
// http://127.0.0.1:8080.
func LoginURL(base, token string) string {
	return strings.TrimRight(base, "/") + "/login?token=" + url.QueryEscape(token)
}

// CheckAddr refuses to serve on an address other hosts can reach unless the
// token was chosen (tokenGiven: set in $RECONCILE_WEB_TOKEN): a generated
// one is printed on the server's terminal, which is fine for one person on
// their own machine and not for a shared one.
func CheckAddr(addr string, tokenGiven bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q is not host:port, e.g. 127.0.0.1:8080", addr)
	}
	if tokenGiven || isLoopback(host) {
		return nil
	}
	return fmt.Errorf("listen address %s can be reached from other machines; set %s to a long random token first (every user then needs it to log in), or listen on 127.0.0.1", addr, TokenEnv)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

const (
	sessionCookie = "reconcile_session"
	csrfField     = "csrf"
	csrfHeader    = "X-CSRF-Token"
	// sessionLife is how long a login lasts: a working day and then some.
	sessionLife = 12 * time.Hour
)

// session is one logged-in browser.
type session struct {
	csrf    string // sent back in forms and in the X-CSRF-Token header
	expires time.Time
}

// sessions are kept in memory: a restart logs everyone out, which costs a
// login and keeps no secret on disk.
type sessions struct {
	mu sync.Mutex
	m  map[string]*session
}

func (ss *sessions) create(now time.Time) (id string, s *session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.m == nil {
		ss.m = map[string]*session{}
	}
	for k, s := range ss.m {
		if now.After(s.expires) {
			delete(ss.m, k)
		}
	}
	id = NewToken()
	s = &session{csrf: NewToken(), expires: now.Add(sessionLife)}
	ss.m[id] = s
	return id, s
}

func (ss *sessions) get(id string, now time.Time) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[id]
	if s == nil || now.After(s.expires) {
		delete(ss.m, id)
		return nil
	}
	return s
}

func (ss *sessions) remove(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, id)
}

// equalSecret compares two secrets in time that tells nothing of either,
// their lengths included.
func equalSecret(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// sessionOf returns the request's session, or nil.
func (s *Server) sessionOf(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	return s.sessions.get(c.Value, s.now())
}

// login starts a session for the browser and sets its cookie: HttpOnly so
// scripts cannot read it, SameSite=Strict so no other site's page sends it,
// Secure when the console is served over TLS.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	id, _ := s.sessions.create(s.now())
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: id, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
		MaxAge: int(sessionLife / time.Second),
	})
}

func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	if tok := r.URL.Query().Get("token"); tok != "" {
		// The login URL printed at start: log in and take the token out of
		// the address bar (and of the history) at once.
		if s.tokenOK(r, tok) {
			s.login(w, r)
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		s.renderLogin(w, r, http.StatusUnauthorized, "That login link's token is not this console's. Type the token below, or use the link the server printed when it started.")
		return
	}
	if s.sessionOf(r) != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	s.renderLogin(w, r, http.StatusOK, "")
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if !s.tokenOK(r, r.PostFormValue("token")) {
		s.renderLogin(w, r, http.StatusUnauthorized, "That is not the console's token. It is the value of "+TokenEnv+" on the server, or the one printed in the login link when the server started.")
		return
	}
	s.login(w, r)
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

// tokenOK checks a login token; failed tries are slowed down together, so
// guessing a short token set by hand takes years rather than hours.
func (s *Server) tokenOK(r *http.Request, tok string) bool {
	if equalSecret(tok, s.opts.Token) {
		return true
	}
	s.failedLogins.Wait(r.Context())
	return false
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.sessions.remove(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a redirect after login on this site: a path of its own,
// never another host ("//evil.example" or "/\evil.example" included).
func safeNext(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.HasPrefix(next, `/\`) || strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}

// isAPI tells the requests answered with JSON (401 without a session) from
// pages (sent to the login page).
func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

// requireSession lets requests with a session through, with the session in
// their context; others get 401 (API) or a redirect to the login page.
// State-changing requests must also carry the session's CSRF token, in the
// form field csrf or the X-CSRF-Token header; a handler that checksOwnCSRF
// (the upload, whose token is in the multipart body it streams) is left to
// check it itself.
func (s *Server) requireSession(h http.Handler, checksOwnCSRF bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess := s.sessionOf(r)
		if sess == nil {
			if isAPI(r) || r.Method != http.MethodGet && r.Method != http.MethodHead {
				s.fail(w, r, http.StatusUnauthorized, "Not logged in", "Log in to the console first: open the login link the server printed, or its /login page.")
				return
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if !safeMethod(r.Method) && !(checksOwnCSRF && isMultipart(r)) && !csrfOK(r, sess) {
			s.fail(w, r, http.StatusForbidden, "Request refused", "The form had expired or came from another site. Reload the page and try again.")
			return
		}
		h.ServeHTTP(w, r.WithContext(withSession(r.Context(), sess)))
	})
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func isMultipart(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data")
}

// csrfOK checks the CSRF token of a state-changing request with a body
// that is not multipart.
func csrfOK(r *http.Request, sess *session) bool {
	tok := r.Header.Get(csrfHeader)
	if tok == "" {
		tok = r.PostFormValue(csrfField)
	}
	return tok != "" && equalSecret(tok, sess.csrf)
}
