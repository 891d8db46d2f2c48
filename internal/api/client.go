package api

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Version is reconcile's version, sent in the User-Agent. The build may set it
// with -ldflags "-X github.com/reten/reconcile/internal/api.Version=...".
var Version = "0.1.0-dev"

// DefaultTimeout bounds one HTTP request when Client.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// maxBody bounds how much of an answer is read.
const maxBody = 8 << 20

// Client talks to one tenant of the integration API. Its fields are read on every
// call; set them before the first call and do not change them after. A Client is
// safe for concurrent use.
type Client struct {
	// BaseURL is the API's origin, e.g. https://api.reten.ai. Paths are appended
	// to it. The key is never sent to any other origin: redirects elsewhere fail.
	BaseURL string
	// APIKey is sent as x-api-key and nowhere else. It never appears in errors.
	APIKey string
	// HTTPClient sends the requests; zero means a client with the default
	// transport. Its CheckRedirect is replaced by one that stays on BaseURL's origin.
	HTTPClient *http.Client
	// Timeout bounds each request, including reading its answer; zero means
	// DefaultTimeout, negative means none beyond the context's.
	Timeout time.Duration
	// UserAgent is sent as User-Agent; zero means "reconcile/<Version>".
	UserAgent string

	// prep is what every request derives from the fields above, made once
	// and made again only if they change.
	prep atomic.Pointer[prepared]
}

// prepared is what a Client's requests share: the parsed base URL, the HTTP
// client that refuses redirects to other origins, and the header values. A
// submitter sends one request per row; parsing the URL twice, checking the
// key and building an http.Client for each was about a twentieth of its CPU.
type prepared struct {
	// The fields it was made from.
	baseURL, apiKey, userAgent string
	given                      *http.Client

	base      *url.URL
	submitURL *url.URL // base and PathSubmit; shared, never changed
	keyErr    error    // the key cannot be sent
	hc        *http.Client
	// Header values, shared by every request: net/http only reads them.
	key, userAgentV []string
}

var (
	acceptJSON      = []string{"application/json"}
	contentTypeJSON = []string{"application/json"}
)

// prepare returns the Client's prepared state, made anew if a field changed.
func (c *Client) prepare() (*prepared, error) {
	p := c.prep.Load()
	if p != nil && p.baseURL == c.BaseURL && p.apiKey == c.APIKey && p.userAgent == c.UserAgent && p.given == c.HTTPClient {
		return p, nil
	}
	base, err := parseBase(c.BaseURL)
	if err != nil {
		return nil, err
	}
	ua := c.UserAgent
	if ua == "" {
		ua = "reconcile/" + Version
	}
	p = &prepared{
		baseURL: c.BaseURL, apiKey: c.APIKey, userAgent: c.UserAgent, given: c.HTTPClient,
		base: base, keyErr: c.checkKey(), hc: c.httpClient(base),
		key: []string{c.APIKey}, userAgentV: []string{ua},
	}
	su := *base
	su.Path = base.Path + PathSubmit
	p.submitURL = &su
	c.prep.Store(p)
	return p, nil
}

// NewClient checks baseURL and returns a Client for it.
func NewClient(baseURL, apiKey string) (*Client, error) {
	if _, err := parseBase(baseURL); err != nil {
		return nil, err
	}
	return &Client{BaseURL: baseURL, APIKey: apiKey}, nil
}

// originHint is how every complaint about the base URL ends.
const originHint = "RETEN_BASE_URL must be the API's origin such as https://api.reten.ai"

func parseBase(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The text is quoted only without its query, which may hold a key.
		shown, _, _ := strings.Cut(raw, "?")
		shown, _, _ = strings.Cut(shown, "#")
		return nil, fmt.Errorf("base URL %q is not an http(s) URL: %s", shown, originHint)
	}
	if u.User != nil {
		return nil, errors.New(originHint + ", with no user or password: put the key in RETEN_API_KEY")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(raw, "?#") {
		return nil, errors.New(originHint + ", with no query (?api_key=...): put the key in RETEN_API_KEY")
	}
	// Every path reconcile sends starts with /api: a base URL ending in it,
	// or naming an endpoint, would ask for /api/api/...
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	if p := strings.ToLower(u.Path); strings.HasSuffix(p, "/api") || strings.Contains(p, "/api/") {
		return nil, fmt.Errorf("%s, without %s: reconcile adds the /api/integration/... paths itself", originHint, u.Path)
	}
	return u, nil
}

// ListResultTypeConfigs downloads the tenant's result types.
func (c *Client) ListResultTypeConfigs(ctx context.Context) ([]ResultTypeConfig, error) {
	var out []ResultTypeConfig
	if _, err := c.do(ctx, http.MethodGet, PathConfigs, nil, nil, &out, nil, nil); err != nil {
		return nil, err
	}
	return out, nil
}

// ListActivities walks every page of the activities that match f, 100 a page.
func (c *Client) ListActivities(ctx context.Context, f ActivityFilter) ([]Activity, error) {
	var all []Activity
	for page := 1; ; page++ {
		p, err := c.ActivitiesPage(ctx, f, page, 100)
		if err != nil {
			return nil, err
		}
		all = append(all, p.Data...)
		// Stop on the last page, and on an empty one whatever meta says, so a
		// server that miscounts cannot loop us forever.
		if len(p.Data) == 0 || page >= p.Meta.TotalPages {
			return all, nil
		}
	}
}

// ActivitiesPage fetches one page of activities (perPage at most 100).
func (c *Client) ActivitiesPage(ctx context.Context, f ActivityFilter, page, perPage int) (*ActivityPage, error) {
	q := url.Values{}
	q.Set("page", strconv.Itoa(page))
	q.Set("per_page", strconv.Itoa(perPage))
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("status", f.Status)
	set("result_status", f.ResultStatus)
	set("channel", f.Channel)
	set("external_commerce_id", f.ExternalCommerceID)
	set("external_operator_id", f.ExternalOperatorID)
	if !f.ScheduledFrom.IsZero() {
		q.Set("scheduled_from", FormatTime(f.ScheduledFrom))
	}
	if !f.ScheduledTo.IsZero() {
		q.Set("scheduled_to", FormatTime(f.ScheduledTo))
	}
	var p ActivityPage
	if _, err := c.do(ctx, http.MethodGet, PathActivities, q, nil, &p, nil, nil); err != nil {
		return nil, err
	}
	for i := range p.Data {
		p.Data[i].redact(c.APIKey)
	}
	return &p, nil
}

// SubmitResult posts one result. A 2xx with a result (a JSON object with an
// "id") is an acceptance; any other 2xx is a *NotResultError; every other
// answer is an *Error; no answer is a transport error (see NoAnswer).
func (c *Client) SubmitResult(ctx context.Context, req *SubmitRequest) (*SubmitResponse, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encoding the request: %w", err)
	}
	return c.SubmitRaw(ctx, body)
}

// SubmitRaw posts a body that is already JSON, as SubmitResult does.
func (c *Client) SubmitRaw(ctx context.Context, body []byte) (*SubmitResponse, error) {
	var raw []byte
	var contentType string
	status, err := c.do(ctx, http.MethodPost, PathSubmit, nil, body, nil, &raw, &contentType)
	if err != nil {
		return nil, err
	}
	resp, err := parseResult(status, contentType, raw)
	if err != nil {
		return nil, err
	}
	// The raw body had the key taken out; an id that spelt it with JSON
	// escapes decodes to it.
	resp.ID = redact(resp.ID, c.APIKey)
	return resp, nil
}

// ParseSubmitAnswer is what SubmitRaw makes of an answer of the submit
// endpoint, as received (the key already taken out): a *SubmitResponse for
// a 2xx with a result, a *NotResultError for any other 2xx, an *Error for
// the rest.
func ParseSubmitAnswer(status int, h http.Header, body []byte) (*SubmitResponse, error) {
	if status < 200 || status > 299 {
		return nil, decodeError(status, h, body, http.MethodPost, PathSubmit)
	}
	return parseResult(status, h.Get("Content-Type"), body)
}

// parseResult reads the body of a 2xx answer of the submit endpoint. The
// contract describes it as "a JSON body describing the stored result": a
// JSON object whose "id" is a non-empty string or a number. Anything else (a
// proxy's HTML page, garbage, JSON without an id) is a *NotResultError.
func parseResult(status int, contentType string, body []byte) (*SubmitResponse, error) {
	notResult := func() error {
		return &NotResultError{StatusCode: status, ContentType: contentType, Snippet: snippet(body), Method: http.MethodPost, Path: PathSubmit}
	}
	var withID struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(body, &withID) != nil {
		return nil, notResult()
	}
	resp := &SubmitResponse{StatusCode: status, Body: body}
	// The id may be a string or a number; a number is kept as written
	// (fmt of a float64 would turn 1234567 into 1.234567e+06).
	var s string
	var n json.Number
	switch {
	case json.Unmarshal(withID.ID, &s) == nil:
		resp.ID = s
	case json.Unmarshal(withID.ID, &n) == nil:
		resp.ID = n.String()
	}
	if strings.TrimSpace(resp.ID) == "" {
		return nil, notResult()
	}
	return resp, nil
}

func (c *Client) checkKey() error {
	if c.APIKey == "" {
		return &KeyError{Reason: "is empty"}
	}
	for _, r := range c.APIKey {
		if r < 0x21 || r == 0x7f {
			return &KeyError{Reason: "has spaces or control characters"}
		}
	}
	return nil
}

// defaultTransport keeps enough idle connections per host for a concurrent
// submitter: http.DefaultTransport keeps 2, so at concurrency 8 most requests
// would open a new connection.
var defaultTransport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 128
	return t
}()

func (c *Client) httpClient(origin *url.URL) *http.Client {
	hc := http.Client{Transport: defaultTransport}
	if c.HTTPClient != nil {
		hc = *c.HTTPClient
	}
	// net/http strips Authorization and cookies on a redirect to another
	// host, but not x-api-key: following one would hand the key over.
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != origin.Scheme || req.URL.Host != origin.Host {
			return &redirectError{fmt.Sprintf("refusing to follow a redirect to %s://%s: the API key is only sent to %s; check RETEN_BASE_URL", req.URL.Scheme, req.URL.Host, origin.Host)}
		}
		if len(via) >= 5 {
			return &redirectError{"stopped after 5 redirects: check RETEN_BASE_URL"}
		}
		return nil
	}
	return &hc
}

// certError is a TLS certificate the client refused.
type certError struct{ err error }

func (e *certError) Error() string { return e.err.Error() }
func (e *certError) Unwrap() error { return e.err }

// redirectError is a redirect the client refused. Asking again gets the same
// redirect, so it is not retryable.
type redirectError struct{ msg string }

func (e *redirectError) Error() string { return e.msg }

// do sends one request and decodes a 2xx JSON answer into out; raw, if not
// nil, gets the answer as received and contentType its Content-Type. Every
// byte of the answer has the key taken out before anything reads it: a
// server or proxy that echoes the request's headers must not put the key in
// a report or the ledger.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body []byte, out any, raw *[]byte, contentType *string) (int, error) {
	p, err := c.prepare()
	if err != nil {
		return 0, err
	}
	if p.keyErr != nil {
		return 0, p.keyErr
	}
	// A submission's URL is the same every time: made once, and shared,
	// since net/http only reads a request's URL.
	u := p.submitURL
	if path != PathSubmit || q != nil {
		u = new(url.URL)
		*u = *p.base
		u.Path = p.base.Path + path
		if q != nil {
			u.RawQuery = q.Encode()
		}
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	// The URL is parsed already: the request is made for an empty one (which
	// costs nothing to parse) and given u, as http.NewRequestWithContext
	// would have made it from u's text.
	req, err := http.NewRequestWithContext(ctx, method, "", nil)
	if err != nil {
		return 0, err
	}
	req.URL = u
	// net/http copies the URL to honour a Host that is set: only when it
	// differs.
	if h := strings.TrimSuffix(u.Host, ":"); h != u.Host {
		req.Host = h
	}
	if body != nil {
		req.ContentLength = int64(len(body))
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		if len(body) == 0 {
			req.Body = http.NoBody
			req.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
		}
		req.Header["Content-Type"] = contentTypeJSON
	}
	req.Header["X-Api-Key"] = p.key
	req.Header["Accept"] = acceptJSON
	req.Header["User-Agent"] = p.userAgentV

	resp, err := p.hc.Do(req)
	if err != nil {
		return 0, transportError(method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return resp.StatusCode, transportError(method, path, err)
	}
	data = redactBytes(data, c.APIKey)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := decodeError(resp.StatusCode, resp.Header, data, method, path)
		// A key spelt with JSON escapes is whole again once decoded.
		e.Message = redact(e.Message, c.APIKey)
		e.Err = redact(e.Err, c.APIKey)
		return resp.StatusCode, e
	}
	if raw != nil {
		*raw = data
	}
	if contentType != nil {
		*contentType = redact(resp.Header.Get("Content-Type"), c.APIKey)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			// A 2xx that is not the JSON asked for is, most likely, not the
			// API's: a proxy's page. Asking again may reach it.
			return resp.StatusCode, &NotResultError{StatusCode: resp.StatusCode, ContentType: redact(resp.Header.Get("Content-Type"), c.APIKey),
				Snippet: snippet(data), Method: method, Path: path}
		}
	}
	return resp.StatusCode, nil
}

// transportError strips the URL that net/http puts in its errors (the path is
// already named) and marks the error as one where no answer arrived.
func transportError(method, path string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var re *redirectError
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.As(err, &re) {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	var ce *tls.CertificateVerificationError
	if errors.As(err, &ce) {
		// The same certificate will be refused again: not retryable.
		return fmt.Errorf("%s %s: %w (check RETEN_BASE_URL: the server's certificate is not trusted for that host)", method, path, &certError{err})
	}
	return fmt.Errorf("%s %s: %w: %w", method, path, errTransport, err)
}

// redacted is what stands in for the key in everything received.
const redacted = "[redacted]"

// redact replaces the key wherever it occurs in s.
func redact(s, key string) string {
	if key == "" || !strings.Contains(s, key) {
		return s
	}
	return strings.ReplaceAll(s, key, redacted)
}

// redactBytes replaces the key wherever it occurs in b, in a copy if it does.
func redactBytes(b []byte, key string) []byte {
	if key == "" || !bytes.Contains(b, []byte(key)) {
		return b
	}
	return bytes.ReplaceAll(b, []byte(key), []byte(redacted))
}
