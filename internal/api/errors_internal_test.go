package api

import (
	"strings"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 4, 11, 10, 30, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"1", time.Second},
		{" 120 ", 2 * time.Minute},
		{"-5", 0},
		{"1.5", 0},
		{"soon", 0},
		{"99999999999", 24 * time.Hour},
		{"Sat, 11 Apr 2026 10:30:30 GMT", 30 * time.Second},
		{"Saturday, 11-Apr-26 10:31:00 GMT", time.Minute}, // RFC 850
		{"Sat Apr 11 10:30:05 2026", 5 * time.Second},     // ANSI C
		{"Sat, 11 Apr 2026 10:29:00 GMT", 0},              // already past
		{"Sat, 11 Apr 2036 10:30:00 GMT", 24 * time.Hour}, // capped
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestMessageText(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"plain"`, "plain"},
		{`["a must be a string","b is required"]`, "a must be a string; b is required"},
		{`[]`, ""},
		{`null`, ""},
		{`{"field":"x"}`, `{"field":"x"}`},
	}
	for _, tt := range tests {
		if got := messageText([]byte(tt.in)); got != tt.want {
			t.Errorf("messageText(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSnippet(t *testing.T) {
	long := strings.Repeat("é", 150) // 300 bytes: the cut falls inside a rune
	got := snippet([]byte("  " + long + "  "))
	if !strings.HasSuffix(got, "…") || len(got) > maxErrorSnippet+len("…") || !strings.HasPrefix(got, "éé") {
		t.Errorf("snippet of a long body = %q", got)
	}
	if strings.ContainsRune(strings.TrimSuffix(got, "…"), '\uFFFD') {
		t.Errorf("snippet split a rune: %q", got)
	}
	if got := snippet([]byte("\xffbad")); got != "?bad" {
		t.Errorf("snippet of invalid UTF-8 = %q", got)
	}
}

func TestRedact(t *testing.T) {
	if got := redact("echo: rtn_sk_x and rtn_sk_x", "rtn_sk_x"); got != "echo: [redacted] and [redacted]" {
		t.Errorf("got %q", got)
	}
	if got := redact("nothing", ""); got != "nothing" {
		t.Errorf("an empty key redacted %q", got)
	}
}
