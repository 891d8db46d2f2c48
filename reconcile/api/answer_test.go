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
