package importer

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// readEverything opens data as a file named name and reads it to the end,
// checking the invariants every caller relies on.
func readEverything(t *testing.T, name string, data []byte, opts Options) {
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path, opts)
	if err != nil {
		if err.Error() == "" {
			t.Fatal("empty error")
		}
		return
	}
	defer r.Close()
	l := r.Layout()
	if len(l.Fields) != len(l.Columns) {
		t.Fatalf("%d fields for %d columns", len(l.Fields), len(l.Columns))
	}
	last := 0
	for i := 0; i < 1_000_000; i++ {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			return
		}
		if len(row.Cells) != len(l.Columns) {
			t.Fatalf("row %d: %d cells for %d columns", row.Pos.Row, len(row.Cells), len(l.Columns))
		}
		for f := Field(0); int(f) < NumFields; f++ {
			row.Value(f)
		}
		if row.Pos.Row <= last || row.Pos.Row <= l.HeaderRow {
			t.Fatalf("row number %d after %d (header %d)", row.Pos.Row, last, l.HeaderRow)
		}
		last = row.Pos.Row
	}
	t.Fatal("more than a million rows from a fuzz input")
}

func FuzzCSV(f *testing.F) {
	for _, s := range []string{
		header + "\n,YOM-1,COM-1,2026-04-11T10:30:00Z,EFFECTIVE,Venta completada\n",
		"sep=;\r\n" + "activity_id;commerce_external_id;occurred_at;status;result\r\n8a2da0ef-e94a-5f98-ad28-4741ec9a5245;0004549;11/04/2026 10:30;effective;x\r\n",
		"title\n\n" + header + ",comment\n,Y,C,46123.5,PENDING,x,\"multi\nline, quoted\"\n\n,Y,C,03/04/2026,x,y,z,extra\n",
		"\xEF\xBB\xBF" + header + "\n,Y,C,2026-04-11,EFFECTIVE,x\n",
		header + "\n,Y,C\xe9,2026-04-11,EFFECTIVE,x\n",
		header + "\n,\"unterminated,C,2026-04-11,EFFECTIVE,x\n",
		"\xFF\xFEa\x00,\x00b\x00\n\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		readEverything(t, "in.csv", data, Options{})
		readEverything(t, "in.csv", data, Options{DateFormat: "02/01/2006 15:04", Delimiter: ';', Location: time.FixedZone("x", -4*3600)})
	})
}

func FuzzXLSX(f *testing.F) {
	for _, name := range []string{"../../samples/resultados.xlsx"} {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1})
	f.Fuzz(func(t *testing.T, data []byte) {
		readEverything(t, "in.xlsx", data, Options{UnzipLimit: 8 << 20})
	})
}
