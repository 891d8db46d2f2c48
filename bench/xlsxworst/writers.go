package main

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

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
