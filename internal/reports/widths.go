package reports

import (
	"unicode/utf8"

	"github.com/reten/reconcile/internal/importer"
)

// valueWidth is the width, in characters, of the values of fields whose
// length is known: UUIDs and ISO 8601 dates as they are sent.
var valueWidth = map[importer.Field]float64{
	importer.ActivityID:        38,
	importer.OccurredAt:        26,
	importer.FutureScheduledAt: 26,
}

// columnWidths sizes the Rows sheet's columns from what is known before the
// first row: header names and file names, within bounds that keep a row on screen.
func (w *Writer) columnWidths() []float64 {
	widths := make([]float64, len(w.hdr.names))
	for i, n := range w.hdr.names {
		widths[i] = float64(min(max(utf8.RuneCountInString(n)+4, 10), 30))
		if w.numeric[i] {
			widths[i] = float64(max(utf8.RuneCountInString(n)+3, 8))
		}
	}
	// Columns whose values have a known length are made wide enough for
	// them, whatever their header: a UUID cut short reads as another id.
	for _, l := range w.info.Layouts {
		slots, ok := w.hdr.slotsFor(l)
		if !ok {
			continue
		}
		for c, f := range l.Fields {
			if c < len(slots) && valueWidth[f] > 0 && !w.numeric[slots[c]] {
				widths[slots[c]] = max(widths[slots[c]], valueWidth[f])
			}
		}
	}
	if w.hdr.hasFile {
		longest := 0
		for _, l := range w.info.Layouts {
			longest = max(longest, utf8.RuneCountInString(l.File))
		}
		widths[fileAt] = float64(min(longest+2, 40))
	}
	widths[colOutcome] = 12
	widths[colCode] = 18
	widths[colMessage] = 60
	widths[w.hdr.tail+colError] = 20
	return widths
}
