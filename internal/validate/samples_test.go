package validate

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/sandbox"
)

var update = flag.Bool("update", false, "rewrite the golden files from the current output")

// tenantCatalogue is the demo tenant's result types, as configs pull would save them.
func tenantCatalogue(t testing.TB) *Catalogue {
	t.Helper()
	tenant, err := sandbox.LoadTenant("../../samples/tenant.json")
	if err != nil {
		t.Fatal(err)
	}
	return &Catalogue{Configs: tenant.Configs}
}

// sampleOptions are the flags the README gives for the shipped samples.
func sampleOptions(t testing.TB) importer.Options {
	loc, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	return importer.Options{MappingFile: "../../samples/mapping-es.txt", DateFormat: "02/01/2006 15:04", Location: loc}
}

// TestSamplesGolden validates the three sample files in one batch, as the demo
// does, and compares every row's outcome and the exact body it would send
// with testdata/samples.golden (go test ./internal/validate -run Golden -update).
func TestSamplesGolden(t *testing.T) {
	v := NewValidator(tenantCatalogue(t), func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) })
	var out bytes.Buffer
	for _, name := range []string{"results.csv", "resultados.csv", "resultados.xlsx"} {
		r, err := importer.Open(filepath.Join("..", "..", "samples", name), sampleOptions(t))
		if err != nil {
			t.Fatal(err)
		}
		l := r.Layout()
		fmt.Fprintf(&out, "# %s: %s header at row %d, delimiter %q, encoding %q, sheet %q, unknown columns %q\n",
			name, l.Kind, l.HeaderRow, l.Delimiter, l.Encoding, l.Sheet, l.Unknown)
		for {
			row, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			it := v.Check(row)
			if o, ok := it.Offline(); ok {
				fmt.Fprintf(&out, "row %d %s: %s\n", row.Pos.Row, o.Class, o.Message)
				continue
			}
			body, err := json.Marshal(it.Request)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&out, "row %d ok override=%v: %s\n", row.Pos.Row, it.Override, body)
		}
		r.Close()
	}
	golden := filepath.Join("testdata", "samples.golden")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("outcomes differ from %s (run with -update after checking the change):\n--- got\n%s", golden, out.String())
	}
}
