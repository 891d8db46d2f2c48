package engine

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reten/reconcile/internal/importer"
)

// A file of many unknown columns is warned about in one short line: the
// first ones by name and how many more.
func TestOpenInputsUnknownColumnsCapped(t *testing.T) {
	header := "activity_id,commerce_external_id,occurred_at,status,result"
	for i := range 25 {
		header += ",extra" + string(rune('a'+i))
	}
	path := filepath.Join(t.TempDir(), "wide.csv")
	if err := os.WriteFile(path, []byte(header+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	readers, f := openInputs([]string{path}, importer.Options{}, slog.New(slog.NewTextHandler(&buf, nil)))
	if f != nil {
		t.Fatal(f)
	}
	readers[0].Close()
	out := buf.String()
	if !strings.Contains(out, "columns=\"[extraa extrab") || !strings.Contains(out, "extraj]") || strings.Contains(out, "extrak") || !strings.Contains(out, "more=15") {
		t.Errorf("warning: %s", out)
	}
}
