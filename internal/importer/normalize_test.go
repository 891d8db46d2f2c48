package importer

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDates(t *testing.T) {
	santiago, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	utc := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		name, format string
		loc          *time.Location
		in           string
		want         time.Time
		errHas       string
	}{
		{"ISO with Z", "", nil, "2026-04-11T10:30:00.000Z", utc("2026-04-11T10:30:00Z"), ""},
		{"ISO with offset", "", nil, "2026-04-11T10:30:00-04:00", utc("2026-04-11T14:30:00Z"), ""},
		{"ISO without seconds, zoned", "", nil, "2026-04-11T10:30+02:00", utc("2026-04-11T08:30:00Z"), ""},
		{"ISO fraction kept", "", nil, "2026-04-11T10:30:00.123Z", utc("2026-04-11T10:30:00.123Z"), ""},
		{"ISO without zone is local", "", santiago, "2026-04-11T10:30:00", utc("2026-04-11T14:30:00Z"), ""},
		{"ISO with space", "", santiago, "2026-04-11 10:30", utc("2026-04-11T14:30:00Z"), ""},
		{"ISO date only", "", nil, "2026-04-11", utc("2026-04-11T00:00:00Z"), ""},
		{"zone wins over location", "", santiago, "2026-04-11T10:30:00Z", utc("2026-04-11T10:30:00Z"), ""},
		{"date format", "02/01/2006 15:04", santiago, "11/04/2026 10:30", utc("2026-04-11T14:30:00Z"), ""},
		{"date format, date part only", "02/01/2006 15:04", nil, "11/04/2026", utc("2026-04-11T00:00:00Z"), ""},
		{"ISO passes with date format", "02/01/2006 15:04", nil, "2026-04-11T10:30:00Z", utc("2026-04-11T10:30:00Z"), ""},
		{"month first format", "01/02/2006", nil, "04/11/2026", utc("2026-04-11T00:00:00Z"), ""},
		{"excel serial", "", nil, "46123.4375", utc("2026-04-11T10:30:00Z"), ""},
		{"excel serial in location", "", santiago, "46123", utc("2026-04-11T04:00:00Z"), ""},
		{"ambiguous day/month", "", nil, "03/04/2026", time.Time{}, "--date-format"},
		{"ambiguous, dots", "", nil, "3.4.26", time.Time{}, "day/month or month/day"},
		{"not matching format", "02/01/2006 15:04", nil, "2026/04/11", time.Time{}, "matches neither --date-format"},
		{"words", "", nil, "yesterday", time.Time{}, "is not a date"},
		{"unix time is not a serial", "", nil, "1712831400", time.Time{}, "is not a date"},
		{"bad ISO", "", nil, "2026-13-45T10:00:00Z", time.Time{}, "is not a date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNormalizer(tt.format, tt.loc)
			v := n.value(OccurredAt, "  "+tt.in+" ")
			if tt.errHas != "" {
				if v.Err == nil || !strings.Contains(v.Err.Error(), tt.errHas) {
					t.Fatalf("value(%q) error = %v, want one containing %q", tt.in, v.Err, tt.errHas)
				}
				return
			}
			if v.Err != nil {
				t.Fatalf("value(%q): %v", tt.in, v.Err)
			}
			if !v.Time.Equal(tt.want) {
				t.Errorf("value(%q) = %v, want %v", tt.in, v.Time.UTC(), tt.want)
			}
			if v.Text != tt.in {
				t.Errorf("Text = %q, want the trimmed cell %q", v.Text, tt.in)
			}
		})
	}
	if v := newNormalizer("", nil).value(OccurredAt, "03/04/2026"); !errors.Is(v.Err, ErrAmbiguousDate) {
		t.Errorf("ambiguous date error %v does not wrap ErrAmbiguousDate", v.Err)
	}
}

func TestBooleans(t *testing.T) {
	for _, s := range []string{"true", "TRUE", "1", "yes", "Sí", "si", "SI", "verdadero", "Verdadero", "x"} {
		if v := newNormalizer("", nil).value(HardOverride, s); v.Err != nil || !v.Bool {
			t.Errorf("%q = %v, %v; want true", s, v.Bool, v.Err)
		}
	}
	for _, s := range []string{"false", "FALSE", "0", "no", "No", "falso", "FALSO", ""} {
		if v := newNormalizer("", nil).value(HardOverride, s); v.Err != nil || v.Bool {
			t.Errorf("%q = %v, %v; want false", s, v.Bool, v.Err)
		}
	}
	for _, s := range []string{"maybe", "2", "quizás", "truee"} {
		if v := newNormalizer("", nil).value(HardOverride, s); v.Err == nil {
			t.Errorf("%q was accepted as %v", s, v.Bool)
		}
	}
}

func TestValues(t *testing.T) {
	tests := []struct {
		f      Field
		in     string
		want   string
		errHas string
	}{
		{Status, " effective ", "EFFECTIVE", ""},
		{Status, "not effective", "NOT_EFFECTIVE", ""},
		{Status, "Not-Effective", "NOT_EFFECTIVE", ""},
		{ContactType, "inbound", "INBOUND", ""},
		{ActivityID, " 8A2DA0EF-E94A-5F98-AD28-4741EC9A5245 ", "8a2da0ef-e94a-5f98-ad28-4741ec9a5245", ""},
		{CommerceExternalID, "0004549", "0004549", ""},                            // zeros kept
		{CommerceExternalID, "4549", "4549", ""},                                  // and never added
		{CommerceExternalID, "\u00a0COM-001\u00a0", "COM-001", ""},                // Excel's no-break spaces trimmed
		{CommerceExternalID, "1.23457E+11", "1.23457E+11", "scientific notation"}, // digits lost
		{ProviderActivityID, "1,2E+5", "1,2E+5", ""},                              // not a float: kept
		{ProviderActivityID, "YOM-E+12", "YOM-E+12", ""},
		{OperatorExternalID, "4.5e-3", "4.5e-3", "scientific notation"},
		{RawPayload, ` { "a" : 1 } `, `{"a":1}`, ""},
		{Payload, `{"nested": {"b": [1, 2]}}`, `{"nested":{"b":[1,2]}}`, ""},
		{Payload, `[1, 2]`, `[1, 2]`, "not a JSON object"},
		{Payload, `{"a": }`, `{"a": }`, "not valid JSON"},
		{Payload, `"text"`, `"text"`, "not a JSON object"},
		{Result, " Venta completada ", "Venta completada", ""},
		{Comment, "  line one\nline two  ", "line one\nline two", ""},
		{Comment, "   ", "", ""},
	}
	n := newNormalizer("", nil)
	for _, tt := range tests {
		v := n.value(tt.f, tt.in)
		if v.Text != tt.want {
			t.Errorf("%s %q: Text = %q, want %q", tt.f, tt.in, v.Text, tt.want)
		}
		switch {
		case tt.errHas == "" && v.Err != nil:
			t.Errorf("%s %q: unexpected error %v", tt.f, tt.in, v.Err)
		case tt.errHas != "" && (v.Err == nil || !strings.Contains(v.Err.Error(), tt.errHas)):
			t.Errorf("%s %q: error = %v, want one containing %q", tt.f, tt.in, v.Err, tt.errHas)
		}
	}
}

func TestFoldHeader(t *testing.T) {
	tests := []struct{ a, b string }{
		{"Fecha gestión", "fecha_gestion"},
		{"FECHA-GESTIÓN", "fecha gestion"},
		{"task_result.result", "Task Result Result"},
		{"Provider Activity ID", "provider_activity_id"},
		{"  Ñandú ", "nandu"},
	}
	for _, tt := range tests {
		if foldHeader(tt.a) != foldHeader(tt.b) {
			t.Errorf("foldHeader(%q) = %q, foldHeader(%q) = %q; want equal", tt.a, foldHeader(tt.a), tt.b, foldHeader(tt.b))
		}
	}
	if FoldLabel("Reprogramar visita") != FoldLabel("REPROGRAMAR_VISITA") || FoldLabel("Reprogramar visita") == FoldLabel("Reprogramarvisita") {
		t.Error("FoldLabel must ignore case and punctuation but keep word breaks")
	}
	for name, want := range map[string]Field{
		"activity_id": ActivityID, "Activity ID": ActivityID, "task_result.result": Result, "result": Result,
		"RESULT": Result, "comment": Comment, "task_result.comment": Comment, "future scheduled at": FutureScheduledAt,
		"payload": Payload, "raw_payload": RawPayload, "hard-override": HardOverride,
	} {
		if got, ok := ParseField(name); !ok || got != want {
			t.Errorf("ParseField(%q) = %v, %v; want %v", name, got, ok, want)
		}
	}
	if _, ok := ParseField("region"); ok {
		t.Error(`ParseField("region") found a field`)
	}
}

func TestIsDateFormat(t *testing.T) {
	for code, want := range map[string]bool{
		"dd/mm/yyyy":           true,
		"dd/mm/yyyy hh:mm":     true,
		"[$-409]mmmm d, yyyy":  true,
		"h:mm AM/PM":           true,
		"yyyy-mm-dd;@":         true,
		"0000000":              false,
		"0.00":                 false,
		"General":              false,
		"@":                    false,
		`#,##0 "days"`:         false,
		"[Red]0.00":            false,
		"[h]:mm:ss":            false,
		`[$€-2] #,##0.00`:      false,
		`0.00 "kg";[Red]-0.00`: false,
		`"Fecha: "dd/mm/yyyy`:  true,
		`\d\a\y 0`:             false,
	} {
		if got := isDateFormat(code); got != want {
			t.Errorf("isDateFormat(%q) = %v, want %v", code, got, want)
		}
	}
}

// Values gives what Value gives field by field, absent fields included.
func TestValuesMatchesValue(t *testing.T) {
	data := header + ",hard_override,raw_payload,comment\n" +
		"8A2DA0EF-E94A-5F98-AD28-4741EC9A5245, YOM-1 ,1.23457E+11,03/04/2026,not effective,x,sí,{ \"a\": 1 },\" hola \"\n" +
		",,,2026-04-11T10:30:00.000Z,EFFECTIVE,,maybe,[1],\n"
	_, rows := readAll(t, writeFile(t, "in.csv", []byte(data)), Options{})
	for _, row := range rows {
		var vals [NumFields]Value
		row.Values(&vals)
		for f := Field(0); int(f) < NumFields; f++ {
			if got, want := vals[f], row.Value(f); !reflect.DeepEqual(got, want) {
				t.Errorf("row %d %s: Values gives %+v, Value %+v", row.Pos.Row, f, got, want)
			}
		}
	}
	var vals [NumFields]Value
	vals[Status].Text = "left over"
	(&Row{}).Values(&vals)
	if vals != ([NumFields]Value{}) {
		t.Errorf("a row without layout leaves %+v", vals)
	}
}

// isoUTC reads exactly what time.Parse reads for its two forms, and leaves
// everything else to it.
func TestISOUTCMatchesTimeParse(t *testing.T) {
	cells := []string{
		"2026-04-11T10:30:00Z", "2026-04-11T10:30:00.123Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z",
		"2024-02-29T12:00:00Z", "2026-02-29T12:00:00Z", "2026-04-31T10:30:00Z", "2026-13-01T10:30:00Z",
		"2026-00-10T10:30:00Z", "2026-04-00T10:30:00Z", "2026-04-11T24:00:00Z", "2026-04-11T10:60:00Z",
		"2026-04-11T10:30:60Z", "2026-04-11T10:30:00.12Z", "2026-04-11T10:30:00,123Z", "2026-04-11t10:30:00Z",
		"2026-04-11T10:30:00+00:00", "2026-04-11T1a:30:00Z", "2026-4-11T10:30:00.000Z", "+026-04-11T10:30:00Z",
		"2026-04-11T10:30:00.-12Z", "2026-04-11 10:30:00Z",
	}
	// Every day of years around the calendar's turns, and the days past
	// each month's end.
	for _, y := range []int{0, 1, 399, 400, 1600, 1899, 1900, 1969, 1970, 1999, 2000, 2023, 2024, 2100, 9999} {
		for mo := 1; mo <= 12; mo++ {
			for d := 1; d <= 31; d++ {
				cells = append(cells, fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, d%24, (d*7)%60, (d*13)%60),
					fmt.Sprintf("%04d-%02d-%02dT23:59:59.%03dZ", y, mo, d, d*31))
			}
		}
	}
	for _, c := range cells {
		got, ok := isoUTC(c)
		want, err := time.Parse(time.RFC3339, c)
		if ok && (err != nil || got != want) {
			t.Errorf("isoUTC(%q) = %v; time.Parse gives %v, %v", c, got, want, err)
		}
		if !ok && err == nil && (len(c) == 20 || len(c) == 24 && c[19] == '.') && c[len(c)-1] == 'Z' && c[10] == 'T' {
			t.Errorf("isoUTC(%q) left a date of its own form to time.Parse", c)
		}
	}
}

func TestToLower(t *testing.T) {
	for _, s := range []string{
		"", "a", "A", "8a2da0ef-e94a-5f98-ad28-4741ec9a5245", "8A2DA0EF-E94A-5F98-AD28-4741EC9A5245",
		"8a2da0ef-e94a-5f98-ad28-4741ec9a524Z", "@[`{\x7f azAZ", "@@@@@@@@[[[[[[[[````````{{{{{{{{", "abcdefghA", "ÁÉ", "abcdefgh\xe9",
		"\xc3\x81bcdefgh", "azazazaz@", "AZazazaz", "zzzzzzZz", "zzzzzzzzzzzzzzzZ",
	} {
		if got, want := toLower(s), strings.ToLower(s); got != want {
			t.Errorf("toLower(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestTrimSpace(t *testing.T) {
	for _, s := range []string{"", " ", "a", " a", "a ", "\ta\n", "!", "~\x7f", "\x7f", "a\u00a0", "\u00a0a", "a\u2003", "\u0085x", "é", "aé", "éa", "a\xff", "\x80a", "a b", "!\r"} {
		if got, want := trimSpace(s), strings.TrimSpace(s); got != want {
			t.Errorf("trimSpace(%q) = %q, want %q", s, got, want)
		}
	}
}
