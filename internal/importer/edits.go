package importer

// Edits are corrections a person made to rows after they were read: each
// row's cells, aligned with the file's columns, by the row number the
// spreadsheet program shows.
type Edits map[int][]string

// EditedRows yields the rows of Rows with Edits put in place of their
// cells. An edited row's Err is cleared: the person has seen the row and
// given every cell.
type EditedRows struct {
	Rows interface {
		Next() (Row, error)
	}
	Edits Edits
}

// Next returns the next row, edited when Edits holds it.
func (e *EditedRows) Next() (Row, error) {
	row, err := e.Rows.Next()
	if err != nil {
		return row, err
	}
	if cells, ok := e.Edits[row.Pos.Row]; ok {
		// Copied at the row's width, so that neither side's later changes
		// reach the other.
		c := make([]string, len(row.Cells))
		copy(c, cells)
		row.Cells, row.Err = c, nil
	}
	return row, nil
}
