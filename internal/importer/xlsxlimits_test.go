package importer

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/xuri/excelize/v2"
)

// repeatReader reads head, then body n times, then tail, making a large
// part without holding it.
func repeatReader(head, body, tail string, n int) io.Reader {
	return io.MultiReader(strings.NewReader(head), &repeated{s: body, n: n}, strings.NewReader(tail))
}

type repeated struct {
	s   string
	n   int
	off int
}

func (r *repeated) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := 0
	for k < len(p) && r.n > 0 {
		c := copy(p[k:], r.s[r.off:])
		k += c
		if r.off += c; r.off == len(r.s) {
			r.off = 0
			r.n--
		}
	}
	return k, nil
}

// bombWorkbookRaw is bombWorkbook with each of raws stored as the deflated
// bytes packed of size bytes (crc their checksum), compressed once.
func bombWorkbookRaw(t testing.TB, raws map[string]func() io.Reader, packed []byte, size uint64, crc uint32) string {
	t.Helper()
	path := bombWorkbook(t, nil)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	zw := zip.NewWriter(out)
	for _, zf := range zr.File {
		if err := zw.Copy(zf); err != nil {
			t.Fatal(err)
		}
	}
	for name := range raws {
		w, err := zw.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Deflate, CRC32: crc, CompressedSize64: uint64(len(packed)), UncompressedSize64: size})
		if err == nil {
			_, err = w.Write(packed)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// bombWorkbook writes a valid workbook with a header row and one data row,
// then has each of parts replaced or added, deflated, as its reader gives.
func bombWorkbook(t testing.TB, parts map[string]func() io.Reader) string {
	t.Helper()
	f := excelize.NewFile()
	f.SetSheetRow("Sheet1", "A1", &[]any{"activity_id", "commerce_external_id", "occurred_at", "status", "result"})
	f.SetSheetRow("Sheet1", "A2", &[]any{"8a2da0ef-e94a-5f98-ad28-4741ec9a5245", "C-1", "2026-04-11T10:30:00Z", "EFFECTIVE", "x"})
	buf, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, "bomb.xlsx", nil)
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(out)
	copyPart := func(name string, r io.Reader) {
		w, err := zw.Create(name)
		if err == nil {
			_, err = io.Copy(w, r)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, zf := range zr.File {
		if _, replaced := parts[zf.Name]; replaced {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		copyPart(zf.Name, rc)
		rc.Close()
	}
	for name, r := range parts {
		copyPart(name, r())
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	out.Close()
	return path
}

const sheetHead = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`

// Bombs well under the 1 GiB unzip limit are refused from the zip's
// directory, before anything is unzipped, naming the file and the part.
func TestXLSXZipBombs(t *testing.T) {
	row := `<row><c t="inlineStr"><is><t>8a2da0ef-e94a-5f98-ad28-4741ec9a5245</t></is></c><c t="inlineStr"><is><t>C-1</t></is></c></row>`
	tests := []struct {
		name  string
		parts map[string]func() io.Reader
		has   string
	}{
		{"worksheet", map[string]func() io.Reader{"xl/worksheets/sheet1.xml": func() io.Reader {
			return repeatReader(sheetHead, row, "</sheetData></worksheet>", 24<<20/len(row))
		}}, "its part xl/worksheets/sheet1.xml would unzip to 24 MiB"},
		{"shared strings", map[string]func() io.Reader{"xl/sharedStrings.xml": func() io.Reader {
			return repeatReader(`<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`, "<si><t>a</t></si>", "</sst>", 8<<20/17)
		}}, "xl/sharedStrings.xml would unzip"},
		{"styles", map[string]func() io.Reader{"xl/styles.xml": func() io.Reader {
			return repeatReader(`<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><!--`, "          ", "--></styleSheet>", 8<<20/10)
		}}, "xl/styles.xml would unzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := bombWorkbook(t, tt.parts)
			if fi, _ := os.Stat(path); fi.Size() > 2<<20 {
				t.Fatalf("the bomb is %d bytes on disk", fi.Size())
			}
			spills := t.TempDir()
			_, err := Open(path, Options{SpillDir: spills})
			if err == nil || !strings.Contains(err.Error(), "bomb.xlsx") || !strings.Contains(err.Error(), tt.has) || !strings.Contains(err.Error(), "save the sheet as .csv") {
				t.Errorf("err = %v", err)
			}
			if left, _ := os.ReadDir(spills); len(left) != 0 {
				t.Errorf("left in the spill folder: %v", left)
			}
		})
	}

	// Parts each small enough to inflate as they like, but together more
	// than reconcile holds in memory: one compressed part, stored 19 times.
	var packed bytes.Buffer
	fw, _ := flate.NewWriter(&packed, flate.BestSpeed)
	io.Copy(fw, repeatReader("", "\x00", "", 4<<20))
	fw.Close()
	many := map[string]func() io.Reader{}
	for i := 2; i <= 20; i++ {
		many["xl/media/image"+strconv.Itoa(i)+".png"] = nil
	}
	_, err := Open(bombWorkbookRaw(t, many, packed.Bytes(), 4<<20, crc32.ChecksumIEEE(make([]byte, 4<<20))), Options{})
	if err == nil || !strings.Contains(err.Error(), "unzip to 76 MiB") || !strings.Contains(err.Error(), "new workbook") {
		t.Errorf("many parts: err = %v", err)
	}

	// Parts excelize decodes whole, plausible each but too many together
	// for the memory their structs take: refused from the directory.
	decoded := map[string]func() io.Reader{"xl/calcChain.xml": nil, "xl/theme/theme2.xml": nil}
	// Never unzipped, so any bytes do, as many as a 20x part packs to.
	noise := make([]byte, 5<<20/20)
	rand.NewChaCha8([32]byte{}).Read(noise)
	_, err = Open(bombWorkbookRaw(t, decoded, noise, 5<<20, 0), Options{})
	if err == nil || !strings.Contains(err.Error(), "parts read whole") || !strings.Contains(err.Error(), "unzip to 10.0 MiB") ||
		!strings.Contains(err.Error(), "alone 5.0 MiB") || !strings.Contains(err.Error(), "paste values only") {
		t.Errorf("decoded parts: err = %v", err)
	}
}

// A workbook whose parts are plausible is read, and nothing is left of
// the folder excelize unzipped its large sheet into.
func TestXLSXLargeSheetAccepted(t *testing.T) {
	// Over xlsxMemoryLimit (lowered), so excelize unzips it to a file.
	defer func(n int64) { xlsxMemoryLimit = n }(xlsxMemoryLimit)
	xlsxMemoryLimit = 1 << 20
	var b strings.Builder
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		words := make([]string, 1000)
		for w := range words {
			words[w] = strconv.FormatUint(rng.Uint64()>>40, 36)
		}
		note := strings.Join(words, " ")
		n := strconv.Itoa(i + 3)
		b.WriteString(`<row r="` + n + `"><c r="A` + n + `" t="inlineStr"><is><t>8a2da0ef-e94a-5f98-ad28-`)
		b.WriteString(strings.Repeat("0", 12-len(strconv.Itoa(i))) + strconv.Itoa(i))
		b.WriteString(`</t></is></c><c r="F` + n + `" t="inlineStr"><is><t>` + note + `</t></is></c></row>`)
	}
	body := b.String()
	head := sheetHead + `<row r="1"><c r="A1" t="inlineStr"><is><t>activity_id</t></is></c><c r="B1" t="inlineStr"><is><t>commerce_external_id</t></is></c>` +
		`<c r="C1" t="inlineStr"><is><t>occurred_at</t></is></c><c r="D1" t="inlineStr"><is><t>status</t></is></c><c r="E1" t="inlineStr"><is><t>result</t></is></c><c r="F1" t="inlineStr"><is><t>comment</t></is></c></row>`
	path := bombWorkbook(t, map[string]func() io.Reader{"xl/worksheets/sheet1.xml": func() io.Reader {
		return repeatReader(head, body, "</sheetData></worksheet>", 1)
	}})
	spills := t.TempDir()
	r, err := Open(path, Options{SpillDir: spills})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		if _, err := r.Next(); err != nil {
			break
		}
		n++
	}
	if left, _ := os.ReadDir(spills); len(left) != 1 {
		t.Errorf("while reading, the spill folder holds %v; want excelize's folder", left)
	} else if inside, _ := os.ReadDir(filepath.Join(spills, left[0].Name())); len(inside) == 0 {
		t.Errorf("the sheet was not unzipped into %s", left[0].Name())
	}
	r.Close()
	if n != 300 {
		t.Errorf("%d rows", n)
	}
	if left, _ := os.ReadDir(spills); len(left) != 0 {
		t.Errorf("after Close the spill folder holds %v", left)
	}
}

// What the zip's directory cannot show is found by reading the sheet and
// the shared strings through before excelize does: a cell of megabytes, a
// row of megabytes, more shared strings than are held in memory.
func TestXLSXHugeCellsRowsAndStrings(t *testing.T) {
	defer func(n int) { maxSharedStrings = n }(maxSharedStrings)
	maxSharedStrings = 2000
	cellRow := `<row r="2"><c r="A2" t="inlineStr"><is><t>`
	tests := []struct {
		name string
		part string
		r    func() io.Reader
		has  string
	}{
		{"cell", "xl/worksheets/sheet1.xml", func() io.Reader {
			return repeatReader(sheetHead+cellRow, "a", "</t></is></c></row></sheetData></worksheet>", 3<<20)
		}, "holds a cell or tag of more than 1 MiB"},
		{"row", "xl/worksheets/sheet1.xml", func() io.Reader {
			var b strings.Builder
			b.WriteString(sheetHead + `<row r="2">`)
			for i := 0; b.Len() < 9<<20; i++ {
				b.WriteString("<c><v>" + strconv.Itoa(i*7919) + "</v></c>")
			}
			b.WriteString("</row></sheetData></worksheet>")
			return strings.NewReader(b.String())
		}, "holds a row of more than 8 MiB"},
		{"shared strings", "xl/sharedStrings.xml", func() io.Reader {
			var b strings.Builder
			b.WriteString(`<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`)
			for i := range 2001 {
				b.WriteString("<si><t>")
				b.WriteString(strconv.Itoa(i * 7919))
				b.WriteString("</t></si>")
			}
			pad := "<!--" + strings.Repeat(" ", maxSegment*2/3) + "-->"
			b.WriteString(pad + pad + "</sst>") // long enough to be read through
			return strings.NewReader(b.String())
		}, "more than 2,000 different texts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := bombWorkbook(t, map[string]func() io.Reader{tt.part: tt.r})
			if fi, _ := os.Stat(path); fi.Size() > 16<<20 {
				t.Fatalf("the workbook is %d bytes on disk", fi.Size())
			}
			_, err := Open(path, Options{})
			if err == nil || !strings.Contains(err.Error(), "bomb.xlsx") || !strings.Contains(err.Error(), tt.has) || !strings.Contains(err.Error(), ".csv") {
				t.Errorf("err = %v", err)
			}
		})
	}
}

// The rows in flight are about batchCells cells however wide the file:
// a batch of a file of thousands of columns holds a few rows.
func TestWideFileBatches(t *testing.T) {
	cols := make([]string, 4000)
	for i := range cols {
		cols[i] = "c" + strconv.Itoa(i)
	}
	copy(cols, strings.Split(header, ","))
	line := strings.Repeat("1,", len(cols)-1) + "1\n"
	path := writeFile(t, "wide.csv", []byte(strings.Join(cols, ",")+"\n"+strings.Repeat(line, 50)))
	r, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rows := make([]Row, 0, batchRows)
	if err := r.fill(&rows); err != nil {
		t.Fatal(err)
	}
	if want := batchCells / 4000; len(rows) != want {
		t.Errorf("a batch of 4,000 columns holds %d rows, want %d", len(rows), want)
	}
	if rowsPerBatch(11) != batchRows || rowsPerBatch(100_000) != 1 {
		t.Errorf("rowsPerBatch(11) = %d, rowsPerBatch(100000) = %d", rowsPerBatch(11), rowsPerBatch(100_000))
	}
}

// A row with cells beyond the header keeps only the header's cells, not
// the slice they were cut from.
func TestCellsBeyondHeaderLetGo(t *testing.T) {
	line := ",Y,C,2026-04-11,EFFECTIVE,x" + strings.Repeat(",9", 10_000) + "\n"
	_, rows := readAll(t, writeFile(t, "in.csv", []byte(header+"\n"+line)), Options{})
	if len(rows) != 1 || rows[0].Err == nil || cap(rows[0].Cells) != 6 {
		t.Errorf("cells %d (room for %d), err %v", len(rows[0].Cells), cap(rows[0].Cells), rows[0].Err)
	}
}

// longSource yields n rows, each a cell of one shared 1 MiB text: rows
// that cost nothing to make but count as a megabyte each.
type longSource struct {
	n    int
	read atomic.Int64 // rows read, looked at from the test's goroutine
}

var longText = strings.Repeat("x", 1<<20)

func (s *longSource) next() ([]string, int, error) {
	i := int(s.read.Load())
	if i == s.n {
		return nil, i + 2, io.EOF
	}
	s.read.Add(1)
	return []string{strconv.Itoa(i + 1), longText}, i + 2, nil
}

func (s *longSource) close() error { return nil }

// A batch of long rows ends at BatchText, not at batchRows: 255 rows of
// 1 MiB cells in one batch (a workbook the XLSX bounds accept) peaked at
// 394 MB. Rows of an earlier, longer batch left behind its end are let go.
func TestLongRowsBatches(t *testing.T) {
	r := &Reader{layout: &Layout{File: "in.xlsx", Columns: []string{"a", "b"}}, src: &longSource{n: 3 * batchRows}}
	rows := make([]Row, 0, batchRows)
	for i := range batchRows {
		rows = append(rows, Row{Cells: []string{"stale " + strconv.Itoa(i)}})
	}
	rows = rows[:0]
	if err := r.fill(&rows); err != nil {
		t.Fatal(err)
	}
	if want := BatchText / len(longText); len(rows) != want {
		t.Errorf("a batch of 1 MiB rows holds %d rows, want %d", len(rows), want)
	}
	for i, row := range rows[len(rows):batchRows] {
		if row.Cells != nil {
			t.Fatalf("slot %d past the batch's end still holds %q", len(rows)+i, row.Cells)
		}
	}
	// Read ahead: the first row comes once a batch is full, and then
	// the rows in flight are a few batches of a few rows.
	src := &longSource{n: 3 * batchRows}
	r.src = src
	defer r.Close()
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if read := src.read.Load(); read > (batchesAhead+2)*int64(BatchText>>20) {
		t.Errorf("%d rows of 1 MiB read by the time the first is handed out", read)
	}
}
