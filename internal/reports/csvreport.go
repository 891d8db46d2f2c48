package reports

import (
	"bufio"
	"os"
)

// utf8BOM makes Excel read report.csv as UTF-8 (without it, accents show as
// mojibake in Excel on Windows).
const utf8BOM = "\xEF\xBB\xBF"

// csvReport is report.csv: UTF-8 with BOM, comma (or Options.Delimiter) separated, CRLF line ends,
// every cell neutralised against formula injection.
type csvReport struct {
	f   *os.File
	buf *bufio.Writer
	w   *csvWriter
	rec []string
}

func createCSVReport(path string, names []string, comma rune) (*csvReport, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	r := &csvReport{f: f, buf: bufio.NewWriterSize(fileWriter(CSVName, f), 64<<10), rec: make([]string, len(names))}
	r.buf.WriteString(utf8BOM)
	r.w = newCSVWriter(r.buf, comma)
	if err := r.write(names); err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// write neutralises and writes one record. The csv.Writer buffers into bufio,
// which reaches the disk every 64 KiB, so memory stays flat.
func (r *csvReport) write(cells []string) error {
	for i, c := range cells {
		r.rec[i] = Neutralise(c)
	}
	return r.w.write(r.rec)
}

func (r *csvReport) close() error {
	err := r.buf.Flush()
	if e := r.f.Close(); err == nil {
		err = e
	}
	return err
}
