package reports

// Spreadsheet programs run a cell that starts with one of these as a formula
// (or, for tab and carriage return, let a following formula through). OWASP's
// advice for CSV injection is to prefix such cells with a single quote, which
// makes the cell plain text in Excel, LibreOffice and Google Sheets.
func isFormulaStart(c byte) bool {
	switch c {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
}

// Neutralise returns s made safe to open in a spreadsheet program: a value that
// would be read as a formula gets a leading single quote. Plain numbers such as
// "-5", "+3.25" or "-1,5" are data, not formulas, and are returned unchanged, so
// negative amounts stay sortable as numbers.
func Neutralise(s string) string {
	if s == "" || !isFormulaStart(s[0]) || isPlainNumber(s) {
		return s
	}
	return "'" + s
}

// isPlainNumber reports whether s is a signed decimal number with at most one
// decimal separator (point or comma) and nothing else: no operators, spaces,
// exponents or parentheses, so no program can find a formula in it.
func isPlainNumber(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits, seps := 0, 0
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' || c == ',':
			seps++
		default:
			return false
		}
	}
	return digits > 0 && seps <= 1
}
