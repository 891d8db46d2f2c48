package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// normalizer turns cells into Values. It holds the date settings of a read.
type normalizer struct {
	dateFormat string // Options.DateFormat as a Go layout; "" for ISO 8601 only
	dateOnly   string // the date part of dateFormat, tried when a cell has no time
	dateShown  string // Options.DateFormat as the user wrote it, for messages
	loc        *time.Location
}

func newNormalizer(dateFormat string, loc *time.Location) *normalizer {
	if loc == nil {
		loc = time.UTC
	}
	n := &normalizer{dateFormat: dateFormat, dateShown: dateFormat, loc: loc}
	if layout, err := DateLayout(dateFormat); err == nil {
		// A format DateLayout refuses is refused by the front doors
		// before a file is read; here it is taken as a layout.
		n.dateFormat = layout
	}
	if i := strings.IndexByte(n.dateFormat, ' '); i > 0 {
		n.dateOnly = n.dateFormat[:i]
	}
	return n
}

var defaultNormalizer = newNormalizer("", nil)

// value reads one cell as field f.
func (n *normalizer) value(f Field, cell string) Value {
	var v Value
	n.fill(&v, f, cell)
	return v
}

// fill reads one cell as field f into v, which must be the zero Value.
func (n *normalizer) fill(v *Value, f Field, cell string) {
	s := trimSpace(cell)
	if s == "" {
		return
	}
	v.Text = s
	switch f {
	case OccurredAt, FutureScheduledAt:
		v.Time, v.Err = n.date(s)
	case HardOverride:
		v.Bool, v.Err = parseBool(s)
	case RawPayload, Payload:
		v.Text, v.Err = jsonObject(s)
	case Status, ContactType:
		v.Text = enumText(s)
	case ActivityID:
		v.Text = toLower(s)
		v.Err = checkExcelNumber(s)
	case ProviderActivityID, CommerceExternalID, OperatorExternalID:
		v.Err = checkExcelNumber(s)
	}
}

// trimSpace is strings.TrimSpace without the call for the usual cell, which
// starts and ends with a printable ASCII character: a space of any kind is
// below '!' or not ASCII, and a multi-byte character never ends in an ASCII
// byte.
func trimSpace(s string) string {
	if len(s) > 0 && '!' <= s[0] && s[0] < utf8.RuneSelf && '!' <= s[len(s)-1] && s[len(s)-1] < utf8.RuneSelf {
		return s
	}
	return strings.TrimSpace(s)
}

// toLower is strings.ToLower with a faster test for the usual case, ASCII
// with no upper case letter (a UUID as most systems write it), which is
// returned as it is: eight bytes at a time rather than one.
func toLower(s string) string {
	const hi, a, z = 0x8080808080808080, 0x0101010101010101 * (0x80 - 'A'), 0x0101010101010101 * (0x80 - 'Z' - 1)
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		// Bytes below 0x80 only: adding a constant to each cannot carry into
		// the next, and sets a byte's top bit when it is at least 'A', or
		// past 'Z'.
		if w&hi != 0 || (w+a)&^(w+z)&hi != 0 {
			return strings.ToLower(s)
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// isoLayouts are the ISO 8601 forms accepted without --date-format. The ones
// without a zone are read in Options.Location. time.Parse accepts fractional
// seconds after the seconds field even when the layout has none.
var isoLayouts = []struct {
	layout string
	zoned  bool
}{
	{"2006-01-02T15:04:05Z07:00", true},
	{"2006-01-02T15:04Z07:00", true},
	{"2006-01-02T15:04:05", false},
	{"2006-01-02T15:04", false},
	{"2006-01-02", false},
}

// ErrAmbiguousDate is the error of a day/month date read without a DateFormat.
var ErrAmbiguousDate = errors.New("ambiguous date")

// date reads a date cell: ISO 8601 first (with a zone, or in the location),
// then the user's DateFormat, then an Excel serial day number.
func (n *normalizer) date(s string) (time.Time, error) {
	if t, ok := isoUTC(s); ok {
		return t, nil
	}
	if len(s) >= 10 && s[4] == '-' && s[7] == '-' {
		iso := s
		if len(iso) > 10 && iso[10] == ' ' {
			iso = iso[:10] + "T" + iso[11:]
		}
		for _, l := range isoLayouts {
			var t time.Time
			var err error
			if l.zoned {
				t, err = time.Parse(l.layout, iso)
			} else {
				t, err = time.ParseInLocation(l.layout, iso, n.loc)
			}
			if err == nil {
				return t, nil
			}
		}
	}
	if n.dateFormat != "" {
		if t, err := time.ParseInLocation(n.dateFormat, s, n.loc); err == nil {
			return t, nil
		}
		if n.dateOnly != "" {
			if t, err := time.ParseInLocation(n.dateOnly, s, n.loc); err == nil {
				return t, nil
			}
		}
	}
	if t, ok := n.excelSerial(s); ok {
		return t, nil
	}
	if n.dateFormat != "" {
		return time.Time{}, fmt.Errorf("%q matches neither --date-format %q nor ISO 8601 (2026-04-11T10:30:00Z); fix the cell or the --date-format", s, n.dateShown)
	}
	if looksDayMonth(s) {
		return time.Time{}, fmt.Errorf("%w: %q could be day/month or month/day; pass --date-format with your file's layout (dd/mm/yyyy hh:mm for day/month/year, mm/dd/yyyy hh:mm for month/day/year)", ErrAmbiguousDate, s)
	}
	return time.Time{}, fmt.Errorf("%q is not a date; write it as ISO 8601 (2026-04-11T10:30:00Z) or pass --date-format with your file's layout (e.g. dd/mm/yyyy hh:mm)", s)
}

// isoUTC reads the two forms programs export most, 2026-04-11T10:30:00Z
// and 2026-04-11T10:30:00.000Z, without time.Parse's general machinery,
// which showed in profiles of million-row files. Anything else, a date out
// of range included, is left to time.Parse (ok false), which also words the
// error.
func isoUTC(s string) (t time.Time, ok bool) {
	if len(s) != 20 && (len(s) != 24 || s[19] != '.') || s[len(s)-1] != 'Z' ||
		s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(from, to int) int {
		v := 0
		for i := from; i < to; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				ok = false
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	ok = true
	y, mo, d := num(0, 4), num(5, 7), num(8, 10)
	h, mi, sec := num(11, 13), num(14, 16), num(17, 19)
	ms := 0
	if len(s) == 24 {
		ms = num(20, 23)
	}
	if !ok || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	if d > daysIn(mo, y) { // 31 April is not 1 May
		return time.Time{}, false
	}
	// The instant from the civil date directly, the same Time as time.Date
	// gives in UTC: time.Date and the Day check took most of this
	// function's time in profiles of million-row files.
	secs := (civilDays(y, mo, d)*24+int64(h))*3600 + int64(mi)*60 + int64(sec)
	return time.Unix(secs, int64(ms)*1e6).UTC(), true
}

// daysIn is the number of days of month mo (1-12) of year y.
func daysIn(mo, y int) int {
	switch mo {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// civilDays is the number of days from 1970-01-01 to the date y-mo-d of
// the proleptic Gregorian calendar (y 0 to 9999; H. Hinnant's
// days_from_civil), negative before it.
func civilDays(y, mo, d int) int64 {
	if mo <= 2 {
		y--
	}
	era := (y+400)/400 - 1 // floor(y/400) for y >= -1
	yoe := y - era*400
	mp := (mo + 9) % 12 // March is 0
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// looksDayMonth reports whether s starts like 03/04/2026 or 3-4-26: two small
// numbers and a year, which could be read either way round.
func looksDayMonth(s string) bool {
	parts := 0
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			digits++
		case c == '/' || c == '.' || c == '-':
			if digits == 0 || digits > 2 {
				return false
			}
			parts++
			digits = 0
			if parts == 2 {
				return true
			}
		default:
			return false
		}
	}
	return false
}

// excelEpoch is day 0 of Excel's 1900 date system, as its serials count it
// (the 1900 leap-day bug makes it 30 December 1899 for every date after
// February 1900).
var excelEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)

// Serial days accepted as dates: 1950-01-01 to 2100-01-01. A number outside
// that in a date column is more likely an id or a Unix time than a date.
const (
	minSerial = 18264
	maxSerial = 73051
)

// excelSerial reads an Excel serial day number (46123.4375), the form a date
// takes when a sheet saves it without a date format. The wall clock it stands
// for is read in the location.
func (n *normalizer) excelSerial(s string) (time.Time, bool) {
	if s[0] < '0' || s[0] > '9' {
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < minSerial || f >= maxSerial {
		return time.Time{}, false
	}
	days := math.Floor(f)
	ms := math.Round((f - days) * 86400e3)
	wall := excelEpoch.AddDate(0, 0, int(days)).Add(time.Duration(ms) * time.Millisecond)
	y, mo, d := wall.Date()
	h, mi, sec := wall.Clock()
	return time.Date(y, mo, d, h, mi, sec, wall.Nanosecond(), n.loc), true
}

// parseBool accepts the ways spreadsheets in English and Spanish write a yes or no.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "true", "1", "yes", "y", "si", "sí", "s", "verdadero", "x":
		return true, nil
	case "false", "0", "no", "n", "falso":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a yes or no; write true or false (also 1/0, yes/no, sí/no, verdadero/falso)", s)
}

// jsonObject checks that s is a JSON object and returns it compacted.
func jsonObject(s string) (string, error) {
	if s[0] != '{' {
		return s, fmt.Errorf("%q is not a JSON object; write it as {\"key\": \"value\"} or leave the cell empty", abbreviate(s))
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(s)); err != nil {
		return s, fmt.Errorf("is not valid JSON (%v); write it as {\"key\": \"value\"} or leave the cell empty", err)
	}
	return buf.String(), nil
}

// enumText puts an enum value in the contract's form: "not effective" and
// "Not-Effective" both become NOT_EFFECTIVE.
func enumText(s string) string {
	clean := true
	for i := 0; i < len(s) && clean; i++ {
		c := s[i]
		clean = 'A' <= c && c <= 'Z' || c == '_'
	}
	if clean {
		return s // the usual case, without allocating
	}
	b := []byte(strings.ToUpper(s))
	for i, c := range b {
		if c == ' ' || c == '-' {
			b[i] = '_'
		}
	}
	return string(b)
}

// checkExcelNumber catches an identifier Excel has shown in scientific
// notation (1.23457E+11): its digits are gone and cannot be recovered, so the
// row must not be sent. Leading zeros Excel dropped cannot be told from an id
// that never had them, so those are never added back.
func checkExcelNumber(s string) error {
	// Excel writes at most 15 significant digits: anything longer, or not
	// starting like a number, is not one of its scientific notations.
	if len(s) > 22 || (s[0] < '0' || s[0] > '9') && s[0] != '-' {
		return nil
	}
	i := strings.IndexAny(s, "eE")
	if i <= 0 || i+2 >= len(s) || (s[i+1] != '+' && s[i+1] != '-') {
		return nil
	}
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		return nil
	}
	return fmt.Errorf("%q is a number Excel shortened to scientific notation, and its digits are lost; format the column as Text in the source and export the file again", s)
}

func abbreviate(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}
