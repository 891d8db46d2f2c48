package validate

import (
	"time"

	"github.com/reten/reconcile/internal/api"
	"github.com/reten/reconcile/internal/importer"
)

// The dates of a request as the API wants them, written without the
// general time layout machinery, which showed in profiles.

// canonicalTime is a date value as the API wants it. A cell already written
// that way (2026-04-11T10:30:00.000Z, as exports from programs usually are)
// is sent as it stands, with no new string; the cell parsed as that very
// instant, so formatting it again would give the same text.
func canonicalTime(v *importer.Value) string {
	if s := v.Text; len(s) == 24 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' &&
		s[16] == ':' && s[19] == '.' && s[23] == 'Z' && digits(s[:4]) && digits(s[5:7]) &&
		digits(s[8:10]) && digits(s[11:13]) && digits(s[14:16]) && digits(s[17:19]) && digits(s[20:23]) {
		return s
	}
	return formatTime(v.Time)
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// formatTime is api.FormatTime (UTC, milliseconds, Z) without the layout
// interpretation, which showed in profiles of million-row files.
func formatTime(t time.Time) string {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	if y < 0 || y > 9999 {
		return api.FormatTime(t)
	}
	ms := t.Nanosecond() / 1e6
	var b [24]byte
	put := func(i, v, n int) {
		for j := i + n - 1; j >= i; j-- {
			b[j] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, y, 4)
	b[4] = '-'
	put(5, int(mo), 2)
	b[7] = '-'
	put(8, d, 2)
	b[10] = 'T'
	put(11, h, 2)
	b[13] = ':'
	put(14, mi, 2)
	b[16] = ':'
	put(17, s, 2)
	b[19] = '.'
	put(20, ms, 3)
	b[23] = 'Z'
	return string(b[:])
}
