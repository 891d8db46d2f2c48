package ledger

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"
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
	for _, other := range []string{"https://api-staging.reten.ai", "http://api.reten.ai", "https://api.reten.ai:8443", "http://127.0.0.1:41234"} {
		if got := p(other); got == prod {
			t.Errorf("%s shares the production ledger", other)
		}
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
