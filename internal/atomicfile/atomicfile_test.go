package atomicfile

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/reten/reconcile/internal/killtest"
)

func TestWriteReplacesWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "summary.json")
	if err := WriteJSON(path, 0o644, map[string]int{"ok": 1}); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(path, 0o644, map[string]int{"ok": 2}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "{\n  \"ok\": 2\n}\n" {
		t.Errorf("file = %q", got)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, want 0644", fi.Mode().Perm())
	}
	assertOnly(t, dir, "summary.json")
}

func TestWriteFailureKeepsOld(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "configs.json")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk full")
	err := Write(path, 0o644, func(w io.Writer) error {
		w.Write([]byte("half"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
	got, _ := os.ReadFile(path)
	if string(got) != "old" {
		t.Errorf("file = %q, want the old content", got)
	}
	assertOnly(t, dir, "configs.json")
}

// assertOnly checks that no temporary file was left behind.
func assertOnly(t *testing.T, dir, name string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != name {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("folder holds %v, want only %s", names, name)
	}
}

// While it is written the new file has no name in the folder where the
// system allows (Linux), else one with this process's id in it.
func TestWriteUnnamedWhileWriting(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.xlsx")
	err := Write(path, 0o644, func(w io.Writer) error {
		entries, _ := os.ReadDir(dir)
		switch {
		case runtime.GOOS == "linux" && len(entries) != 0:
			t.Errorf("while writing, the folder holds %v", entries)
		case runtime.GOOS != "linux" && (len(entries) != 1 || !strings.Contains(entries[0].Name(), "-pid"+strconv.Itoa(os.Getpid())+"-")):
			t.Errorf("while writing, the folder holds %v", entries)
		}
		_, err := w.Write([]byte("zip"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	assertOnly(t, dir, "report.xlsx")
}

// A temporary file a dead process left beside the file is removed by the
// next write there.
func TestWriteRemovesDeadRunsTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, ".summary.json.tmp-pid"+strconv.Itoa(cmd.Process.Pid)+"-12345")
	if err := os.WriteFile(stale, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(filepath.Join(dir, "summary.json"), 0o644, 1); err != nil {
		t.Fatal(err)
	}
	assertOnly(t, dir, "summary.json")
}

// A run killed with SIGKILL in the middle of a write leaves the old file as
// it was and nothing else (Linux: the new file never had a name).
func TestWriteKilledLeavesNothing(t *testing.T) {
	if dir := killtest.Child("ATOMICFILE_CHILD_DIR"); dir != "" {
		Write(filepath.Join(dir, "report.xlsx"), 0o644, func(w io.Writer) error {
			w.Write([]byte(strings.Repeat("half a workbook ", 1000)))
			killtest.Ready()
			return nil
		})
		os.Exit(0)
	}
	if runtime.GOOS != "linux" {
		t.Skip("only Linux has unnamed files; elsewhere the next write removes the named one")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "report.xlsx"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	killtest.Kill(t, "TestWriteKilledLeavesNothing", "ATOMICFILE_CHILD_DIR", dir)
	assertOnly(t, dir, "report.xlsx")
	if got, _ := os.ReadFile(filepath.Join(dir, "report.xlsx")); string(got) != "old" {
		t.Errorf("file = %q", got)
	}
}
