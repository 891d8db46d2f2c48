package api

import (
	"bytes"
	"encoding/json"
	"testing"
)

var answers = []string{
	`{"id":"abc"}`, ` { "id" : 1234567 } `, `{"id":null}`, `{"other":1}`, `{}`, `{"id":{"x":[1,"}"]}}`,
	`{"a":"\"id\"","id":"x"}`, `{"ID":"upper"}`, `{"id":"first","id":"last"}`, `{"\u0069d":"escaped"}`,
	`{"nested":{"id":"inner"},"id":"outer"}`, `{"nested":{"id":"inner"}}`, `{"id":"a\"b"}`, `{"id":true}`,
	`{"id":"x"`, `{"id":}`, `{"id" "x"}`, `[{"id":"x"}]`, `"id"`, `{"id":"x"} trailing`, `{"id":-1.5e3,"b":[]}`,
}

// sameAsDecode checks topLevelID against encoding/json on data: on JSON that
// encoding/json accepts, where topLevelID answers it must find the same id.
func sameAsDecode(t *testing.T, data []byte) {
	id, ok := topLevelID(data)
	var v struct {
		ID json.RawMessage `json:"id"`
	}
	if !ok || json.Unmarshal(data, &v) != nil {
		return // decoded fully by the caller, or not JSON: no id either way
	}
	if !bytes.Equal(id, v.ID) && !(len(id) == 0 && string(v.ID) == "null") && !(string(id) == "null" && len(v.ID) == 0) {
		t.Errorf("%s: topLevelID %q, encoding/json %q", data, id, v.ID)
	}
}

func TestTopLevelIDMatchesDecode(t *testing.T) {
	for _, a := range answers {
		sameAsDecode(t, []byte(a))
	}
	if id, ok := topLevelID([]byte(`{"x":1,"id":"00000000-0000-4000-8000-000000000001","y":{"id":2}}`)); !ok || string(id) != `"00000000-0000-4000-8000-000000000001"` {
		t.Errorf("sandbox-like answer: %q %v", id, ok)
	}
}

func FuzzTopLevelID(f *testing.F) {
	for _, a := range answers {
		f.Add([]byte(a))
	}
	f.Fuzz(func(t *testing.T, data []byte) { sameAsDecode(t, data) })
}

// plainString must agree with json.Unmarshal whenever it takes a token.
func samePlainString(t *testing.T, v []byte) {
	got, ok := plainString(v)
	if !ok {
		return
	}
	var want string
	if err := json.Unmarshal(v, &want); err != nil || got != want {
		t.Errorf("plainString(%q) = %q, json.Unmarshal gives %q, %v", v, got, want, err)
	}
}

func TestPlainString(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`"00000000-0000-4000-8000-000000000001"`, true},
		{`""`, true},
		{`"ñandú"`, true},
		{`"a\"b"`, false},
		{`"a\u0041"`, false},
		{"\"a\tb\"", false},
		{"\"a\xffb\"", false},
		{`"a`, false},
		{`123`, false},
		{`"`, false},
	} {
		if _, ok := plainString([]byte(tc.in)); ok != tc.ok {
			t.Errorf("plainString(%q) ok = %v, want %v", tc.in, ok, tc.ok)
		}
		samePlainString(t, []byte(tc.in))
	}
}

func FuzzPlainString(f *testing.F) {
	for _, s := range []string{`"abc"`, `"a\"b"`, `""`, "\"\xff\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) { samePlainString(t, v) })
}
