package validate

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/outcome"
)

var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

const testUUID = "8a2da0ef-e94a-5f98-ad28-4741ec9a5245"

// columns of the rule table's file, in order; the header row uses the user's
// own names for two of them to check problems name the user's header.
var columns = []string{"activity_id", "provider_activity_id", "Comercio", "occurred_at", "status", "external_status",
	"hard_override", "raw_payload", "Resultado", "comment", "contact_type", "operator_external_id", "future_scheduled_at", "payload"}

// validRow is a row that passes every rule; cases change some of its cells.
func validRow() map[string]string {
	return map[string]string{
		"activity_id": testUUID, "Comercio": "COM-001", "occurred_at": "2026-04-11T10:30:00Z",
		"status": "EFFECTIVE", "Resultado": "SALE_COMPLETED",
	}
}

// readRows writes rows as a CSV with the mapping Comercio/Resultado and reads them back.
func readRows(t *testing.T, rows ...map[string]string) []importer.Row {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString(csvJoin(columns))
	for _, r := range rows {
		cells := make([]string, len(columns))
		for i, c := range columns {
			cells[i] = r[c]
		}
		b.WriteString(csvJoin(cells))
	}
	path := filepath.Join(dir, "in.csv")
	mapping := filepath.Join(dir, "map.txt")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mapping, []byte("Comercio = commerce_external_id\nResultado = result\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := importer.Open(path, importer.Options{MappingFile: mapping, Delimiter: ','})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []importer.Row
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, row)
	}
}

// checkChanged checks validRow with change made to it.
func checkChanged(t *testing.T, cat *Catalogue, change map[string]string) Item {
	t.Helper()
	r := validRow()
	for k, v := range change {
		r[k] = v
	}
	return NewValidator(cat, func() time.Time { return testNow }).Check(readRows(t, r)[0])
}

func csvJoin(cells []string) string {
	q := make([]string, len(cells))
	for i, c := range cells {
		if strings.ContainsAny(c, ",\"\n") {
			c = `"` + strings.ReplaceAll(c, `"`, `""`) + `"`
		}
		q[i] = c
	}
	return strings.Join(q, ",") + "\n"
}

func TestValidationRules(t *testing.T) {
	tests := []struct {
		name     string
		change   map[string]string
		problems []string // "column: substring", every one expected, and no others
		check    func(t *testing.T, it Item)
	}{
		{name: "valid", check: func(t *testing.T, it Item) {
			body, _ := json.Marshal(it.Request)
			want := `{"activity_id":"` + testUUID + `","commerce_external_id":"COM-001","occurred_at":"2026-04-11T10:30:00.000Z","status":"EFFECTIVE","task_result":{"result":"SALE_COMPLETED"}}`
			if string(body) != want {
				t.Errorf("body = %s\nwant   %s", body, want)
			}
		}},
		{name: "provider id alone", change: map[string]string{"activity_id": "", "provider_activity_id": "YOM-0001"}, check: func(t *testing.T, it Item) {
			if it.Request.ActivityID != "" || it.Request.ProviderActivityID != "YOM-0001" {
				t.Errorf("ids = %q %q", it.Request.ActivityID, it.Request.ProviderActivityID)
			}
		}},
		{name: "both ids empty", change: map[string]string{"activity_id": ""}, problems: []string{"activity_id / provider_activity_id: both activity ids are empty"}},
		{name: "activity id not a UUID", change: map[string]string{"activity_id": "12345"}, problems: []string{`activity_id: "12345" is not a Reten activity id`}},
		{name: "activity id upper case is a UUID", change: map[string]string{"activity_id": strings.ToUpper(testUUID)}, check: func(t *testing.T, it Item) {
			if it.Request.ActivityID != testUUID {
				t.Errorf("activity_id = %q", it.Request.ActivityID)
			}
		}},
		{name: "commerce missing", change: map[string]string{"Comercio": " "}, problems: []string{"Comercio: is empty"}},
		{name: "occurred_at missing", change: map[string]string{"occurred_at": ""}, problems: []string{"occurred_at: is empty"}},
		{name: "occurred_at not a date", change: map[string]string{"occurred_at": "11/04/2026"}, problems: []string{"occurred_at: ambiguous date"}},
		{name: "occurred_at with offset sent as UTC", change: map[string]string{"occurred_at": "2026-04-11T10:30:00-03:00"}, check: func(t *testing.T, it Item) {
			if it.Request.OccurredAt != "2026-04-11T13:30:00.000Z" {
				t.Errorf("occurred_at = %q", it.Request.OccurredAt)
			}
		}},
		{name: "status missing", change: map[string]string{"status": ""}, problems: []string{"status: is empty"}},
		{name: "status unknown", change: map[string]string{"status": "DONE"}, problems: []string{`status: "DONE" is not a status`}},
		{name: "status any case", change: map[string]string{"status": "not_effective"}, check: func(t *testing.T, it Item) {
			if it.Request.Status != api.StatusNotEffective {
				t.Errorf("status = %q", it.Request.Status)
			}
		}},
		{name: "status in Spanish", change: map[string]string{"status": "No efectivo", "contact_type": "saliente"}, check: func(t *testing.T, it Item) {
			if it.Request.Status != api.StatusNotEffective || it.Request.TaskResult.ContactType != api.ContactOutbound {
				t.Errorf("status, contact = %q, %q", it.Request.Status, it.Request.TaskResult.ContactType)
			}
		}},
		{name: "result missing", change: map[string]string{"Resultado": ""}, problems: []string{"Resultado: is empty; use one of SALE_COMPLETED (Venta completada)"}},
		{name: "result unknown", change: map[string]string{"Resultado": "VISITED"}, problems: []string{`Resultado: "VISITED" is not a result type`}},
		{name: "result label to code", change: map[string]string{"Resultado": "  venta COMPLETADA "}, check: wantResult("SALE_COMPLETED")},
		{name: "result label without accents or case", change: map[string]string{"Resultado": "NO INTERESADO"}, check: wantResult("NOT_INTERESTED")},
		{name: "result code any case", change: map[string]string{"Resultado": "no_contact"}, check: wantResult("NO_CONTACT")},
		{name: "contact type", change: map[string]string{"contact_type": "outbound"}, check: func(t *testing.T, it Item) {
			if it.Request.TaskResult.ContactType != api.ContactOutbound {
				t.Errorf("contact_type = %q", it.Request.TaskResult.ContactType)
			}
		}},
		{name: "contact type unknown", change: map[string]string{"contact_type": "EMAIL"}, problems: []string{`contact_type: "EMAIL" is not a contact type`}},
		{name: "reschedule without date", change: map[string]string{"Resultado": "RESCHEDULE"}, problems: []string{"future_scheduled_at: is empty, but RESCHEDULE (Reprogramar visita) needs"}},
		{name: "reschedule in the past", change: map[string]string{"Resultado": "RESCHEDULE", "future_scheduled_at": "2026-11-25T11:59:59Z"}, problems: []string{"future_scheduled_at: 2026-11-25T11:59:59.000Z is not in the future"}},
		{name: "reschedule now is not future", change: map[string]string{"Resultado": "Reprogramar visita", "future_scheduled_at": "2026-11-25T12:00:00Z"}, problems: []string{"future_scheduled_at: 2026-11-25T12:00:00.000Z is not in the future"}},
		{name: "reschedule in the future", change: map[string]string{"Resultado": "RESCHEDULE", "future_scheduled_at": "2030-01-15T09:00:00+01:00"}, check: func(t *testing.T, it Item) {
			if it.Request.TaskResult.FutureScheduledAt != "2030-01-15T08:00:00.000Z" {
				t.Errorf("future_scheduled_at = %q", it.Request.TaskResult.FutureScheduledAt)
			}
		}},
		{name: "date for a code without one", change: map[string]string{"future_scheduled_at": "2030-01-15T09:00:00Z"}, problems: []string{"future_scheduled_at: is set, but SALE_COMPLETED (Venta completada) takes no reschedule date"}},
		{name: "future date unreadable", change: map[string]string{"Resultado": "RESCHEDULE", "future_scheduled_at": "soon"}, problems: []string{`future_scheduled_at: "soon" is not a date`}},
		{name: "override", change: map[string]string{"hard_override": "sí"}, check: func(t *testing.T, it Item) {
			if !it.Override || !it.Request.HardOverride {
				t.Error("hard_override sí not read as true")
			}
		}},
		{name: "override unreadable", change: map[string]string{"hard_override": "maybe"}, problems: []string{`hard_override: "maybe" is not a yes or no`}},
		{name: "payloads", change: map[string]string{"raw_payload": `{"a": 1}`, "payload": `{"b": [true]}`, "comment": "hi", "external_status": "closed", "operator_external_id": "OP-1"}, check: func(t *testing.T, it Item) {
			body, _ := json.Marshal(it.Request)
			for _, s := range []string{`"raw_payload":{"a":1}`, `"payload":{"b":[true]}`, `"comment":"hi"`, `"external_status":"closed"`, `"operator_external_id":"OP-1"`} {
				if !strings.Contains(string(body), s) {
					t.Errorf("body %s lacks %s", body, s)
				}
			}
		}},
		{name: "payload not an object", change: map[string]string{"payload": "[1]", "raw_payload": "{x"}, problems: []string{"raw_payload: is not valid JSON", "payload: \"[1]\" is not a JSON object"}},
		{name: "every problem at once", change: map[string]string{"activity_id": "nope", "Comercio": "", "occurred_at": "ayer", "status": "OK", "Resultado": "Venta", "contact_type": "fax", "hard_override": "2"},
			problems: []string{"activity_id: \"nope\"", "Comercio: is empty", "occurred_at: \"ayer\"", "status: \"OK\"", "hard_override: \"2\"", "Resultado: \"Venta\"", "contact_type: \"FAX\""}},
	}
	cat := tenantCatalogue(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := checkChanged(t, cat, tt.change)
			var got []string
			for _, p := range it.Problems {
				got = append(got, p.String())
			}
			if len(got) != len(tt.problems) {
				t.Fatalf("problems = %q, want %d: %q", got, len(tt.problems), tt.problems)
			}
			for i, want := range tt.problems {
				if !strings.HasPrefix(got[i], want) && !strings.Contains(got[i], want) {
					t.Errorf("problem %d = %q, want %q", i, got[i], want)
				}
			}
			if len(tt.problems) > 0 {
				if it.Request != nil || it.Valid() {
					t.Error("an item with problems has a request")
				}
				if o, ok := it.Offline(); !ok || o.Class != outcome.ClassInvalid || !strings.Contains(o.Message, tt.problems[0]) {
					t.Errorf("Offline() = %+v, %v", o, ok)
				}
				return
			}
			if !it.Valid() {
				t.Fatal("valid row not valid")
			}
			if _, ok := it.Offline(); ok {
				t.Error("a valid item has an offline outcome")
			}
			if tt.check != nil {
				tt.check(t, it)
			}
		})
	}
}

func wantResult(code string) func(t *testing.T, it Item) {
	return func(t *testing.T, it Item) {
		t.Helper()
		if it.Request.TaskResult.Result != code {
			t.Errorf("result = %q, want %q", it.Request.TaskResult.Result, code)
		}
	}
}

func TestRowErrorIsAProblem(t *testing.T) {
	row := readRows(t, validRow())[0]
	row.Err = errors.New("the row has 1 cells beyond the last header column")
	it := NewValidator(tenantCatalogue(t), nil).Check(row)
	if len(it.Problems) != 1 || it.Problems[0].Column != "" || it.Valid() {
		t.Errorf("problems = %+v", it.Problems)
	}
}

func TestUnsplittableRow(t *testing.T) {
	row := readRows(t, validRow())[0]
	row.Err = errors.New("the row cannot be split into cells")
	row.Cells = make([]string, len(row.Cells))
	it := NewValidator(tenantCatalogue(t), nil).Check(row)
	if len(it.Problems) != 1 || it.Problems[0].Message != row.Err.Error() {
		t.Errorf("problems = %+v; want only the row's own", it.Problems)
	}
}

func TestDuplicates(t *testing.T) {
	other := "26d662d6-6e54-5c60-9688-dfc147a14532"
	long := strings.Repeat("PROVIDER-", 5)
	rows := readRows(t,
		map[string]string{"activity_id": testUUID, "provider_activity_id": "YOM-0001", "Comercio": "C", "occurred_at": "2026-04-11", "status": "PENDING", "Resultado": "NO_CONTACT"},
		map[string]string{"activity_id": other, "Comercio": "C", "occurred_at": "2026-04-11", "status": "PENDING", "Resultado": "NO_CONTACT"},
		// Same activity by provider id alone: a duplicate of row 2.
		map[string]string{"provider_activity_id": "YOM-0001", "Comercio": "C", "occurred_at": "2026-04-12", "status": "PENDING", "Resultado": "NO_CONTACT"},
		// Same activity id, written in upper case: a duplicate of row 2.
		map[string]string{"activity_id": strings.ToUpper(testUUID), "Comercio": "C", "occurred_at": "2026-04-12", "status": "PENDING", "Resultado": "NO_CONTACT"},
		// An invalid first copy does not count: the valid one after it is sent.
		map[string]string{"provider_activity_id": long, "Comercio": "", "occurred_at": "2026-04-11", "status": "PENDING", "Resultado": "NO_CONTACT"},
		map[string]string{"provider_activity_id": long, "Comercio": "C", "occurred_at": "2026-04-11", "status": "PENDING", "Resultado": "NO_CONTACT"},
		map[string]string{"provider_activity_id": long, "Comercio": "C", "occurred_at": "2026-04-11", "status": "PENDING", "Resultado": "NO_CONTACT"},
		// A provider id that only differs by a trailing character is another activity.
		map[string]string{"provider_activity_id": "YOM-00011", "Comercio": "C", "occurred_at": "2026-04-11", "status": "PENDING", "Resultado": "NO_CONTACT"},
	)
	want := []int{0, 0, 2, 2, -1, 0, 7, 0} // row number of the first copy; -1 invalid
	// In memory, and with every activity written out to a run at once.
	for _, limit := range []int{SpillKeys, 1} {
		v := NewValidator(tenantCatalogue(t), nil)
		spillSmall(t, v.ids, limit, 1)
		spillSmall(t, v.providers, limit, 1)
		checkDuplicates(t, v, rows, want)
	}
}

func checkDuplicates(t *testing.T, v *Validator, rows []importer.Row, want []int) {
	t.Helper()
	for i, row := range rows {
		it := v.Check(row)
		switch {
		case want[i] == -1:
			if len(it.Problems) == 0 {
				t.Errorf("row %d: want invalid", row.Pos.Row)
			}
		case want[i] == 0:
			if !it.Valid() || it.DuplicateOf != nil {
				t.Errorf("row %d: want valid and first, got DuplicateOf %v problems %v", row.Pos.Row, it.DuplicateOf, it.Problems)
			}
		default:
			if it.DuplicateOf == nil || it.DuplicateOf.Row != want[i] || it.DuplicateOf.File != row.Pos.File || it.Valid() {
				t.Fatalf("row %d: DuplicateOf = %v, want row %d", row.Pos.Row, it.DuplicateOf, want[i])
			}
			o, ok := it.Offline()
			if !ok || o.Class != outcome.ClassSkipped || !strings.Contains(o.Message, "in.csv, row ") {
				t.Errorf("row %d: Offline() = %+v", row.Pos.Row, o)
			}
		}
	}
}

func TestUUID(t *testing.T) {
	for s, want := range map[string]bool{
		testUUID:                               true,
		strings.ToUpper(testUUID):              true,
		"8a2da0ef-e94a-5f98-ad28-4741ec9a524":  false,
		"8a2da0ef-e94a-5f98-ad28-4741ec9a524g": false,
		"8a2da0efxe94a-5f98-ad28-4741ec9a5245": false,
		"8a2da0efe94a5f98ad284741ec9a5245":     false,
		"":                                     false,
	} {
		if isUUID(s) != want {
			t.Errorf("isUUID(%q) = %v", s, !want)
		}
	}
}

func TestFormatTime(t *testing.T) {
	loc := time.FixedZone("x", -4*3600)
	for _, tm := range []time.Time{
		time.Date(2026, 4, 11, 10, 30, 0, 0, time.UTC),
		time.Date(2026, 4, 11, 22, 30, 59, 999_999_999, loc),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 1e6, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		if got, want := formatTime(tm), api.FormatTime(tm); got != want {
			t.Errorf("formatTime(%v) = %q, want %q", tm, got, want)
		}
	}
}

// Requests are filled in place in shared blocks: an invalid row's cells must
// not show in the request of the valid row after it, and every valid row
// keeps its own request across blocks.
func TestRequestsDoNotLeak(t *testing.T) {
	full := validRow()
	full["status"] = "nope" // invalid, with every optional field set
	full["provider_activity_id"] = "YOM-1"
	full["external_status"] = "x"
	full["raw_payload"] = `{"a":1}`
	full["comment"] = "c"
	full["contact_type"] = "INBOUND"
	full["operator_external_id"] = "OP"
	full["payload"] = `{"b":2}`
	full["hard_override"] = "true"
	var rows []map[string]string
	for i := 0; i < 2*requestBlock+3; i++ {
		if i%7 == 0 {
			rows = append(rows, full)
			continue
		}
		r := validRow()
		r["activity_id"] = ""
		r["provider_activity_id"] = "P-" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + string(rune('a'+i/26))
		rows = append(rows, r)
	}
	v := NewValidator(tenantCatalogue(t), func() time.Time { return testNow })
	var items []Item
	for _, row := range readRows(t, rows...) {
		items = append(items, v.Check(row))
	}
	for i, it := range items {
		if i%7 == 0 {
			if it.Request != nil || len(it.Problems) == 0 {
				t.Fatalf("row %d: invalid row got a request", i)
			}
			continue
		}
		want := api.SubmitRequest{ProviderActivityID: rows[i]["provider_activity_id"], CommerceExternalID: "COM-001",
			OccurredAt: "2026-04-11T10:30:00.000Z", Status: "EFFECTIVE", TaskResult: api.TaskResult{Result: "SALE_COMPLETED"}}
		if it.Request == nil || !reflect.DeepEqual(*it.Request, want) {
			t.Fatalf("row %d: request %+v, want %+v", i, it.Request, want)
		}
	}
}

// lookupResult answers the same through its table of recent spellings as
// through the maps, spellings that share a slot of the table included, and
// keeps no cell's memory.
func TestLookupResult(t *testing.T) {
	v := NewValidator(tenantCatalogue(t), nil)
	seq := []struct{ in, want string }{
		{"SALE_COMPLETED", "SALE_COMPLETED"},
		{"venta completada", "SALE_COMPLETED"},
		{"Venta  Completada", "SALE_COMPLETED"},
		{"RESCHEDULX", ""}, // the slot of RESCHEDULE (same length and first byte)
		{"RESCHEDULE", "RESCHEDULE"},
		{"RESCHEDULX", ""},
		{"Reprogramar visita", "RESCHEDULE"},
		{"REPROGRAMAR_VISITA", "RESCHEDULE"},
		{"Rprogramar visita", ""},
	}
	for round := 0; round < 3; round++ {
		for _, c := range seq {
			got := ""
			if cfg := v.lookupResult(c.in); cfg != nil {
				got = cfg.Code
			}
			if got != c.want {
				t.Errorf("round %d: lookupResult(%q) = %q, want %q", round, c.in, got, c.want)
			}
		}
	}
	cell := string([]byte("VENTA completada, and the rest of the row"))[:16] // a spelling not seen yet
	v.lookupResult(cell)
	for k, w := range v.asWritten {
		if k == cell && (unsafe.StringData(k) == unsafe.StringData(cell) || unsafe.StringData(w.s) == unsafe.StringData(cell)) {
			t.Error("the validator keeps the cell's memory")
		}
	}
}
