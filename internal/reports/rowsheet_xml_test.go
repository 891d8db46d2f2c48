//go:build !streamwriter

package reports

import "testing"

func TestAppendCellText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"abc", "abc"},
		{"a&b<c>d", "a&amp;b&lt;c&gt;d"},
		{"\"'", "\"'"},
		{"a\nb\rc\td", "a\nb&#xD;c&#x9;d"},
		{"\x00\x1f", "\uFFFD\uFFFD"},
		{"\xff", "\uFFFD"},
		{"\uFFFE", "\uFFFD"},
		{"é😀", "é😀"},
		{"_x0041_", "_x005F_x0041_"},
		{"_x0041_x0042_", "_x005F_x0041_x005F_x0042_"},
		{"_x004_ _xg041_ _x0041", "_x004_ _xg041_ _x0041"},
	} {
		if got := string(appendCellText(nil, tc.in)); got != tc.want {
			t.Errorf("appendCellText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
