package spill

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/reten/reconcile/internal/killtest"
)

func TestPattern(t *testing.T) {
	pid := strconv.Itoa(os.Getpid())
	for pattern, want := range map[string]string{
		"reconcile-rows-*.xml":   "reconcile-rows-pid" + pid + "-*.xml",
		"reconcile-seen-*":       "reconcile-seen-pid" + pid + "-*",
		".summary.json.tmp-*":    ".summary.json.tmp-pid" + pid + "-*",
		"reconcile-no-star":      "reconcile-no-star-pid" + pid + "-*",
		".report.xlsx.tmp-*.zip": ".report.xlsx.tmp-pid" + pid + "-*.zip",
	} {
		if got := Pattern(pattern); got != want {
			t.Errorf("Pattern(%q) = %q, want %q", pattern, got, want)
		}
	}
}

// A spill is made in the folder given (made if missing), is gone from it at
// once where the system allows, and is read and written through its file.
func TestCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "tmp")
	f, name, err := Create(dir, "reconcile-rows-*.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("<row/>"); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 6)
	if _, err := f.ReadAt(got, 0); err != nil || string(got) != "<row/>" {
		t.Errorf("read back %q, %v", got, err)
	}
	entries, _ := os.ReadDir(dir)
	switch runtime.GOOS {
	case "windows":
		if name == "" || len(entries) != 1 || !tempName.MatchString(entries[0].Name()) {
			t.Errorf("name %q, folder %v", name, entries)
		}
	default:
		if name != "" || len(entries) != 0 {
			t.Errorf("name %q, folder %v; want the file unlinked", name, entries)
		}
	}
	if _, _, err := Create(filepath.Join(dir, "x"), "reconcile-rows-*.xml"); err != nil {
		t.Errorf("a missing folder is not made: %v", err)
	}
}

// deadPid is the id of a process that has ended.
func deadPid(t *testing.T) int {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if running(pid) {
		t.Skipf("pid %d was taken again at once", pid)
	}
	return pid
}

// Clean removes the temporary files of processes that are gone and only
// those: not a live process's, not this one's own, not a file named
// otherwise.
func TestClean(t *testing.T) {
	dir := t.TempDir()
	dead := strconv.Itoa(deadPid(t))
	live := strconv.Itoa(os.Getppid())
	self := strconv.Itoa(os.Getpid())
	touch := func(name string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	touch("reconcile-rows-pid" + dead + "-123.xml")
	touch("reconcile-seen-pid" + dead + "-456")
	touch(".summary.json.tmp-pid" + dead + "-789")
	touch(".report.xlsx.tmp-pid" + dead + "-1")
	touch("reconcile-rows-pid" + self + "-2.xml") // a former run that had this pid
	keep := []string{
		"reconcile-rows-pid" + live + "-123.xml",
		".summary.json.tmp-pid" + live + "-789",
		"reconcile-rows-" + dead + "-123.xml",
		"notes-pid" + dead + "-1.txt",
		"summary.json",
		"reconcile-rows-pid" + self + "-3.xml",
	}
	for _, name := range keep {
		touch(name)
	}
	Own(filepath.Join(dir, "reconcile-rows-pid"+self+"-3.xml"))
	// A library's folder of a dead run, whatever it holds.
	lib := filepath.Join(dir, "reconcile-xlsx-pid"+dead+"-77")
	if err := os.MkdirAll(filepath.Join(lib, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	touch("reconcile-xlsx-pid" + dead + "-77/excelize-123")
	mine, err := Folder(dir, "reconcile-xlsx-*")
	if err != nil {
		t.Fatal(err)
	}
	keep = append(keep, filepath.Base(mine))
	n, err := Clean(dir)
	if err != nil || n != 6 {
		t.Errorf("Clean = %d, %v; want 6 removed", n, err)
	}
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	slices.Sort(keep)
	if !slices.Equal(left, keep) {
		t.Errorf("left %v, want %v", left, keep)
	}
	if n, err := Clean(filepath.Join(dir, "missing")); n != 0 || err != nil {
		t.Errorf("missing folder: %d, %v", n, err)
	}
}

// A run killed with SIGKILL while its spill files are open leaves nothing
// in the spill folder.
func TestKilledLeavesNothing(t *testing.T) {
	if dir := killtest.Child("SPILL_CHILD_DIR"); dir != "" {
		for range 3 {
			f, _, err := Create(dir, "reconcile-rows-*.xml")
			if err != nil {
				os.Exit(3)
			}
			f.WriteString(strings.Repeat("<row/>", 1000))
		}
		killtest.Ready()
	}
	if runtime.GOOS == "windows" {
		t.Skip("no SIGKILL")
	}
	dir := t.TempDir()
	killtest.Kill(t, "TestKilledLeavesNothing", "SPILL_CHILD_DIR", dir)
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a killed run left %v", entries)
	}
}
