package engine

import "github.com/reten/reconcile/internal/importer"

// expectedRows is about how many rows the readers hold together, for the
// sink's Total; 0 unless every one of them can tell.
func expectedRows(readers []*importer.Reader) int {
	total := 0
	for _, r := range readers {
		n := r.ExpectedRows()
		if n == 0 {
			return 0
		}
		total += n
	}
	return total
}
