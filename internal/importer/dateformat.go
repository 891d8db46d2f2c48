package importer

import (
	"fmt"
	"strings"
)

// DateLayout turns a --date-format into a Go time layout. A format with a
// digit in it is a Go layout already (02/01/2006 15:04) and is returned as
// it is. One without is spreadsheet notation, as Excel and LibreOffice
// write number formats: dd/mm/yyyy, dd/mm/yyyy hh:mm, mm/dd/yyyy,
// d/m/yy h:mm; case does not matter.
//
//	yyyy  year, four digits     yy  year, two digits (26 is 2026)
//	mm m  month; minutes after h or before s, as in Excel (hh:mm, mm:ss)
//	dd d  day                   hh h  hour, 0-23 (with am/pm, 1-12)
//	ss s  seconds               am/pm  AM or PM
//
// Days, months, hours, minutes and seconds are read with one digit or
// two whichever is written (3/12/26 9:05 reads with d/m/yy h:mm and with
// dd/mm/yy hh:mm alike), as a spreadsheet shows a date it was given either
// way. Anything else but the separators / - . : , space and T is refused.
func DateLayout(format string) (string, error) {
	if strings.ContainsAny(format, "0123456789") {
		return format, nil
	}
	f := strings.ToLower(format)
	var toks []dateToken
	for i := 0; i < len(f); {
		c := f[i]
		switch {
		case strings.HasPrefix(f[i:], "am/pm"):
			toks = append(toks, dateToken{kind: 'p', text: "PM"})
			i += len("am/pm")
		case strings.IndexByte("ymdhs", c) >= 0:
			j := i
			for j < len(f) && f[j] == c {
				j++
			}
			toks = append(toks, dateToken{kind: c, n: j - i})
			i = j
		case strings.IndexByte("/-.:, T", format[i]) >= 0:
			toks = append(toks, dateToken{text: string(format[i])})
			i++
		default:
			return "", fmt.Errorf("--date-format %q: %q is neither a Go layout nor spreadsheet notation; write it as dd/mm/yyyy hh:mm (or mm/dd/yyyy, d/m/yy h:mm), or as a Go layout such as 02/01/2006 15:04", format, format[i:i+1])
		}
	}
	twelve := strings.Contains(f, "am/pm")
	var b strings.Builder
	seen := map[byte]bool{}
	for i, t := range toks {
		kind := t.kind
		if kind == 'm' && minuteAt(toks, i) {
			kind = 'M'
		}
		if kind != 0 && kind != 'p' && seen[kind] {
			return "", fmt.Errorf("--date-format %q names the %s twice", format, partName[kind])
		}
		seen[kind] = true
		switch kind {
		case 0, 'p':
			b.WriteString(t.text)
		case 'y':
			switch t.n {
			case 4:
				b.WriteString("2006")
			case 2:
				b.WriteString("06")
			default:
				return "", fmt.Errorf("--date-format %q: write the year as yyyy or yy", format)
			}
		case 'm', 'd', 'h', 'M', 's':
			if t.n > 2 {
				return "", fmt.Errorf("--date-format %q: write the %s with one letter or two", format, partName[kind])
			}
			if kind == 'h' && twelve {
				b.WriteString("3")
				continue
			}
			b.WriteString(map[byte]string{'m': "1", 'd': "2", 'h': "15", 'M': "4", 's': "5"}[kind])
		}
	}
	if !seen['y'] || !seen['m'] || !seen['d'] {
		return "", fmt.Errorf("--date-format %q needs a day, a month and a year: dd/mm/yyyy, mm/dd/yyyy or yyyy-mm-dd, with hh:mm after them if the cells hold times", format)
	}
	return b.String(), nil
}

// dateToken is one part of a format in spreadsheet notation.
type dateToken struct {
	kind byte // y, m, d, h, s, p (am/pm), or 0 for a separator
	n    int  // letters in a row
	text string
}

var partName = map[byte]string{'y': "year", 'm': "month", 'd': "day", 'h': "hour", 'M': "minutes", 's': "seconds"}

// minuteAt reports whether the m's at toks[i] are minutes: right after an
// hour, or right before seconds, with only separators between, as Excel
// reads them.
func minuteAt(toks []dateToken, i int) bool {
	for j := i - 1; j >= 0; j-- {
		if k := toks[j].kind; k != 0 {
			if k == 'h' {
				return true
			}
			break
		}
	}
	for j := i + 1; j < len(toks); j++ {
		if k := toks[j].kind; k != 0 {
			return k == 's'
		}
	}
	return false
}
