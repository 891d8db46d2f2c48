package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// `reconcile --version` says which build this is.
func TestVersion(t *testing.T) {
	code, stdout, stderr := runMain(t, nil, "--version")
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if !strings.HasPrefix(stdout, "reconcile ") || !strings.Contains(stdout, runtime.Version()) {
		t.Errorf("--version = %q; want the module version and %s", stdout, runtime.Version())
	}
}

func TestVersionText(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
		{Key: "vcs.time", Value: "2026-11-25T10:30:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}}
	want := "reconcile v1.4.0\ncommit 0123456789abcdef0123456789abcdef01234567 (2026-11-25T10:30:00Z, with local changes)\nbuilt with go1.26.8 for " + runtime.GOOS + "/" + runtime.GOARCH
	if got := versionText(bi); got != want {
		t.Errorf("versionText =\n%s\nwant\n%s", got, want)
	}
	if got := versionText(&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}); !strings.Contains(got, "reconcile (devel)\ncommit unknown") {
		t.Errorf("without version control information: %q", got)
	}
}

// The binary as the go command builds it: --version says what `go version
// -m` reads from the same file (module, commit, commit time, Go).
func TestVersionOfBuiltBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	bin := filepath.Join(t.TempDir(), "reconcile")
	// With the commit when the source is a git checkout the go command can
	// read; else without (a copy of the source, a git worktree).
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Logf("without version control information: %s", out)
		if out, err := exec.Command("go", "build", "-buildvcs=false", "-o", bin, ".").CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("reconcile --version: %v", err)
	}
	meta, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]string{}
	for _, line := range strings.Split(string(meta), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[0] == "mod":
			fields["mod"] = f[2]
		case len(f) == 2 && f[0] == "build":
			if k, v, ok := strings.Cut(f[1], "="); ok {
				fields[k] = v
			}
		case len(f) == 2 && strings.HasSuffix(f[0], ":"):
			fields["go"] = f[1]
		}
	}
	version := string(out)
	t.Logf("%s", version)
	want := []string{"reconcile " + fields["mod"] + "\n", "built with " + fields["go"] + " "}
	if rev := fields["vcs.revision"]; rev != "" {
		want = append(want, "commit "+rev+" ("+fields["vcs.time"])
	} else {
		want = append(want, "commit unknown")
	}
	for _, w := range want {
		if !strings.Contains(version, w) {
			t.Errorf("--version %q does not say %q (go version -m: %v)", version, w, fields)
		}
	}
}

// Flags may follow the file names.
func TestFlagsAfterFileNames(t *testing.T) {
	cache := tenantCache(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.csv")
	writeFile(t, good, "provider_activity_id;commerce_external_id;occurred_at;status;result\nYOM-0001;COM-001;2026-04-11T10:30:00Z;EFFECTIVE;Venta completada\n")
	reportDir := filepath.Join(dir, "r")
	code, stdout, stderr := runMain(t, nil, "validate", good, "--configs", cache, "--report-dir", reportDir)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(reportDir, "report.csv")); err != nil {
		t.Errorf("--report-dir after the file was not heeded: %v", err)
	}
}

// A misspelt flag gets the flag meant and one line of usage, not the list
// of every flag; so does one spelt with one dash, as Go's flag package took.
func TestMisspeltFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--dry-rn", "a.csv"}, "reconcile run: unknown flag --dry-rn; did you mean --dry-run?\nusage: reconcile run [flags] FILE... (see reconcile run -h)\n"},
		{[]string{"run", "a.csv", "-dry-rn"}, "reconcile run: unknown flag -dry-rn; did you mean --dry-run?\nusage: reconcile run [flags] FILE... (see reconcile run -h)\n"},
		{[]string{"validate", "--confgs", "x.json", "a.csv"}, "reconcile validate: unknown flag --confgs; did you mean --configs?\nusage: reconcile validate [flags] FILE... (see reconcile validate -h)\n"},
		{[]string{"retry", "--conflict", "dir"}, "reconcile retry: unknown flag --conflict; did you mean --conflicts?\nusage: reconcile retry [flags] REPORT_DIR (see reconcile retry -h)\n"},
		{[]string{"run", "--nothing-like-it", "a.csv"}, "reconcile run: unknown flag --nothing-like-it\nusage: reconcile run [flags] FILE... (see reconcile run -h)\n"},
	} {
		code, stdout, stderr := runMain(t, nil, tc.args...)
		if code != exitUsage || stderr != tc.want || stdout != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr\n%q\nwant exit %d and\n%q", tc.args, code, stdout, stderr, exitUsage, tc.want)
		}
	}
}

// Flags spelt with one dash still work, as they did with Go's flag package.
func TestGoStyleFlags(t *testing.T) {
	env := map[string]string{"RETEN_BASE_URL": "http://127.0.0.1:9", "RETEN_API_KEY": "rtn_sk_x"}
	code, _, stderr := runMain(t, env, "run", "-concurrency", "0", "a.csv")
	if code != exitUsage || !strings.Contains(stderr, "--concurrency must be 1 or more") {
		t.Errorf("-concurrency 0: exit %d, %q", code, stderr)
	}
	code, _, stderr = runMain(t, env, "run", "--rate", "-1", "a.csv")
	if code != exitUsage || !strings.Contains(stderr, "--rate must be 0") {
		t.Errorf("--rate -1, a value with a dash: exit %d, %q", code, stderr)
	}
}

// -h and --help exit 0 on every command and subcommand, with the usage on
// stdout.
func TestHelpOnEveryCommand(t *testing.T) {
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		paths = append(paths, path)
		for _, sub := range c.Commands() {
			walk(sub, append(append([]string(nil), path...), sub.Name()))
		}
	}
	walk(newCLI(&environ{getenv: os.Getenv}).root, nil)
	if len(paths) < 9 {
		t.Fatalf("only %d commands: %q", len(paths), paths)
	}
	for _, path := range paths {
		for _, h := range []string{"-h", "--help"} {
			args := append(append([]string(nil), path...), h)
			code, stdout, stderr := runMain(t, nil, args...)
			if code != exitOK || !strings.Contains(stdout, "Usage:") || stderr != "" {
				t.Errorf("reconcile %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, stdout, stderr)
			}
		}
	}
	code, stdout, _ := runMain(t, nil, "help", "run")
	if code != exitOK || !strings.Contains(stdout, "reconcile run [flags] FILE...") {
		t.Errorf("help run: exit %d, %q", code, stdout)
	}
}

// `reconcile` alone lists the commands and exits 2.
func TestNoArguments(t *testing.T) {
	code, stdout, stderr := runMain(t, nil)
	if code != exitUsage || stdout != "" {
		t.Errorf("exit %d, stdout %q", code, stdout)
	}
	for _, name := range []string{"demo", "run", "retry", "validate", "configs", "sandbox", "completion"} {
		if !strings.Contains(stderr, "\n  "+name+" ") {
			t.Errorf("the command list does not show %s:\n%s", name, stderr)
		}
	}
}

// An unknown command is a usage error that names the command meant.
func TestUnknownCommand(t *testing.T) {
	code, _, stderr := runMain(t, nil, "rn", "a.csv")
	if code != exitUsage || !strings.Contains(stderr, `unknown command "rn"`) || !strings.Contains(stderr, "\trun\n") {
		t.Errorf("exit %d, %q", code, stderr)
	}
	code, _, stderr = runMain(t, nil, "configs", "push")
	if code != exitUsage || !strings.Contains(stderr, "usage: reconcile configs pull") {
		t.Errorf("configs push: exit %d, %q", code, stderr)
	}
}
