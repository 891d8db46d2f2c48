package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/engine"
	"github.com/reten/reconcile/internal/reports"
	"github.com/reten/reconcile/internal/sandbox"
	"github.com/reten/reconcile/internal/sandbox/sandboxtest"
	"github.com/reten/reconcile/internal/submit"
	"github.com/reten/reconcile/internal/validate"
	"github.com/reten/reconcile/samples"
)

// testKey is the sandbox key the tests' catalogue is downloaded with; no
// byte the console sends may hold it.
const testKey = "rtn_sk_demo"

// testToken logs test browsers in.
const testToken = "test-token-0123456789"

// fixture is a console on a loopback port, its catalogue downloaded from a
// sandbox of the demo tenant through the API, as serve will do it.
type fixture struct {
	t       *testing.T
	srv     *Server
	ts      *httptest.Server
	baseURL string // the sandbox's
	sandbox *sandbox.Server
	state   string
}

// synthetic is how many synthetic activities the fixture's tenant has
// beside the samples' (synthCSV's rows are for them).
const synthetic = 3000

// synthCSV is n rows for the synthetic activities, all valid.
func synthCSV(n int) []byte {
	var sb strings.Builder
	sb.WriteString("provider_activity_id,commerce_external_id,occurred_at,status,result\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&sb, "SYN-%07d,SYNC-%05d,2026-04-11T10:30:00Z,EFFECTIVE,SALE_COMPLETED\n", i, i%1000)
	}
	return []byte(sb.String())
}

// withEngine has the console send through the run engine, as serve does,
// to the fixture's sandbox: c requests at once, retrying 5xx quickly.
func withEngine(c int) fixtureOpt {
	return func(o *Options) {
		client, err := api.NewClient(o.BaseURL, testKey)
		if err != nil {
			panic(err)
		}
		o.Runner = &EngineRunner{Job: &engine.Job{
			Submitter: &submit.Submitter{Client: client, Concurrency: c, Retries: 5, BaseDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond},
			StateDir:  o.StateDir,
			Reports:   reports.Options{XLSX: true, Rejects: true},
		}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	}
}

type fixtureOpt func(*Options)

func newFixture(t *testing.T, opts ...fixtureOpt) *fixture {
	t.Helper()
	data, err := samples.FS.ReadFile("tenant.json")
	if err != nil {
		t.Fatal(err)
	}
	tenant, err := sandbox.ParseTenant(data)
	if err != nil {
		t.Fatal(err)
	}
	tenant.AddSynthetic(synthetic)
	sb, base := sandboxtest.Start(t, tenant, sandbox.Faults{})
	client, err := api.NewClient(base, testKey)
	if err != nil {
		t.Fatal(err)
	}
	configs, err := client.ListResultTypeConfigs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, baseURL: base, sandbox: sb, state: t.TempDir()}
	o := Options{
		StateDir:  f.state,
		Token:     testToken,
		BaseURL:   base,
		Catalogue: &validate.Catalogue{FetchedAt: time.Now(), BaseURL: base, Configs: configs},
		Now:       time.Now,
	}
	for _, opt := range opts {
		opt(&o)
	}
	f.srv, err = New(o)
	if err != nil {
		t.Fatal(err)
	}
	f.ts = httptest.NewServer(f.srv)
	t.Cleanup(f.ts.Close)
	return f
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so tests see them.
type browser struct {
	f    *fixture
	c    *http.Client
	csrf string
}

func (f *fixture) anonymous() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{f: f, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// loggedIn is a browser logged in through the login form, with the
// session's CSRF token read from a page.
func (f *fixture) loggedIn() *browser {
	f.t.Helper()
	b := f.anonymous()
	res := b.postForm("/login", url.Values{"token": {testToken}})
	if res.StatusCode != http.StatusSeeOther {
		f.t.Fatalf("login: %s", res.Status)
	}
	page := b.getOK("/upload")
	m := regexp.MustCompile(`name="csrf-token" content="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		f.t.Fatal("no CSRF token on the upload page")
	}
	b.csrf = m[1]
	return b
}

func (b *browser) do(req *http.Request) *http.Response {
	b.f.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.f.t.Fatal(err)
	}
	b.f.t.Cleanup(func() { res.Body.Close() })
	return res
}

func (b *browser) get(path string) *http.Response {
	req, _ := http.NewRequest("GET", b.f.ts.URL+path, nil)
	return b.do(req)
}

// getOK fetches a page that must answer 200 and returns its body.
func (b *browser) getOK(path string) string {
	b.f.t.Helper()
	res := b.get(path)
	body := readBody(b.f.t, res)
	if res.StatusCode != http.StatusOK {
		b.f.t.Fatalf("GET %s: %s\n%s", path, res.Status, body)
	}
	return body
}

func (b *browser) postForm(path string, v url.Values) *http.Response {
	req, _ := http.NewRequest("POST", b.f.ts.URL+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// post sends a form with the session's CSRF token.
func (b *browser) post(path string, v url.Values) *http.Response {
	if v == nil {
		v = url.Values{}
	}
	v.Set(csrfField, b.csrf)
	return b.postForm(path, v)
}

// upload sends a file as the upload form does: the CSRF field first.
func (b *browser) upload(name string, content []byte) *http.Response {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField(csrfField, b.csrf)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(content)
	mw.Close()
	req, _ := http.NewRequest("POST", b.f.ts.URL+"/uploads", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

// uploadOK uploads a file and returns its id.
func (b *browser) uploadOK(name string, content []byte) string {
	b.f.t.Helper()
	res := b.upload(name, content)
	if res.StatusCode != http.StatusSeeOther {
		b.f.t.Fatalf("upload: %s\n%s", res.Status, readBody(b.f.t, res))
	}
	id := strings.TrimPrefix(res.Header.Get("Location"), "/uploads/")
	if !validID(id) {
		b.f.t.Fatalf("upload redirected to %q", res.Header.Get("Location"))
	}
	return id
}

func readBody(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "samples", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mapSuggested accepts the mapping page's suggestions as a browser would
// submit the form: every select's selected value.
func (b *browser) mapSuggested(id string) *http.Response {
	b.f.t.Helper()
	page := b.getOK("/uploads/" + id + "/map")
	return b.post("/uploads/"+id+"/map", selectedValues(page, url.Values{"remember": {"1"}}))
}

var (
	selectRe   = regexp.MustCompile(`(?s)<select id="(f\d+)" name="f\d+">(.*?)</select>`)
	selectedRe = regexp.MustCompile(`<option value="([^"]*)" selected>`)
)

func selectedValues(page string, v url.Values) url.Values {
	for _, m := range selectRe.FindAllStringSubmatch(page, -1) {
		val := ""
		if s := selectedRe.FindStringSubmatch(m[2]); s != nil {
			val = s[1]
		}
		v.Set(m[1], val)
	}
	return v
}
