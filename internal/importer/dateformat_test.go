package importer

import (
	"strings"
	"testing"
	"time"
)

func TestDateLayout(t *testing.T) {
	at := func(y int, mo time.Month, d, h, mi, s int) time.Time {
		return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
	}
	for _, tc := range []struct {
		format string
		cell   string
		want   time.Time
		layout string // the Go layout, when it matters
	}{
		{"dd/mm/yyyy", "03/12/2026", at(2026, 12, 3, 0, 0, 0), "2/1/2006"},
		{"dd/mm/yyyy", "3/12/2026", at(2026, 12, 3, 0, 0, 0), ""},
		{"DD/MM/YYYY", "25/11/2026", at(2026, 11, 25, 0, 0, 0), ""},
		{"dd/mm/yyyy hh:mm", "25/11/2026 09:05", at(2026, 11, 25, 9, 5, 0), "2/1/2006 15:4"},
		{"dd/mm/yyyy hh:mm", "25/11/2026 9:05", at(2026, 11, 25, 9, 5, 0), ""},
		{"dd/mm/yyyy hh:mm:ss", "25/11/2026 17:30:09", at(2026, 11, 25, 17, 30, 9), ""},
		{"mm/dd/yyyy", "12/03/2026", at(2026, 12, 3, 0, 0, 0), "1/2/2006"},
		{"mm/dd/yyyy hh:mm", "11/25/2026 23:59", at(2026, 11, 25, 23, 59, 0), ""},
		{"d/m/yy h:mm", "3/12/26 9:05", at(2026, 12, 3, 9, 5, 0), "2/1/06 15:4"},
		{"d/m/yy h:mm", "03/12/26 09:05", at(2026, 12, 3, 9, 5, 0), ""},
		{"yyyy-mm-dd hh:mm", "2026-04-11 10:30", at(2026, 4, 11, 10, 30, 0), ""},
		{"dd.mm.yyyy", "11.04.2026", at(2026, 4, 11, 0, 0, 0), ""},
		{"mm/dd/yyyy h:mm am/pm", "4/11/2026 2:30 PM", at(2026, 4, 11, 14, 30, 0), "1/2/2006 3:4 PM"},
		{"mm:ss dd/mm/yyyy", "07:09 11/04/2026", at(2026, 4, 11, 0, 7, 9), ""},
		{"02/01/2006 15:04", "25/11/2026 09:05", at(2026, 11, 25, 9, 5, 0), "02/01/2006 15:04"}, // a Go layout, as it is
	} {
		layout, err := DateLayout(tc.format)
		if err != nil {
			t.Errorf("DateLayout(%q): %v", tc.format, err)
			continue
		}
		if tc.layout != "" && layout != tc.layout {
			t.Errorf("DateLayout(%q) = %q, want %q", tc.format, layout, tc.layout)
		}
		got, err := time.Parse(layout, tc.cell)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("%q (layout %q) reads %q as %v, %v; want %v", tc.format, layout, tc.cell, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ format, says string }{
		{"dd/mm", "a day, a month and a year"},
		{"dd/mm/yyy", "yyyy or yy"},
		{"dd/mm/yyyy dd", "day twice"},
		{"dd/mm/yyyy hhh", "one letter or two"},
		{"dd/mm/aaaa", "neither a Go layout nor spreadsheet notation"},
	} {
		if _, err := DateLayout(tc.format); err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("DateLayout(%q) = %v, want an error saying %q", tc.format, err, tc.says)
		}
	}
}

// A cell is read with the notation, and a cell it does not match is named
// with the format as the user wrote it.
func TestDateNotationInCells(t *testing.T) {
	n := newNormalizer("d/m/yy h:mm", time.UTC)
	v := n.value(OccurredAt, "3/12/26 9:05")
	if v.Err != nil || !v.Time.Equal(time.Date(2026, 12, 3, 9, 5, 0, 0, time.UTC)) {
		t.Errorf("3/12/26 9:05 = %v, %v", v.Time, v.Err)
	}
	if v := n.value(OccurredAt, "3/12/26"); v.Err != nil || !v.Time.Equal(time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("a date without its time = %v, %v", v.Time, v.Err)
	}
	if v := n.value(OccurredAt, "2026.12.03"); v.Err == nil || !strings.Contains(v.Err.Error(), `--date-format "d/m/yy h:mm"`) {
		t.Errorf("error = %v, want the format as the user wrote it", v.Err)
	}
}
