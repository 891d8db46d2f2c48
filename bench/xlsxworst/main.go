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
	"strconv"
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

// writeLongCells writes a sheet of about size bytes of rows of results,
// each with cells comment cells of cellLen characters, compressed about
// ratio times.
func writeLongCells(path string, size int64, cellLen, cells int, ratio float64) error {
	return workbook(path, func(zw *zip.Writer, packed *counter) error {
		var notes []string
		for i := 2; i <= cells; i++ {
			notes = append(notes, "note"+strconv.Itoa(i))
		}
		p, err := inlineSheet(zw, notes)
		if err != nil {
			return err
		}
		start := packed.n
		t := &texter{rng: rand.New(rand.NewPCG(1, 2)), ratio: ratio, random: 0.01}
		for r := 2; p.size < size-int64(cells*cellLen); r++ {
			p.WriteString(`<row r="` + strconv.Itoa(r) + `">` + resultCells(r))
			for range cells {
				p.WriteString(inline(t.cell(cellLen, p.size, packed.n-start)))
			}
			p.WriteString(`</row>`)
		}
		p.WriteString(sheetTail)
		return p.w.Flush()
	})
}

// inlineSheet starts a sheet of inline texts, with no shared strings: its
// header row is header, then more.
func inlineSheet(zw *zip.Writer, more []string) (*part, error) {
	if err := writeWhole(zw, stringsPart, emptyStrings); err != nil {
		return nil, err
	}
	p, err := createPart(zw, sheetPart)
	if err != nil {
		return nil, err
	}
	p.WriteString(sheetHead + `<row r="1">`)
	for _, h := range append(slices.Clone(header), more...) {
		p.WriteString(inline(h))
	}
	p.WriteString(`</row>`)
	return p, nil
}

func writeWhole(zw *zip.Writer, name, text string) error {
	w, err := zw.Create(name)
	if err == nil {
		_, err = io.WriteString(w, text)
	}
	return err
}

// writeInMemory writes a workbook whose parts excelize holds in memory
// (all but sheets and shared strings over 4 MiB) come to total bytes: a
// sheet of results just under 4 MiB, and stored random bytes as images
// for the rest.
func writeInMemory(path string, total int64) error {
	return workbook(path, func(zw *zip.Writer, packed *counter) error {
		p, err := inlineSheet(zw, nil)
		if err != nil {
			return err
		}
		rng := rand.New(rand.NewPCG(3, 4))
		for r := 2; p.size < memorySheet-4096; r++ {
			comment := make([]byte, 200)
			for i := range comment {
				comment[i] = alphabet[rng.IntN(len(alphabet))]
			}
			p.WriteString(`<row r="` + strconv.Itoa(r) + `">` + resultCells(r) + inline(string(comment)) + `</row>`)
		}
		p.WriteString(sheetTail)
		if err := p.w.Flush(); err != nil {
			return err
		}
		// What the other parts already hold: excelize's workbook, styles,
		// theme, and the sheet just written.
		held := p.size + int64(len(emptyStrings)) + baseParts()
		return writeMedia(zw, held, total, rng)
	})
}

// writeMedia adds stored random bytes as images to a workbook whose parts
// held in memory come to held bytes, until they come to total.
func writeMedia(zw *zip.Writer, held, total int64, rng *rand.Rand) error {
	noise := make([]byte, mib)
	for i := 0; held < total; i++ {
		n := min(total-held, 8*mib)
		w, err := zw.CreateHeader(&zip.FileHeader{Name: "xl/media/image" + strconv.Itoa(i+1) + ".png", Method: zip.Store})
		if err != nil {
			return err
		}
		for left := n; left > 0; left -= int64(len(noise)) {
			for j := 0; j < len(noise); j += 8 {
				v := rng.Uint64()
				for k := range 8 {
					noise[j+k] = byte(v >> (8 * k))
				}
			}
			if _, err := w.Write(noise[:min(left, int64(len(noise)))]); err != nil {
				return err
			}
		}
		held += n
	}
	return nil
}

// writeDecoded writes a workbook whose parts excelize decodes whole come to
// decoded bytes: shared strings just under 4 MiB (short, distinct, held in
// memory), and cell styles for the rest (an xf element of a random number
// format each); and whose parts held in memory come to inMemory bytes: a
// sheet just under 4 MiB using the strings, and stored random bytes as
// images.
func writeDecoded(path string, decoded, inMemory int64) error {
	const stylesPart = "xl/styles.xml"
	return workbook(path, func(zw *zip.Writer, packed *counter) error {
		rows := 0
		s, err := writeStrings(zw, func(s *part) {
			for ; s.size < memorySheet-4096; rows++ {
				s.si(uuid(rows + 2))
				s.si(fmt.Sprintf("C%d", rows+2))
			}
		})
		if err != nil {
			return err
		}
		p, err := writeRefSheet(zw, rows, 2, memorySheet-4096)
		if err != nil {
			return err
		}
		styles := baseText(stylesPart)
		end := strings.Index(styles, "</cellXfs>")
		if end < 0 {
			return fmt.Errorf("excelize's styles have no cellXfs")
		}
		st, err := createPart(zw, stylesPart)
		if err != nil {
			return err
		}
		st.WriteString(styles[:end])
		// The other parts decoded whole: workbook, theme, relationships,
		// content types (docProps are not read).
		others := baseParts() - int64(len(styles)) - int64(len(baseText("docProps/app.xml"))) - int64(len(baseText("docProps/core.xml")))
		rng := rand.New(rand.NewPCG(7, 8))
		for s.size+others+st.size+int64(len(styles)-end) < decoded-200 {
			st.WriteString(fmt.Sprintf(`<xf numFmtId="%d" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"><alignment indent="%d" textRotation="%d"/></xf>`,
				rng.IntN(50), rng.IntN(250), rng.IntN(180)))
		}
		st.WriteString(styles[end:])
		if err := st.w.Flush(); err != nil {
			return err
		}
		return writeMedia(zw, baseParts()-int64(len(styles))+s.size+p.size+st.size, inMemory, rng)
	}, stylesPart)
}

// baseText is the text of excelize's new workbook's part name.
func baseText(name string) string {
	f := excelize.NewFile()
	f.SetCellValue("Sheet1", "A1", "x")
	buf, _ := f.WriteToBuffer()
	f.Close()
	zr, _ := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	for _, zf := range zr.File {
		if zf.Name == name {
			rc, _ := zf.Open()
			b, _ := io.ReadAll(rc)
			rc.Close()
			return string(b)
		}
	}
	return ""
}

// baseParts is the uncompressed size of excelize's new workbook but its
// sheet and shared strings.
func baseParts() int64 {
	f := excelize.NewFile()
	f.SetCellValue("Sheet1", "A1", "x")
	buf, _ := f.WriteToBuffer()
	f.Close()
	zr, _ := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	var n int64
	for _, zf := range zr.File {
		if zf.Name != sheetPart && zf.Name != stringsPart {
			n += int64(zf.UncompressedSize64)
		}
	}
	return n
}

// writeSharedStrings writes a workbook of n shared strings: the header's,
// two for status and result, and three of each row's (activity id,
// commerce id, comment) for as many rows as they make, the last few unused.
func writeSharedStrings(path string, n int) error {
	return workbook(path, func(zw *zip.Writer, packed *counter) error {
		rows := (n - len(fixed)) / 3
		if _, err := writeStrings(zw, func(s *part) {
			for r := range rows {
				s.si(uuid(r + 2))
				s.si(fmt.Sprintf("COM-%07d", r+2))
				s.si(fmt.Sprintf("visit %d, customer asked for a call", r+2))
			}
			for i := len(fixed) + 3*rows; i < n; i++ {
				s.si(fmt.Sprintf("unused %d", i))
			}
		}); err != nil {
			return err
		}
		_, err := writeRefSheet(zw, rows, 3, 1<<62)
		return err
	})
}

// fixed is the shared strings every workbook of them starts with.
var fixed = append(slices.Clone(header), "EFFECTIVE", "SALE_COMPLETED")

func (p *part) si(text string) { p.WriteString("<si><t>" + text + "</t></si>") }

// writeStrings writes a shared strings part: fixed, then what more adds.
func writeStrings(zw *zip.Writer, more func(*part)) (*part, error) {
	s, err := createPart(zw, stringsPart)
	if err != nil {
		return nil, err
	}
	s.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" +
		`<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`)
	for _, h := range fixed {
		s.si(h)
	}
	more(s)
	s.WriteString(`</sst>`)
	return s, s.w.Flush()
}

// writeRefSheet writes a sheet of up to rows results, as long as it is
// under size bytes, whose texts are shared strings: row r's first perRow
// strings after fixed are its activity id, commerce id and (of three)
// comment.
func writeRefSheet(zw *zip.Writer, rows, perRow int, size int64) (*part, error) {
	p, err := createPart(zw, sheetPart)
	if err != nil {
		return nil, err
	}
	ref := func(i int) string { return `<c t="s"><v>` + strconv.Itoa(i) + `</v></c>` }
	p.WriteString(sheetHead + `<row r="1">`)
	for i := range header {
		p.WriteString(ref(i))
	}
	p.WriteString(`</row>`)
	for r := 0; r < rows && p.size < size; r++ {
		first := len(fixed) + perRow*r
		p.WriteString(`<row r="` + strconv.Itoa(r+2) + `">` + ref(first) + ref(first+1) + inline("2026-04-11T10:30:00Z") +
			ref(len(header)) + ref(len(header)+1))
		if perRow > 2 {
			p.WriteString(ref(first + 2))
		}
		p.WriteString(`</row>`)
	}
	p.WriteString(sheetTail)
	return p, p.w.Flush()
}

// writeWide writes a sheet of cols columns, the contract's first, and rows
// data rows of random numbers beyond them.
func writeWide(path string, cols, rows int) error {
	return workbook(path, func(zw *zip.Writer, packed *counter) error {
		var more []string
		for c := len(header); c < cols; c++ {
			more = append(more, "c"+strconv.Itoa(c+1))
		}
		p, err := inlineSheet(zw, more)
		if err != nil {
			return err
		}
		rng := rand.New(rand.NewPCG(5, 6))
		for r := 2; r <= rows+1; r++ {
			p.WriteString(`<row r="` + strconv.Itoa(r) + `">` + resultCells(r) + inline("wide"))
			for c := len(header); c < cols; c++ {
				p.WriteString(`<c><v>` + strconv.Itoa(rng.IntN(1_000_000)) + `</v></c>`)
			}
			p.WriteString(`</row>`)
		}
		p.WriteString(sheetTail)
		return p.w.Flush()
	})
}
