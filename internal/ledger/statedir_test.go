package ledger

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDefaultDir(t *testing.T) {
	env := func(m map[string]string) func(string) string {
		return func(k string) string { return m[k] }
	}
	got, err := DefaultDir(env(map[string]string{"XDG_STATE_HOME": "/var/state", "HOME": "/home/ana"}))
	if err != nil || got != filepath.Join("/var/state", "reconcile") {
		t.Errorf("with XDG_STATE_HOME: %q, %v", got, err)
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		return
	}
	got, err = DefaultDir(env(map[string]string{"HOME": "/home/ana"}))
	if err != nil || got != "/home/ana/.local/state/reconcile" {
		t.Errorf("with HOME only: %q, %v", got, err)
	}
	// A relative XDG_STATE_HOME is invalid per the XDG spec and ignored.
	got, err = DefaultDir(env(map[string]string{"XDG_STATE_HOME": "rel", "HOME": "/home/ana"}))
	if err != nil || got != "/home/ana/.local/state/reconcile" {
		t.Errorf("with relative XDG_STATE_HOME: %q, %v", got, err)
	}
}

func TestPath(t *testing.T) {
	dir := "/state"
	p := func(u string) string {
		t.Helper()
		got, err := Path(dir, u)
		if err != nil {
			t.Fatalf("Path(%q): %v", u, err)
		}
		return got
	}
	prod := p("https://api.reten.ai")
	if !strings.HasPrefix(filepath.Base(prod), "api.reten.ai-") || filepath.Dir(prod) != dir {
		t.Errorf("production ledger %q: want the host in the name, inside %s", prod, dir)
	}
	for _, same := range []string{"https://api.reten.ai/", "HTTPS://API.Reten.ai", "https://api.reten.ai:443"} {
		if got := p(same); got != prod {
			t.Errorf("%s: %q, want the production ledger %q", same, got, prod)
		}
	}
	for _, other := range []string{"https://api-staging.reten.ai", "http://api.reten.ai", "https://api.reten.ai:8443", "http://127.0.0.1:41234", "https://api.reten.ai/v2"} {
		if got := p(other); got == prod {
			t.Errorf("%s shares the production ledger", other)
		}
	}
	// Every spelling of one loopback server is one ledger: two runs at once
	// with 127.0.0.1 and localhost must meet at the same lock.
	local := p("http://127.0.0.1:41234")
	for _, same := range []string{"http://localhost:41234", "http://LocalHost:41234/", "http://[::1]:41234", "http://127.0.0.2:41234", "http://localhost.:41234"} {
		if got := p(same); got != local {
			t.Errorf("%s: %q, want the ledger of http://127.0.0.1:41234, %q", same, got, local)
		}
	}
	if got := p("http://127.0.0.1:41235"); got == local {
		t.Errorf("another port shares the ledger of http://127.0.0.1:41234")
	}
	if got := p("http://127.0.0.1:41234"); strings.ContainsAny(filepath.Base(got), ":/\\") {
		t.Errorf("file name %q has characters some systems refuse", got)
	}
	for _, bad := range []string{"", "api.reten.ai", "/api", "::"} {
		if _, err := Path(dir, bad); err == nil {
			t.Errorf("Path(%q) gave no error", bad)
		}
	}
}

func TestNormalizeBaseURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://api.reten.ai", "https://api.reten.ai"},
		{"HTTPS://API.RETEN.AI/", "https://api.reten.ai"},
		{"https://api.reten.ai:443//", "https://api.reten.ai"},
		{"https://api.reten.ai.", "https://api.reten.ai"},
		{"https://user:pw@api.reten.ai?x=1#f", "https://api.reten.ai"},
		{"https://api.reten.ai:8443", "https://api.reten.ai:8443"},
		{"http://api.reten.ai:80", "http://api.reten.ai"},
		{"http://127.0.0.1:8080", "http://localhost:8080"},
		{"http://[::1]:8080/", "http://localhost:8080"},
		{"http://[0:0:0:0:0:0:0:1]:8080", "http://localhost:8080"},
		{"http://127.0.0.1", "http://localhost"},
		{"http://[2001:DB8::0001]:9000", "http://[2001:db8::1]:9000"},
		{"  https://api-staging.reten.ai/api/  ", "https://api-staging.reten.ai/api"},
	} {
		got, _, err := NormalizeBaseURL(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("NormalizeBaseURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// The state directory's own lock keeps two runs apart even when they would
// use different ledger files in it.
func TestOpenDirLocksTheDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	first, err := OpenDir(dir, "http://127.0.0.1:8080", Options{Run: "run-one"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = OpenDir(dir, "https://api.reten.ai", Options{LockWait: 50 * time.Millisecond})
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second OpenDir, another ledger file: %v, want *LockedError", err)
	}
	if le.Holder == nil || le.Holder.PID != os.Getpid() || le.Holder.Run != "run-one" {
		t.Errorf("holder %+v, want this process and run-one", le.Holder)
	}
	for _, want := range []string{"state directory " + dir + " is in use", "pid " + strconv.Itoa(os.Getpid()), "run-one"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not say %q", err, want)
		}
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(dir, LockName)); err != nil || len(data) != 0 {
		t.Errorf("lock file after Close: %q, %v; want it kept, empty", data, err)
	}
	second, err := OpenDir(dir, "https://api.reten.ai", Options{})
	if err != nil {
		t.Fatalf("OpenDir once the first run let go: %v", err)
	}
	second.Close()
}

// A state directory or ledger the user may not write is told so, with what
// to do; only a damaged file gets the advice to move it aside.
func TestOpenDirNotWritable(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  []string
	}{
		{"ledger file read-only", func(t *testing.T, dir string) {
			createLedger(t, dir)
			path, _ := Path(dir, "http://127.0.0.1:1")
			chmod(t, path, 0o444)
			chmod(t, filepath.Join(dir, LockName), 0o666)
		}, []string{"the ledger ", "is not writable by this user", "--state-dir"}},
		{"directory read-only", func(t *testing.T, dir string) {
			chmod(t, dir, 0o555)
		}, []string{"the state directory's lock file", "is not writable by this user", "--state-dir"}},
		{"directory of another user", func(t *testing.T, dir string) {
			createLedger(t, dir)
			chmod(t, dir, 0o755)
		}, []string{"is not writable by this user", "check its owner"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(openableTempDir(t), "state")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			tc.setup(t, dir)
			out := openDirAsUser(t, dir)
			for _, want := range tc.want {
				if !strings.Contains(out, want) {
					t.Errorf("message %q does not say %q", out, want)
				}
			}
			if strings.Contains(out, "move it aside") || strings.Contains(out, "damaged") {
				t.Errorf("a ledger that is only not writable is called damaged: %q", out)
			}
		})
	}
}

func TestOpenDirDamaged(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	createLedger(t, dir)
	path, _ := Path(dir, "http://127.0.0.1:1")
	if err := os.WriteFile(path, bytes.Repeat([]byte("not a ledger "), 2000), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := OpenDir(dir, "http://127.0.0.1:1", Options{})
	if err == nil || !strings.Contains(err.Error(), "is damaged") || !strings.Contains(err.Error(), "move it aside") {
		t.Fatalf("opening a damaged ledger: %v", err)
	}
}

func createLedger(t *testing.T, dir string) {
	t.Helper()
	db, err := OpenDir(dir, "http://127.0.0.1:1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(path, 0o755) })
}

// nobody is the user a test runs as to meet permissions that root ignores.
const nobody = 65534

// openableTempDir is a temporary folder that, when the tests run as root,
// the unprivileged user of openDirAsUser can reach.
func openableTempDir(t *testing.T) string {
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		for d := dir; d != os.TempDir() && d != "/" && d != "."; d = filepath.Dir(d) {
			os.Chmod(d, 0o755)
		}
	}
	return dir
}

// openDirAsUser runs OpenDir on dir as a user the permissions apply to and
// returns its error message. Root may write anywhere, so under root the test
// binary runs the call as nobody in a child process.
func openDirAsUser(t *testing.T, dir string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		_, err := OpenDir(dir, "http://127.0.0.1:1", Options{})
		if err == nil {
			t.Fatal("OpenDir succeeded")
		}
		return err.Error()
	}
	if runtime.GOOS == "windows" {
		t.Skip("no unprivileged user to run as")
	}
	// A copy of the test binary that nobody may run.
	bin := filepath.Join(openableTempDir(t), "ledger.test")
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=opendir", "LEDGER_TEST_PATH="+dir)
	cmd.SysProcAttr = childAsNobody()
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("OpenDir as an unprivileged user succeeded: %s", out)
	}
	return string(out)
}
