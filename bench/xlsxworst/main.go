// Command xlsxworst writes the workbooks bench/xlsx-bounds.sh measures: for
// each bound the importer puts on a workbook (internal/importer/xlsxlimits.go
// and the unzip and column limits), the worst workbook reconcile still
// accepts, just under the bound, and one just over it, which it refuses.
//
//	go run ./bench/xlsxworst -dir bench/out/xlsx-bounds            # every case
//	go run ./bench/xlsxworst -dir DIR -case cell-under,cell-over
//	go run ./bench/xlsxworst -list                                  # the cases
//
// Each workbook is one excelize made (so its workbook, styles and
// relationships are real), with its sheet, shared strings or media replaced
// by parts streamed into archive/zip, as the importer's xlsxlimits_test.go
// builds its bombs: a gigabyte is written without being held. Sheets over
// 4 MiB are compressed to a chosen ratio (uncompressed over compressed) by
// mixing random text into repetitive text as they are written, so that the
// large sheets sit just under the 100x the importer accepts.
package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/reten/reconcile/internal/importer"
	"github.com/xuri/excelize/v2"
)

const (
	mib = 1 << 20
	// The importer's bounds (internal/importer/xlsxlimits.go, xlsx.go).
	unzipLimit    = importer.DefaultUnzipLimit
	maxRatio      = 100
	maxInMemory   = 32 * mib
	memorySheet   = 4 * mib // parts over this are unzipped to a file
	maxDecoded    = 8 * mib
	maxSegment    = 1 * mib
	maxRowBytes   = 8 * mib
	maxSharedStrs = 2_000_000
)

// A workbook case: its name, whether reconcile should accept it, and what
// writes it.
type workbookCase struct {
	name   string
	accept bool
	what   string
	write  func(path string) error
}

var cases = []workbookCase{
	{"sheet-under", true, "one sheet of 1,016 MiB of 32,767-character cells at 97x, under the 1 GiB unzip limit and the 100x ratio", func(p string) error {
		return writeLongCells(p, 1016*mib, 32767, 1, 97)
	}},
	{"ratio-over", false, "a sheet of 256 MiB at 104x", func(p string) error {
		return writeLongCells(p, 256*mib, 32767, 1, 104)
	}},
	{"unzip-over", false, "a sheet of 1,032 MiB at 90x, over the 1 GiB unzip limit", func(p string) error {
		return writeLongCells(p, 1032*mib, 32767, 1, 90)
	}},
	{"memory-under", true, "parts held in memory 64 KiB under 32 MiB: a 4 MiB sheet and media", func(p string) error {
		return writeInMemory(p, maxInMemory-64<<10)
	}},
	{"decoded-under", true, "parts decoded whole 64 KiB under 8 MiB (4 MiB of shared strings, the rest cell styles), with a 4 MiB sheet and media to 64 KiB under 32 MiB in memory", func(p string) error {
		return writeDecoded(p, maxDecoded-64<<10, maxInMemory-64<<10)
	}},
	{"decoded-over", false, "parts decoded whole 1 MiB over 8 MiB", func(p string) error {
		return writeDecoded(p, maxDecoded+mib, maxDecoded+mib)
	}},
	{"memory-over", false, "parts held in memory 1 MiB over 32 MiB", func(p string) error {
		return writeInMemory(p, maxInMemory+mib)
	}},
	{"strings-under", true, "1,999,999 shared strings, 666,661 rows", func(p string) error {
		return writeSharedStrings(p, maxSharedStrs-1)
	}},
	{"strings-over", false, "2,000,001 shared strings", func(p string) error {
		return writeSharedStrings(p, maxSharedStrs+1)
	}},
	{"cell-under", true, "256 rows, each with a cell of 1 MiB less 64 bytes, at 50x", func(p string) error {
		return writeLongCells(p, 256*mib, maxSegment-64, 1, 50)
	}},
	{"cell-over", false, "rows with a cell of 1 MiB and 64 bytes", func(p string) error {
		return writeLongCells(p, 64*mib, maxSegment+64, 1, 50)
	}},
	{"row-under", true, "32 rows, each of 8 cells of 1,040,000 characters: 8 MiB less 64 KiB a row, at 50x", func(p string) error {
		return writeLongCells(p, 256*mib, 1_040_000, 8, 50)
	}},
	{"row-over", false, "rows of 9 cells of 1,000,000 characters, over 8 MiB a row", func(p string) error {
		return writeLongCells(p, 64*mib, 1_000_000, 9, 50)
	}},
	{"wide-under", true, fmt.Sprintf("%d columns (importer.MaxColumns), 300 rows of numbers", importer.MaxColumns), func(p string) error {
		return writeWide(p, importer.MaxColumns, 300)
	}},
	{"wide-over", false, fmt.Sprintf("%d columns", importer.MaxColumns+1), func(p string) error {
		return writeWide(p, importer.MaxColumns+1, 2)
	}},
}

func main() {
	dir := flag.String("dir", "bench/out/xlsx-bounds", "write the workbooks into this folder, as CASE.xlsx")
	only := flag.String("case", "", "comma-separated cases to write (default: all)")
	list := flag.Bool("list", false, "print each case as: name accept|refuse description, and exit")
	force := flag.Bool("force", false, "write a workbook even if it exists")
	flag.Parse()
	if *list {
		for _, c := range cases {
			verdict := "refuse"
			if c.accept {
				verdict = "accept"
			}
			fmt.Printf("%s %s %s\n", c.name, verdict, c.what)
		}
		return
	}
	want := strings.FieldsFunc(*only, func(r rune) bool { return r == ',' })
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		log.Fatal(err)
	}
	for _, c := range cases {
		if len(want) > 0 && !slices.Contains(want, c.name) {
			continue
		}
		path := filepath.Join(*dir, c.name+".xlsx")
		if _, err := os.Stat(path); err == nil && !*force {
			continue
		}
		if err := c.write(path + ".tmp"); err != nil {
			log.Fatalf("%s: %v", c.name, err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			log.Fatal(err)
		}
		log.Printf("wrote %s: %s", path, c.what)
	}
	for _, name := range want {
		if !slices.ContainsFunc(cases, func(c workbookCase) bool { return c.name == name }) {
			log.Fatalf("no case %q; -list shows them", name)
		}
	}
}

const (
	sheetPart   = "xl/worksheets/sheet1.xml"
	stringsPart = "xl/sharedStrings.xml"
	sheetHead   = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" +
		`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`
	sheetTail = `</sheetData></worksheet>`
)

// header is the contract's columns every sheet starts with.
var header = []string{"activity_id", "commerce_external_id", "occurred_at", "status", "result", "comment"}

// workbook writes a workbook at path: excelize's new workbook (with a shared
// strings part, so that its relationships name one) with the parts that
// write writes added or put in place of excelize's.
func workbook(path string, write func(zw *zip.Writer, packed *counter) error, replaced ...string) error {
	f := excelize.NewFile()
	f.SetCellValue("Sheet1", "A1", "x")
	buf, err := f.WriteToBuffer()
	f.Close()
	if err != nil {
		return err
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		return err
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer out.Close()
	packed := &counter{w: bufio.NewWriterSize(out, 1<<20)}
	zw := zip.NewWriter(packed)
	for _, zf := range zr.File {
		if zf.Name == sheetPart || zf.Name == stringsPart || slices.Contains(replaced, zf.Name) {
			continue
		}
		if err := zw.Copy(zf); err != nil {
			return err
		}
	}
	if err := write(zw, packed); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := packed.w.(*bufio.Writer).Flush(); err != nil {
		return err
	}
	return out.Close()
}

// emptyStrings is a shared strings part with none, for the sheets that
// write their text inline.
const emptyStrings = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" +
	`<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="0" uniqueCount="0"></sst>`

// counter counts the bytes written through it: the compressed size of
// what the zip writer has written.
type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// part is a zip part being written, with its uncompressed size.
type part struct {
	w    *bufio.Writer
	size int64
}

func (p *part) WriteString(s string) {
	n, _ := p.w.WriteString(s)
	p.size += int64(n)
}

func createPart(zw *zip.Writer, name string) (*part, error) {
	w, err := zw.Create(name)
	if err != nil {
		return nil, err
	}
	return &part{w: bufio.NewWriterSize(w, 256<<10)}, nil
}

func inline(s string) string {
	return `<c t="inlineStr"><is><t>` + s + `</t></is></c>`
}

func uuid(i int) string {
	return fmt.Sprintf("%08x-%04x-5%03x-a%03x-%012x", uint32(i)*2654435761, i&0xffff, i&0xfff, (i>>12)&0xfff, i)
}

// resultCells is the first five cells of data row i, a valid result.
func resultCells(i int) string {
	return inline(uuid(i)) + inline(fmt.Sprintf("COM-%04d", i%5000)) + inline("2026-04-11T10:30:00Z") +
		inline("EFFECTIVE") + inline("SALE_COMPLETED")
}

// texter writes cells of text whose sheet compresses about ratio times: a
// random part (base-36 words, about 1.5x) and a repetitive rest (hundreds
// of times), the random share steered after every cell by the ratio so far.
type texter struct {
	rng    *rand.Rand
	ratio  float64
	random float64 // share of each cell that is random
	buf    []byte
}

const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

func (t *texter) cell(n int, unpacked, packed int64) string {
	if packed > 0 {
		if float64(unpacked)/float64(packed) > t.ratio {
			t.random = min(t.random*1.02, 1)
		} else {
			t.random = max(t.random/1.02, 1e-5)
		}
	}
	t.buf = t.buf[:0]
	r := int(float64(n) * t.random)
	for i := range r {
		if i%8 == 7 {
			t.buf = append(t.buf, ' ')
		} else {
			t.buf = append(t.buf, alphabet[t.rng.IntN(len(alphabet))])
		}
	}
	for len(t.buf) < n {
		t.buf = append(t.buf, " -"...)
	}
	return string(t.buf[:n])
}
