package reports

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/outcome"
)

var update = flag.Bool("update", false, "rewrite the golden files from the current output")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -run %s -update rewrites it):\n--- got\n%s--- want\n%s", path, t.Name(), got, want)
	}
}

// printRun is a run with rows of every class, several rows failing one rule
// with different values, and messages long enough to wrap.
func printRun(t *testing.T, command string, classes []outcome.Class) *Summary {
	l := csvLayout("ventas.csv", "Actividad", "Fecha", "Estado")
	var outs []outcome.Outcome
	add := func(n int, o outcome.Outcome) {
		for range n {
			o.Row = row(l, len(outs)+2, "A", "B", "C")
			outs = append(outs, o)
		}
	}
	bad := func(v string) outcome.Outcome {
		return outcome.Outcome{Class: outcome.ClassInvalid, Code: outcome.CodeBadDate,
			Message: `Fecha: "` + v + `" is not a date; write it as ISO 8601 (2026-04-11T10:30:00Z) or pass --date-format with your file's layout (e.g. dd/mm/yyyy hh:mm)`}
	}
	if command == "validate" {
		add(12, outcome.Outcome{Class: outcome.ClassValid})
	} else {
		add(29, outcome.Outcome{Class: outcome.ClassOK, HTTPStatus: 201})
		add(5, outcome.Outcome{Class: outcome.ClassRejected, HTTPStatus: 404, Error: "Not Found", Code: "api_404", Message: "activity_id does not exist"})
		add(4, outcome.Outcome{Class: outcome.ClassConflict, HTTPStatus: 409, Error: "Conflict", Code: outcome.CodeConflict, Message: "Activity already has a result"})
		add(4, outcome.Outcome{Class: outcome.ClassFailed, HTTPStatus: 503, Error: "Service Unavailable", Code: "api_503", Message: "Service Unavailable (after 6 attempts)"})
		add(4, outcome.Outcome{Class: outcome.ClassSkipped, Code: outcome.CodeAlreadySent, Message: "already accepted in an earlier run"})
	}
	add(1, bad("31/02/2026"))
	add(1, bad("2026-13-01"))
	add(1, bad("ayer"))
	add(2, outcome.Outcome{Class: outcome.ClassInvalid, Code: outcome.CodeBadStatus, Message: `Estado: "HECHO" is not a status; use EFFECTIVE, NOT_EFFECTIVE or PENDING`})
	add(1, outcome.Outcome{Class: outcome.ClassInvalid, Code: outcome.CodeUnknownResult, Message: `Resultado: "VISITADO" is not a result type of this tenant; use one of SALE_COMPLETED (Venta completada), NOT_INTERESTED (No interesado), RESCHEDULE (Reprogramar visita), NO_CONTACT (Sin contacto) (or run ` + "`reconcile configs pull`" + ` if it was added lately)`})
	s := run(t, t.TempDir(), RunInfo{Command: command, Layouts: []*importer.Layout{l}},
		Options{XLSX: true, Rejects: true, Classes: classes, Now: clock(83 * time.Second)}, outs, 1)
	s.Reports.Dir = "reports-2026-11-25T103000" // not the temporary folder's name
	return s
}

// The terminal summary, as a person reads it: values shown (one example
// of each grouped message), every word of the advice, lines broken between
// words at the width, the next command for each class.
func TestPrintGolden(t *testing.T) {
	for _, tc := range []struct {
		name    string
		command string
		classes []outcome.Class
		width   int
	}{
		{"print-run-80.golden", "run", nil, 80},
		{"print-run-unwrapped.golden", "run", nil, 0},
		{"print-validate-60.golden", "validate", outcome.CheckClasses, 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			printRun(t, tc.command, tc.classes).Print(&b, tc.width)
			out := b.String()
			golden(t, tc.name, out)
			for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
				if tc.width > 0 && len([]rune(line)) > tc.width {
					t.Errorf("line longer than %d: %q", tc.width, line)
				}
			}
			if strings.Contains(out, "…") {
				t.Errorf("a value is masked in what a person reads:\n%s", out)
			}
		})
	}
}

// The order of the problems does not depend on the order rows arrived in.
func TestPrintOrderIsStable(t *testing.T) {
	s := printRun(t, "run", nil)
	var first strings.Builder
	s.Print(&first, 80)
	for range 20 {
		again := printRun(t, "run", nil)
		var b strings.Builder
		again.Print(&b, 80)
		if b.String() != first.String() {
			t.Fatalf("two prints of the same run differ:\n%s\n%s", first.String(), b.String())
		}
	}
}

func TestWriteWrapped(t *testing.T) {
	long := strings.Repeat("x", 30)
	for _, tc := range []struct {
		prefix, text  string
		width, indent int
		want          string
	}{
		{"", "one two three", 0, 2, "one two three\n"},
		{"", "one two three", 9, 2, "one two\n  three\n"},
		{"  ", "lead one two", 8, 4, "  lead\n    one\n    two\n"},
		{"", "a " + long + " b", 10, 2, "a\n  " + long + "\n  b\n"},
		{"", "ñandú árbol", 6, 0, "ñandú\nárbol\n"},
		{"     3  invalid: ", "Fecha: \"x\" is bad", 24, 10, "     3  invalid: Fecha:\n          \"x\" is bad\n"},
		{"     3  invalid: ", long, 24, 10, "     3  invalid:\n          " + long + "\n"},
	} {
		var b strings.Builder
		writeWrapped(&b, tc.prefix, tc.text, tc.width, tc.indent)
		if b.String() != tc.want {
			t.Errorf("writeWrapped(%q, %q, %d, %d) = %q, want %q", tc.prefix, tc.text, tc.width, tc.indent, b.String(), tc.want)
		}
	}
}
