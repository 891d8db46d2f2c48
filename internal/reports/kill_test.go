package reports

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/reten/reconcile/internal/importer"
	"github.com/reten/reconcile/internal/killtest"
)

// A run killed with SIGKILL while it saves report.xlsx, its rows waiting in
// a spill, leaves no temporary file: not in the spill folder, not in the
// report folder, which holds the reports written row by row and nothing
// half-written.
func TestKilledWhileSavingLeavesNoTemporaryFiles(t *testing.T) {
	if dir := killtest.Child("REPORTS_CHILD_DIR"); dir != "" {
		fileWriter = func(name string, w io.Writer) io.Writer {
			if name != XLSXName {
				return w
			}
			w.Write([]byte("PK"))
			killtest.Ready()
			return w
		}
		l := csvLayout("ventas.csv", "Actividad", "Código", "Notas")
		w, err := Create(filepath.Join(dir, "reports"), RunInfo{Command: "run", Layouts: []*importer.Layout{l}},
			Options{XLSX: true, Rejects: true, SpillDir: filepath.Join(dir, "state", "tmp")})
		if err != nil {
			os.Exit(3)
		}
		for _, o := range manyOutcomes(l, 5000) {
			w.Write(o)
		}
		w.Close(1)
		os.Exit(0)
	}
	if runtime.GOOS != "linux" {
		t.Skip("only Linux has unnamed files")
	}
	dir := t.TempDir()
	killtest.Kill(t, "TestKilledWhileSavingLeavesNoTemporaryFiles", "REPORTS_CHILD_DIR", dir)
	if got := names(t, filepath.Join(dir, "reports")); !slices.Equal(got, []string{"rejects.csv", CSVName}) {
		t.Errorf("report folder holds %v", got)
	}
	if got := names(t, filepath.Join(dir, "state", "tmp")); len(got) != 0 {
		t.Errorf("spill folder holds %v", got)
	}
}
