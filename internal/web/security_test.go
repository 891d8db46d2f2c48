package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/engine"
	"github.com/reten/reconcile/internal/sandbox"
)

func TestWithoutSessionPagesGoToLoginAndAPIAnswers401(t *testing.T) {
	f := newFixture(t)
	id := f.loggedIn().uploadOK("results.csv", sample(t, "results.csv"))
	b := f.anonymous()
	for _, path := range []string{"/", "/upload", "/uploads/" + id, "/uploads/" + id + "/map", "/uploads/" + id + "/preview", "/uploads/" + id + "/rejects", "/uploads/" + id + "/mapping.txt", "/mapping.txt", "/no/such/page"} {
		res := b.get(path)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next="+url.QueryEscape(path) {
			t.Errorf("GET %s without a session: %s to %q, want 303 to the login page", path, res.Status, res.Header.Get("Location"))
		}
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/uploads/" + id + "/check"},
		{"POST", "/api/uploads/" + id + "/rows/0"},
		{"POST", "/uploads"},
		{"POST", "/uploads/" + id + "/map"},
		{"POST", "/logout"},
	} {
		req, _ := http.NewRequest(c.method, f.ts.URL+c.path, strings.NewReader("csrf=x"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res := b.do(req)
		body := readBody(t, res)
		if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Log in") {
			t.Errorf("%s %s without a session: %s %q, want 401 saying to log in", c.method, c.path, res.Status, body)
		}
	}
	if res := b.get("/assets/style.css"); res.StatusCode != http.StatusOK {
		t.Errorf("the style sheet needs no session, got %s", res.Status)
	}
}

func TestLoginSetsAStrictHttpOnlyCookie(t *testing.T) {
	f := newFixture(t)
	b := f.anonymous()
	res := b.get("/login?token=" + url.QueryEscape(testToken))
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("the login URL: %s to %q, want 303 to /", res.Status, res.Header.Get("Location"))
	}
	c := res.Cookies()
	if len(c) != 1 || c[0].Name != sessionCookie || !c[0].HttpOnly || c[0].SameSite != http.SameSiteStrictMode || c[0].Secure {
		t.Fatalf("session cookie over plain HTTP = %+v, want one HttpOnly SameSite=Strict cookie, not Secure", c)
	}
	if res := b.get("/upload"); res.StatusCode != http.StatusOK {
		t.Errorf("after the login URL, the upload page answers %s", res.Status)
	}

	for _, bad := range []string{"/login?token=wrong", "/login?token=" + url.QueryEscape(testToken+"x")} {
		res := f.anonymous().get(bad)
		if res.StatusCode != http.StatusUnauthorized || len(res.Cookies()) != 0 {
			t.Errorf("GET %s: %s with cookies %v, want 401 and no session", bad, res.Status, res.Cookies())
		}
	}
	res = f.anonymous().postForm("/login", url.Values{"token": {"guess"}})
	if body := readBody(t, res); res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "not the console") {
		t.Errorf("a wrong token typed in: %s, want 401 with a message", res.Status)
	}

	// Over TLS the cookie is Secure as well.
	tls := httptest.NewTLSServer(f.srv)
	defer tls.Close()
	client := tls.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := client.Get(tls.URL + "/login?token=" + url.QueryEscape(testToken))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if c := res.Cookies(); len(c) != 1 || !c[0].Secure || !c[0].HttpOnly || c[0].SameSite != http.SameSiteStrictMode {
		t.Errorf("session cookie over TLS = %+v, want Secure, HttpOnly, SameSite=Strict", c)
	}
}

func TestStateChangesNeedTheCSRFToken(t *testing.T) {
	f := newFixture(t)
	b := f.loggedIn()
	id := b.uploadOK("results.csv", sample(t, "results.csv"))
	if res := b.mapSuggested(id); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("mapping: %s", res.Status)
	}
	settings := url.Values{"action": {"apply"}}
	cases := []struct {
		name    string
		token   string
		headers map[string]string
	}{
		{"no token", "", nil},
		{"another session's token", NewToken(), nil},
		{"cross-site, with the token", b.csrf, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"another origin, with the token", b.csrf, map[string]string{"Origin": "http://evil.example"}},
	}
	for _, c := range cases {
		v := url.Values{"action": {"apply"}}
		if c.token != "" {
			v.Set(csrfField, c.token)
		}
		req, _ := http.NewRequest("POST", f.ts.URL+"/uploads/"+id+"/settings", strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range c.headers {
			req.Header.Set(k, v)
		}
		res := b.do(req)
		if body := readBody(t, res); res.StatusCode != http.StatusForbidden || !strings.Contains(body, "refused") {
			t.Errorf("%s: %s, want 403 with a message", c.name, res.Status)
		}
	}
	// The API takes the token in a header.
	req, _ := http.NewRequest("POST", f.ts.URL+"/api/uploads/"+id+"/rows/0", strings.NewReader("col=0&value=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if res := b.do(req); res.StatusCode != http.StatusForbidden {
		t.Errorf("an API edit without X-CSRF-Token: %s, want 403", res.Status)
	}
	// An upload without the form's token stores nothing.
	before := uploadDirs(t, f)
	b2 := *b
	b2.csrf = ""
	if res := b2.upload("x.csv", []byte("a,b\n1,2\n")); res.StatusCode != http.StatusForbidden {
		t.Errorf("an upload without the CSRF field: %s, want 403", res.Status)
	}
	if after := uploadDirs(t, f); after != before {
		t.Errorf("a refused upload left a folder: %d uploads before, %d after", before, after)
	}
	// And the same requests pass with it.
	if res := b.post("/uploads/"+id+"/settings", settings); res.StatusCode != http.StatusSeeOther {
		t.Errorf("settings with the token: %s, want 303", res.Status)
	}
	req, _ = http.NewRequest("POST", f.ts.URL+"/api/uploads/"+id+"/rows/0", strings.NewReader("col=0&value=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(csrfHeader, b.csrf)
	b.mapSuggested(id)
	if res := b.do(req); res.StatusCode != http.StatusOK {
		t.Errorf("an API edit with X-CSRF-Token: %s, want 200", res.Status)
	}
}

func uploadDirs(t *testing.T, f *fixture) int {
	entries, err := os.ReadDir(filepath.Join(f.state, uploadsDir))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func TestUploadOverTheLimitIs413WithAMessage(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.MaxUpload = 4 << 10 })
	b := f.loggedIn()
	res := b.upload("big.csv", bytes.Repeat([]byte("a;b;c\n"), 1000)) // 6000 bytes
	body := readBody(t, res)
	if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "larger than 4 KB") || !strings.Contains(body, "Split it") {
		t.Errorf("an upload over the limit: %s\n%s\nwant 413 naming the limit and what to do", res.Status, body)
	}
	if n := uploadDirs(t, f); n != 0 {
		t.Errorf("the refused upload left %d folders in the state dir", n)
	}
	// Exactly at the limit is fine.
	b.uploadOK("fits.csv", bytes.Repeat([]byte("a"), 4<<10))
}

func TestUploadNamesNeverBecomePaths(t *testing.T) {
	f := newFixture(t)
	b := f.loggedIn()
	for _, name := range []string{"../../../../tmp/evil.csv", `..\..\evil.xlsx`, "/etc/passwd", "a/../../b.csv", ".."} {
		id := b.uploadOK(name, sample(t, "results.csv"))
		u, err := f.srv.loadUpload(id)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Dir(u.path()) != filepath.Join(f.state, uploadsDir, id) || !strings.HasPrefix(u.Stored, "input.") {
			t.Errorf("%q was stored at %s", name, u.path())
		}
		if strings.ContainsAny(u.Name, `/\`+"\x00") || u.Name == ".." {
			t.Errorf("%q is shown as %q", name, u.Name)
		}
	}
	// Nothing was written outside the uploads folder.
	filepath.Walk(f.state, func(p string, info os.FileInfo, err error) error {
		rel, _ := filepath.Rel(f.state, p)
		if top := strings.Split(rel, string(filepath.Separator))[0]; top != "." && top != uploadsDir && top != tenantsDir {
			t.Errorf("a file outside uploads/: %s", rel)
		}
		return nil
	})

	for _, id := range []string{"..", "..%2F..%2Fetc", "%2e%2e", "0123", strings.Repeat("g", idLen), strings.Repeat("A", idLen), "..%5C..%5Cwindows"} {
		for _, path := range []string{"/uploads/" + id + "/preview", "/uploads/" + id + "/mapping.txt"} {
			res := b.get(path)
			// The mux answers a path with dot segments with a redirect to
			// its cleaned form, which is then a page of its own.
			loc := res.Header.Get("Location")
			if res.StatusCode != http.StatusNotFound && !(res.StatusCode == http.StatusTemporaryRedirect && !strings.Contains(loc, "..")) {
				t.Errorf("GET %s: %s (to %q), want 404", path, res.Status, loc)
			}
		}
	}
	if validID("../" + strings.Repeat("a", idLen-3)) {
		t.Error("validID takes a path")
	}
}

// TestTheAPIKeyNeverReachesTheBrowser walks every page, download and API
// answer of a whole session, the base URL carrying the key where a careless
// user might put it, and looks for the key's bytes in all of them.
func TestTheAPIKeyNeverReachesTheBrowser(t *testing.T) {
	f := newFixture(t, withEngine(4), func(o *Options) {
		u, _ := url.Parse(o.BaseURL)
		u.User = url.UserPassword("user", testKey)
		u.RawQuery = "api_key=" + testKey
		u.Fragment = testKey
		o.BaseURL = u.String()
	})
	b := f.loggedIn()
	var seen [][]byte
	keep := func(res *http.Response) {
		var buf bytes.Buffer
		res.Header.Write(&buf)
		buf.WriteString(readBody(t, res))
		seen = append(seen, buf.Bytes())
	}
	for _, name := range []string{"resultados.xlsx", "resultados.csv", "results.csv"} {
		id := b.uploadOK(name, sample(t, name))
		for _, p := range []string{"/upload", "/uploads/" + id, "/uploads/" + id + "/map"} {
			keep(b.get(p))
		}
		res := b.mapSuggested(id)
		keep(res)
		for _, p := range []string{"/preview", "/preview?class=invalid", "/preview?problem=p0", "/mapping.txt", "/rejects", "/rows/0"} {
			keep(b.get("/uploads/" + id + p))
		}
		keep(b.get("/api/uploads/" + id + "/check"))
		req, _ := http.NewRequest("POST", f.ts.URL+"/api/uploads/"+id+"/rows/0", strings.NewReader("col=0&value=x"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(csrfHeader, b.csrf)
		keep(b.do(req))
		// Sent, followed to its end, reported.
		keep(b.get("/uploads/" + id + "/send"))
		run := b.send(id, "always")
		keep(b.get("/runs/" + run))
		keep(b.get("/api/runs/" + run + "/events")) // the whole stream, to its final event
		f.waitRun(run)
		keep(b.get("/api/runs/" + run + "/events"))
		for _, p := range []string{"", "/report", "/report?class=invalid", "/report?problem=0", "/report?sort=3&dir=desc"} {
			keep(b.get("/runs/" + run + p))
		}
		rec, _ := engine.ReadRun(f.state, run)
		entries, _ := os.ReadDir(rec.ReportDir)
		for _, e := range entries {
			keep(b.get("/runs/" + run + "/files/" + e.Name()))
		}
		keep(b.get("/runs"))
	}
	for _, p := range []string{"/assets/style.css", "/assets/app.js", "/mapping.txt", "/no/such/page", "/uploads/" + strings.Repeat("0", idLen) + "/preview"} {
		keep(b.get(p))
	}
	keep(f.anonymous().get("/login"))
	keep(f.anonymous().get("/api/uploads/x/check"))
	if len(seen) < 60 {
		t.Fatalf("only %d answers looked at", len(seen))
	}
	for i, s := range seen {
		if bytes.Contains(s, []byte(testKey)) {
			t.Errorf("answer %d holds the API key:\n%s", i, s)
		}
	}
	// The base URL is shown, without what it carried.
	page := b.getOK("/upload")
	if !strings.Contains(page, strings.TrimPrefix(f.baseURL, "http://")) {
		t.Errorf("the upload page does not show the base URL %s", f.baseURL)
	}
}

// A finished run of the fixture's console, for the tests of access.
func (f *fixture) finishedRun(b *browser) (upload, run string) {
	f.t.Helper()
	upload = b.uploadOK("results.csv", sample(f.t, "results.csv"))
	b.mapSuggested(upload)
	run = b.send(upload, "")
	f.waitRun(run)
	return upload, run
}

func TestRunRoutesNeedASession(t *testing.T) {
	f := newFixture(t, withEngine(4))
	upload, run := f.finishedRun(f.loggedIn())
	b := f.anonymous()
	for _, path := range []string{"/runs", "/runs/" + run, "/runs/" + run + "/report", "/runs/" + run + "/files/report.csv", "/uploads/" + upload + "/send"} {
		res := b.get(path)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next="+url.QueryEscape(path) {
			t.Errorf("GET %s without a session: %s to %q, want 303 to the login page", path, res.Status, res.Header.Get("Location"))
		}
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/runs/" + run + "/events"},
		{"POST", "/api/runs/" + run + "/cancel"},
		{"POST", "/runs/" + run + "/cancel"},
		{"POST", "/uploads/" + upload + "/runs"},
	} {
		req, _ := http.NewRequest(c.method, f.ts.URL+c.path, strings.NewReader("csrf=x&policy=always"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res := b.do(req)
		if body := readBody(t, res); res.StatusCode != http.StatusUnauthorized || strings.Contains(body, "event:") {
			t.Errorf("%s %s without a session: %s %q, want 401", c.method, c.path, res.Status, body)
		}
	}
	if ids, _ := engine.ListRuns(f.state); len(ids) != 1 {
		t.Errorf("runs after the refused requests: %v", ids)
	}
}

// Starting and cancelling a run change state: another site's page cannot
// do either with the user's cookie.
func TestStartAndCancelNeedTheCSRFToken(t *testing.T) {
	f := newFixture(t, withEngine(1))
	f.sandbox.SetFaults(sandbox.Faults{Latency: 20 * time.Millisecond})
	b := f.loggedIn()
	id := b.uploadOK("big.csv", synthCSV(60))
	b.mapSuggested(id)
	before := f.sandbox.Stats().Requests // the fixture's download of the result types
	refused := func(method, path string, v url.Values, headers map[string]string) {
		t.Helper()
		req, _ := http.NewRequest(method, f.ts.URL+path, strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		if res := b.do(req); res.StatusCode != http.StatusForbidden {
			t.Errorf("%s %s %v %v: %s, want 403", method, path, v, headers, res.Status)
		}
	}
	for _, h := range []map[string]string{nil, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "http://evil.example"}} {
		v := url.Values{"policy": {"always"}}
		if h != nil {
			v.Set(csrfField, b.csrf)
		}
		refused("POST", "/uploads/"+id+"/runs", v, h)
	}
	refused("POST", "/uploads/"+id+"/runs", url.Values{"policy": {"always"}, csrfField: {NewToken()}}, nil)
	if ids, _ := engine.ListRuns(f.state); len(ids) != 0 || f.sandbox.Stats().Requests != before {
		t.Fatalf("a refused start ran %v, %d requests", ids, f.sandbox.Stats().Requests-before)
	}
	run := b.send(id, "")
	for _, h := range []map[string]string{nil, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "http://evil.example"}} {
		v := url.Values{}
		if h != nil {
			v.Set(csrfField, b.csrf)
			h[csrfHeader] = b.csrf
		}
		refused("POST", "/runs/"+run+"/cancel", v, h)
		refused("POST", "/api/runs/"+run+"/cancel", v, h)
	}
	if e, _, _, _ := f.srv.eventOf(run); e.Stopping || e.Final {
		t.Errorf("a refused cancel stopped the run: %+v", e)
	}
	req, _ := http.NewRequest("POST", f.ts.URL+"/api/runs/"+run+"/cancel", nil)
	req.Header.Set(csrfHeader, b.csrf)
	if res := b.do(req); res.StatusCode != http.StatusAccepted {
		t.Errorf("a cancel with the token: %s", res.Status)
	}
	if rec := f.waitRun(run); rec.Ending != "interrupted" {
		t.Errorf("the cancelled run ended %s", rec.Ending)
	}
}

// Run ids and report file names in URLs are checked before any file is
// touched: a path in their place is no run, and no file.
func TestRunIDsAndFileNamesThatArePathsAreRefused(t *testing.T) {
	f := newFixture(t, withEngine(4))
	b := f.loggedIn()
	_, run := f.finishedRun(b)
	os.WriteFile(filepath.Join(f.state, "secret.json"), []byte(`{"secret": true}`), 0o600)
	ids := []string{"..", "..%2F..%2Fsecret", "%2e%2e", run + "%2F..", "..%5Csecret", run[:len(run)-1], "secret"}
	if upper := strings.ToUpper(run); upper != run { // a run id of digits only is its own upper case
		ids = append(ids, upper)
	}
	for _, id := range ids {
		for _, p := range []string{"/runs/" + id, "/runs/" + id + "/report", "/runs/" + id + "/files/report.csv", "/api/runs/" + id + "/events"} {
			res := b.get(p)
			body := readBody(t, res)
			loc := res.Header.Get("Location")
			if strings.Contains(body, "secret") && !strings.Contains(body, "No such") || res.StatusCode == http.StatusOK ||
				res.StatusCode != http.StatusNotFound && !(res.StatusCode == http.StatusTemporaryRedirect && !strings.Contains(loc, "..")) {
				t.Errorf("GET %s: %s (to %q), want 404", p, res.Status, loc)
			}
		}
	}
	for _, name := range []string{"..%2Fsecret.json", "..%2F..%2Fsecret.json", "%2e%2e", "upload.json", "report.csv%00", "report.csv.tmp", "REPORT.CSV", "."} {
		p := "/runs/" + run + "/files/" + name
		if res := b.get(p); res.StatusCode != http.StatusNotFound && res.StatusCode != http.StatusTemporaryRedirect {
			t.Errorf("GET %s: %s, want 404", p, res.Status)
		}
	}
	if res := b.get("/runs/" + run + "/files/report.csv"); res.StatusCode != http.StatusOK {
		t.Errorf("the report itself: %s", res.Status)
	}
}

func TestCheckAddr(t *testing.T) {
	for _, c := range []struct {
		addr       string
		tokenGiven bool
		ok         bool
	}{
		{"127.0.0.1:8080", false, true},
		{"localhost:8080", false, true},
		{"[::1]:8080", false, true},
		{"0.0.0.0:8080", false, false},
		{":8080", false, false},
		{"192.168.1.10:8080", false, false},
		{"console.example:8080", false, false},
		{"0.0.0.0:8080", true, true},
		{":8080", true, true},
		{"127.0.0.1", false, false}, // no port
	} {
		err := CheckAddr(c.addr, c.tokenGiven)
		if (err == nil) != c.ok {
			t.Errorf("CheckAddr(%q, %v) = %v, want ok=%v", c.addr, c.tokenGiven, err, c.ok)
		}
		if err != nil && c.addr != "127.0.0.1" && !strings.Contains(err.Error(), TokenEnv) {
			t.Errorf("CheckAddr(%q) says %q; it should say to set %s", c.addr, err, TokenEnv)
		}
	}
}

func TestTokenFromTheEnvironmentOrGenerated(t *testing.T) {
	tok, gen := Token(func(k string) string { return map[string]string{TokenEnv: " chosen "}[k] })
	if tok != "chosen" || gen {
		t.Errorf("Token with %s set = %q, %v", TokenEnv, tok, gen)
	}
	a, gen := Token(func(string) string { return "" })
	b, _ := Token(func(string) string { return "" })
	if !gen || len(a) < 40 || a == b {
		t.Errorf("generated tokens %q and %q: want two different ones of 32 random bytes", a, b)
	}
	if u := LoginURL("http://127.0.0.1:8080/", "a+b"); u != "http://127.0.0.1:8080/login?token=a%2Bb" {
		t.Errorf("LoginURL = %s", u)
	}
}

func TestSafeNextStaysOnTheConsole(t *testing.T) {
	for in, want := range map[string]string{
		"/uploads/x/map": "/uploads/x/map", "": "/", "//evil.example/": "/", `/\evil.example`: "/",
		"https://evil.example": "/", "evil": "/", "/a\r\nSet-Cookie: x": "/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNewRefusesMissingOptions(t *testing.T) {
	if _, err := New(Options{StateDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), TokenEnv) {
		t.Errorf("New without a token: %v", err)
	}
	if _, err := New(Options{Token: "x"}); err == nil {
		t.Error("New without a state dir works")
	}
	s, err := New(Options{Token: "x", StateDir: t.TempDir()})
	if err != nil || s.opts.MaxUpload != DefaultMaxUpload {
		t.Errorf("New's default MaxUpload = %d, %v", s.opts.MaxUpload, err)
	}
}

func TestAPIErrorsAreJSON(t *testing.T) {
	f := newFixture(t)
	res := f.anonymous().get("/api/uploads/x/check")
	var body struct{ Error, Message string }
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || body.Message == "" || res.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("a 401 from the API: %v %+v %s", err, body, res.Header.Get("Content-Type"))
	}
}
