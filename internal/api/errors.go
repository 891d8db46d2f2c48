package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxErrorSnippet is how much of a non-JSON error body is kept as the message.
const maxErrorSnippet = 200

// Error is a non-2xx answer of the API. StatusCode, Err and Message are the
// fields of the documented error body; when the body was not JSON, Message holds
// its first bytes.
type Error struct {
	StatusCode int
	Err        string // the body's "error", e.g. "Bad Request"
	Message    string
	// RetryAfter is the wait the server asked for with Retry-After (429, 503), or 0.
	RetryAfter time.Duration
	// Method and Path name the request that failed (never its headers).
	Method, Path string
}

func (e *Error) Error() string {
	name := e.Err
	if name == "" {
		name = http.StatusText(e.StatusCode)
	}
	msg := fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.StatusCode, name)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Retryable reports whether the same request may succeed later: 5xx and 429.
func (e *Error) Retryable() bool {
	return e.StatusCode >= 500 || e.StatusCode == http.StatusTooManyRequests
}

// Auth reports whether the answer means every later request with this key will
// fail the same way (401 or 403).
func (e *Error) Auth() bool {
	return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden
}

// Advice says in plain words what the user can do about the error, following the
// documentation's error table; "" when there is nothing beyond the message.
func (e *Error) Advice() string {
	switch {
	case e.StatusCode == http.StatusUnauthorized:
		return "check RETEN_API_KEY: it must be the whole rtn_sk_... key with no spaces or extra characters, and not revoked or expired (see the admin panel)"
	case e.StatusCode == http.StatusForbidden:
		return "the key lacks the permission for this endpoint: it needs VIEW_ACTIVITIES to read configurations and activities, SUBMIT_ACTIVITY_RESULT to submit results"
	case e.StatusCode == http.StatusNotFound:
		return "check the activity id and commerce_external_id: one of them does not exist in this tenant"
	case e.StatusCode == http.StatusConflict:
		return "the activity already has a result; send again with hard override only if this result should replace it"
	case e.StatusCode == http.StatusTooManyRequests:
		return "the API is rate limiting; lower --rate or --concurrency"
	case e.StatusCode >= 500:
		return "the API failed on its side; try again later"
	}
	return ""
}

// AsError returns the *Error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Retryable reports whether err is worth retrying: a 5xx or 429 answer, a 2xx
// that was not the API's (NotResultError), a request timeout, or a network
// error. A cancelled ctx of the caller is not.
func Retryable(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	if e, ok := AsError(err); ok {
		return e.Retryable()
	}
	var nr *NotResultError
	if errors.As(err, &nr) {
		return true
	}
	return NoAnswer(err)
}

// NoAnswer reports whether err says the request got no answer at all: a
// timeout, a refused, reset or dropped connection, a name that did not
// resolve. Errors the client raises itself (a key it will not send, a
// redirect or certificate it refuses) and answers of any kind are not.
func NoAnswer(err error) bool {
	if err == nil {
		return false
	}
	if _, ok := AsError(err); ok {
		return false
	}
	var keyErr *KeyError
	var redirErr *redirectError
	var certErr *certError
	var nr *NotResultError
	if errors.As(err, &keyErr) || errors.As(err, &redirErr) || errors.As(err, &certErr) || errors.As(err, &nr) {
		return false
	}
	// Our own per-request timeout, or the connection going away.
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return true
	}
	return errors.Is(err, errTransport)
}

// NeverSent reports whether err shows that the request cannot have reached
// the API: the connection was never made (refused, no route, unknown host),
// or the client refused to send it. A request that got no answer for any
// other reason may have been acted on.
func NeverSent(err error) bool {
	if err == nil {
		return false
	}
	var keyErr *KeyError
	var certErr *certError
	if errors.As(err, &keyErr) || errors.As(err, &certErr) {
		return true
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return true
	}
	var de *net.DNSError
	return errors.As(err, &de)
}

// NotResultError is a 2xx answer that does not describe a stored result: not
// a JSON object with an "id". A proxy, captive portal or gateway answers so
// (a "200 text/html" login page); so may an API in trouble. The request may
// or may not have reached the API.
type NotResultError struct {
	StatusCode  int
	ContentType string
	// Snippet is the first bytes of the body, the key removed.
	Snippet      string
	Method, Path string
}

func (e *NotResultError) Error() string {
	what := "a result"
	if e.Path != PathSubmit {
		what = "the JSON it documents"
	}
	msg := fmt.Sprintf("the API answered %d but not with %s: a proxy or gateway in the way?", e.StatusCode, what)
	var got []string
	if e.ContentType != "" {
		got = append(got, e.ContentType)
	}
	if e.Snippet != "" {
		got = append(got, strconv.Quote(e.Snippet))
	} else {
		got = append(got, "an empty body")
	}
	return msg + " (got " + strings.Join(got, ": ") + ")"
}

// errTransport marks failures to get an answer at all (connection reset, EOF).
var errTransport = errors.New("no answer from the API")

// KeyError says the configured API key cannot be sent as it is. It never holds
// the key itself.
type KeyError struct{ Reason string }

func (e *KeyError) Error() string {
	return "API key " + e.Reason + ": set RETEN_API_KEY to the whole rtn_sk_... key"
}

// decodeError builds the typed error of a non-2xx answer.
func decodeError(status int, h http.Header, body []byte, method, path string) *Error {
	e := &Error{StatusCode: status, Method: method, Path: path}
	var raw struct {
		StatusCode int             `json:"statusCode"`
		Error      string          `json:"error"`
		Message    json.RawMessage `json:"message"`
	}
	if json.Unmarshal(body, &raw) == nil && (raw.Error != "" || len(raw.Message) > 0) {
		e.Err = raw.Error
		e.Message = messageText(raw.Message)
	} else {
		e.Err = http.StatusText(status)
		e.Message = snippet(body)
	}
	e.RetryAfter = parseRetryAfter(h.Get("Retry-After"), time.Now())
	return e
}

// messageText accepts the message as a string or, as validation frameworks
// often send it, a list of strings.
func messageText(m json.RawMessage) string {
	var s string
	if json.Unmarshal(m, &s) == nil {
		return s
	}
	var list []string
	if json.Unmarshal(m, &list) == nil {
		return strings.Join(list, "; ")
	}
	return snippet(m)
}

func snippet(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > maxErrorSnippet {
		b = b[:maxErrorSnippet]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
		return strings.ToValidUTF8(string(b), "?") + "…"
	}
	return strings.ToValidUTF8(string(b), "?")
}

// maxRetryAfter caps the wait a server may ask for.
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads Retry-After as seconds or an HTTP date; 0 if absent or
// unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0
		}
		// Beyond a day the multiplication could overflow; no retry waits that long.
		return min(time.Duration(min(secs, 86400))*time.Second, maxRetryAfter)
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, maxRetryAfter)
		}
	}
	return 0
}
