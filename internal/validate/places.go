package validate

import (
	"math"
	"sort"

	"github.com/reten/reconcile/internal/importer"
)

// rowRef is a row of the batch in 4 bytes: the place's base plus the row number.
type rowRef uint32

// places turns rowRefs back into positions. Each file (and sheet) read gets
// a base: the previous place's base plus its highest row, so a rowRef is a
// base plus a row number and places stay in increasing order of base.
type places struct {
	list []place
}

type place struct {
	file, sheet string
	base        uint64
	maxRow      int
}

// ref returns pos as a rowRef, opening a new place when pos is in another
// file or sheet than the last row's.
func (p *places) ref(pos importer.Position) rowRef {
	n := len(p.list)
	if n == 0 || p.list[n-1].file != pos.File || p.list[n-1].sheet != pos.Sheet || pos.Row < p.list[n-1].maxRow {
		var base uint64
		if n > 0 {
			base = p.list[n-1].base + uint64(p.list[n-1].maxRow) + 1
		}
		p.list = append(p.list, place{file: pos.File, sheet: pos.Sheet, base: base})
		n++
	}
	last := &p.list[n-1]
	last.maxRow = max(last.maxRow, pos.Row)
	ref := last.base + uint64(pos.Row)
	if ref > math.MaxUint32 {
		panic("reconcile: more than 2^32 rows in one batch")
	}
	return rowRef(ref)
}

// position is the inverse of ref.
func (p *places) position(r rowRef) importer.Position {
	i := sort.Search(len(p.list), func(i int) bool { return p.list[i].base > uint64(r) }) - 1
	pl := p.list[i]
	return importer.Position{File: pl.file, Sheet: pl.sheet, Row: int(uint64(r) - pl.base)}
}
