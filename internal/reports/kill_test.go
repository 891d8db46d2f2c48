package reports

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/reten/reconcile/internal/importer"
)

// A run killed with SIGKILL while it saves report.xlsx, its rows waiting in
// a spill, leaves no temporary file: not in the spill folder, not in the
// report folder, which holds the reports written row by row and nothing
// half-written.
func TestKilledWhileSavingLeavesNoTemporaryFiles(t *testing.T) {
	if dir := os.Getenv("REPORTS_CHILD_DIR"); dir != "" {
		fileWriter = func(name string, w io.Writer) io.Writer {
			if name != XLSXName {
				return w
			}
			w.Write([]byte("PK"))
			os.Stdout.WriteString("ready\n")
			time.Sleep(time.Minute)
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
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledWhileSavingLeavesNoTemporaryFiles$")
	cmd.Env = append(os.Environ(), "REPORTS_CHILD_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := io.ReadFull(out, buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("child said %q, %v", buf, err)
	}
	cmd.Process.Kill() // SIGKILL
	cmd.Wait()
	if got := names(t, filepath.Join(dir, "reports")); !slices.Equal(got, []string{"rejects.csv", CSVName}) {
		t.Errorf("report folder holds %v", got)
	}
	if got := names(t, filepath.Join(dir, "state", "tmp")); len(got) != 0 {
		t.Errorf("spill folder holds %v", got)
	}
}
