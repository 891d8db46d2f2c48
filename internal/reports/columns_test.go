package reports

import "testing"

// ColumnIndex finds reconcile's columns where reconcile put them, even when
// the user named columns of their own the same.
func TestColumnIndex(t *testing.T) {
	one := []string{"row", "outcome", "http_status", "code", "message", "message", "row", "error", "attempts", "duration_ms", "result_id"}
	two := []string{"row", "outcome", "http_status", "code", "message", "file", "sheet", "error", "Notas", "error", "attempts", "duration_ms", "result_id"}
	for _, tc := range []struct {
		header []string
		name   string
		want   int
	}{
		{one, RowColumn, 0},
		{one, MessageColumn, 4},
		{one, CodeColumn, 3},
		{one, FileColumn, -1},
		{one, SheetColumn, -1},
		{one, ErrorColumn, 7},
		{one, ResultIDColumn, 10},
		{two, FileColumn, 5},
		{two, SheetColumn, 6},
		{two, ErrorColumn, 9},
		{[]string{"Actividad", "row"}, RowColumn, -1},
	} {
		if got := ColumnIndex(tc.header, tc.name); got != tc.want {
			t.Errorf("ColumnIndex(%q, %q) = %d, want %d", tc.header, tc.name, got, tc.want)
		}
	}
}
