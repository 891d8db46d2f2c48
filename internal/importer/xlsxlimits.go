package importer

import (
	"archive/zip"
	"bytes"
	"fmt"
	"strings"
)

// Limits on what a workbook unzips to, checked on the zip's central
// directory before anything is unzipped: a zip bomb (a few KB that inflate
// to a gigabyte) is refused in a moment instead of filling memory and the
// temporary folder.
const (
	// maxPartRatio is the most any part may inflate, uncompressed size over
	// compressed, once it is over ratioFloor. Real sheets compress 5-20x
	// (the benchmark's 200,000 rows: 9x); a bomb, thousands of times.
	maxPartRatio = 100
	ratioFloor   = 4 << 20
	// maxInMemory bounds, together, the parts excelize reads into memory:
	// every part but the worksheets and shared strings it spills to a
	// temporary file (those over xlsxMemoryLimit, 4 MiB). Workbook, styles,
	// themes and smaller sheets come to well under a megabyte in a
	// results sheet; images and many sheets add up. excelize reads each
	// into a growing buffer, so a workbook holding 64 MiB peaked at 215 MB
	// (bench/xlsx-bounds.sh); at 32 MiB the worst of them stays under
	// 300 MB with cell styles decoded beside them.
	maxInMemory = 32 << 20
	// maxDecoded bounds, together, the parts excelize decodes whole into
	// structs as it opens a workbook (styles, workbook, theme, calculation
	// chain, relationships, content types, shared strings held in memory),
	// which take 3 to 7 times their size: 11 MiB of cell styles and 16 MiB
	// of shared strings peaked at 362 MB, and 16 MiB of them beside 64 MiB
	// of images 314 MB. 64,000 cell formats (Excel's own limit) take about
	// 5 MiB; a results workbook's parts come to well under 1 MiB.
	maxDecoded = 8 << 20
	// maxSegment is the longest run of a sheet's XML between two '<': a
	// tag and the text after it. A cell holds at most 32,767 characters
	// (Excel's limit), 160 KiB written out with every one escaped; a
	// longer run is a cell no spreadsheet program wrote, and excelize
	// would hold it whole, several times over.
	maxSegment = 1 << 20
	// maxRowBytes is the longest a row's XML may be: a row of results is a
	// few hundred bytes; excelize decodes one row at a time.
	maxRowBytes = 8 << 20
)

// maxSharedStrings is the most shared strings a workbook may have.
// excelize keeps an index of them in memory, about 100 bytes a string at
// its peak: 2,000,000 strings (all the text of about 300,000 rows of unique
// comments and ids) cost some 200 MB. A variable, so that a test reaches it
// without writing millions.
var maxSharedStrings = 2_000_000

// checkZipParts refuses a workbook whose parts would inflate implausibly
// or hold too much in memory, naming the part and saying what to do. A zip
// it cannot read is left to excelize to report.
func checkZipParts(path, name string) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil
	}
	defer zr.Close()
	var inMemory, decoded, largest uint64
	var largestName string
	for _, f := range zr.File {
		size, packed := f.UncompressedSize64, max(f.CompressedSize64, 1)
		if size > ratioFloor && size/packed > maxPartRatio {
			return fmt.Errorf("%s: its part %s would unzip to %s MiB from %s KiB (%dx; a real sheet compresses 5-20x), so reconcile does not open it: it is damaged or a zip bomb, or the sheet holds something unusual; open it in Excel or LibreOffice and save the sheet as .csv (split it if it is very large), then run that file",
				name, f.Name, thousands(int(size>>20)), thousands(int(packed>>10)), size/packed)
		}
		lower := strings.ToLower(f.Name)
		spilled := (strings.HasPrefix(lower, "xl/worksheets/sheet") || lower == "xl/sharedstrings.xml") && size > uint64(xlsxMemoryLimit)
		if !spilled {
			inMemory += size
		}
		if !spilled && decodedWhole(lower) {
			if decoded += size; size > largest {
				largest, largestName = size, f.Name
			}
		}
	}
	if decoded > maxDecoded {
		return fmt.Errorf("%s: its parts read whole (cell styles, the list of sheets, theme, shared texts) unzip to %.1f MiB, more than the %d MiB reconcile reads whole, %s alone %.1f MiB: the workbook has piled up far more cell formats or texts than a sheet of results needs; copy the sheet with the results into a new workbook (paste values only), or save it as .csv, and run that file",
			name, float64(decoded)/(1<<20), maxDecoded>>20, largestName, float64(largest)/(1<<20))
	}
	if inMemory > maxInMemory {
		return fmt.Errorf("%s: its parts besides the large sheets (styles, images, small sheets) unzip to %s MiB, more than the %d MiB reconcile reads into memory; copy the sheet with the results into a new workbook, or save it as .csv, and run that file",
			name, thousands(int(inMemory>>20)), maxInMemory>>20)
	}
	return nil
}

// decodedWhole reports whether excelize decodes the part (its name in
// lower case) whole when it opens a workbook or reads a sheet's rows.
func decodedWhole(lower string) bool {
	switch lower {
	case "[content_types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml", "xl/calcchain.xml", "xl/sharedstrings.xml":
		return true
	}
	return strings.HasPrefix(lower, "xl/theme/")
}

// scanParts runs scanPart on every part of the workbook at path.
func scanParts(path, name string) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil
	}
	defer zr.Close()
	for _, f := range zr.File {
		if err := scanPart(name, f); err != nil {
			return err
		}
	}
	return nil
}

// scanPart reads a worksheet or the shared strings through, without
// keeping it, for what the central directory cannot tell: a cell, a tag or
// a row far longer than a spreadsheet program writes, or more shared
// strings than are held in memory. Other parts are left alone.
func scanPart(name string, f *zip.File) error {
	lower := strings.ToLower(f.Name)
	sheet := strings.HasPrefix(lower, "xl/worksheets/sheet")
	sst := lower == "xl/sharedstrings.xml"
	if !sheet && !sst || f.UncompressedSize64 <= maxSegment {
		return nil
	}
	rc, err := f.Open()
	if err != nil {
		return nil // damaged: excelize says so
	}
	defer rc.Close()
	var (
		buf     = make([]byte, 256<<10)
		carry   int   // bytes kept from the last read: the start of a tag's name
		segment int64 // length of the run since the last '<'
		row     int64 // length of the row being read
		texts   int   // shared strings
	)
	for {
		n, err := rc.Read(buf[carry:])
		b := buf[:carry+n]
		i := 0
		for i < len(b) {
			k := bytes.IndexByte(b[i:], '<')
			if k < 0 {
				k = len(b) - i
			}
			segment += int64(k)
			row += int64(k)
			i += k
			if segment > maxSegment {
				return fmt.Errorf("%s: its part %s holds a cell or tag of more than %d MiB, far beyond the 32,767 characters a spreadsheet cell holds, so reconcile does not open it: the workbook is damaged or was not written by a spreadsheet program; open it in Excel or LibreOffice and save the sheet as .csv, then run that file", name, f.Name, maxSegment>>20)
			}
			if sheet && row > maxRowBytes {
				return fmt.Errorf("%s: its part %s holds a row of more than %d MiB, more than a row of results ever is; open it in Excel or LibreOffice and save the sheet as .csv, then run that file", name, f.Name, maxRowBytes>>20)
			}
			if i == len(b) {
				break
			}
			if len(b)-i < 18 && err == nil {
				break // the tag's name may be cut by the read: look at it with the next bytes
			}
			switch local := localName(b[i+1:]); {
			case sheet && local == "row":
				row = 0
			case sst && local == "si":
				if texts++; texts > maxSharedStrings {
					return fmt.Errorf("%s has more than %s different texts (shared strings), more than reconcile reads from a workbook; save the sheet as .csv (or split it), then run that file", name, thousands(maxSharedStrings))
				}
			}
			segment, row = 1, row+1 // the '<' itself
			i++
		}
		carry = copy(buf, b[i:]) // a '<' and the start of its name, not counted yet
		if err != nil {
			return nil
		}
	}
}

// localName is the name of the element whose tag starts b (after its '<'),
// without a namespace prefix: "row" for "row r=..." or "x:row>".
func localName(b []byte) string {
	end := 0
	for end < len(b) && end < 16 && b[end] != ' ' && b[end] != '>' && b[end] != '/' && b[end] != '\t' && b[end] != '\n' && b[end] != '\r' {
		end++
	}
	name := b[:end]
	if c := bytes.IndexByte(name, ':'); c >= 0 {
		name = name[c+1:]
	}
	return string(name)
}
