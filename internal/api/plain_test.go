package api

import (
	"bytes"
	"encoding/json"
	"testing"
)

// samePlain checks PlainJSON against encoding/json: a string it calls plain
// is written as it is, between quotes, with and without HTML escaping.
func samePlain(t *testing.T, s string) {
	if !PlainJSON(s) {
		return
	}
	want := `"` + s + `"`
	escaped, _ := json.Marshal(s)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	if string(escaped) != want || string(bytes.TrimSuffix(b.Bytes(), []byte("\n"))) != want {
		t.Errorf("PlainJSON(%q) is true, but encoding/json writes %s", s, escaped)
	}
}

func TestPlainJSON(t *testing.T) {
	for _, tc := range []struct {
		in    string
		plain bool
	}{
		{"", true},
		{"8a2da0ef-e94a-5f98-ad28-4741ec9a5245", true},
		{"Cliente pidió llamar después", true},
		{"a<b", false}, {"a>b", false}, {"a&b", false},
		{`a"b`, false}, {`a\b`, false}, {"a\nb", false}, {"a\x7fb", true},
		{"bad \xff utf8", false},
		{"sep \u2028", false}, {"sep \u2029", false},
	} {
		if got := PlainJSON(tc.in); got != tc.plain {
			t.Errorf("PlainJSON(%q) = %v, want %v", tc.in, got, tc.plain)
		}
		samePlain(t, tc.in)
	}
}

func FuzzPlainJSON(f *testing.F) {
	for _, s := range []string{"abc", "ñandú", "a<b", "\xff", "\u2028", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(samePlain)
}
