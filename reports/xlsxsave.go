package reports

import (
	"archive/zip"
	"bufio"
	"io"
	"os"
	"path/filepath"

	"github.com/xuri/excelize/v2"
)

// saveXLSX writes f to path without holding the whole workbook in memory.
// excelize's SaveAs zips the workbook into a bytes.Buffer before writing it
// out, so memory would grow with the Rows sheet; with a zip writer of our own
// aimed at the file, the streamed sheet goes from its temporary file to disk in
// chunks and the buffer excelize passes stays empty. (excelize patches that
// buffer only for zip parts over 4 GiB, which a sheet of at most 1,048,576
// rows never reaches.) The workbook is written beside path and renamed, so a
// reader never finds half a file.
func saveXLSX(f *excelize.File, path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*.xlsx")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file private; reports are shared like any other output.
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	bw := bufio.NewWriterSize(tmp, 256<<10)
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(bw) })
	if err := f.Write(io.Discard); err != nil {
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
