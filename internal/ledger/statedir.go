package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// DefaultDir is the state directory used when no --state-dir is given:
// $XDG_STATE_HOME/reconcile, else ~/.local/state/reconcile on Unix systems, else
// the user's configuration directory (Application Support on macOS, AppData on
// Windows) followed by reconcile. getenv is os.Getenv, or a test's stand-in.
//
// State, not cache: deleting the ledger loses the memory of what was sent, so it
// must not live where cleaners empty caches.
func DefaultDir(getenv func(string) string) (string, error) {
	if d := getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "reconcile"), nil
	}
	if runtime.GOOS != "darwin" && runtime.GOOS != "windows" {
		home := getenv("HOME")
		if home == "" {
			h, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("no state directory: set $HOME or $XDG_STATE_HOME, or pass --state-dir DIR")
			}
			home = h
		}
		return filepath.Join(home, ".local", "state", "reconcile"), nil
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no state directory (%v): pass --state-dir DIR", err)
	}
	return filepath.Join(d, "reconcile"), nil
}

// Path is the ledger file for one tenant's base URL inside dir. Each base URL
// gets its own file, so staging and production never share a ledger: the name
// keeps the host readable and adds a short hash of the normalised URL.
func Path(dir, baseURL string) (string, error) {
	norm, host, err := NormalizeBaseURL(baseURL)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(norm))
	name := sanitize(host) + "-" + hex.EncodeToString(sum[:4]) + ".db"
	return filepath.Join(dir, name), nil
}

// NormalizeBaseURL returns the base URL in one spelling (lower-case scheme and
// host, no default port, no trailing slash) and its host for file names.
func NormalizeBaseURL(baseURL string) (norm, host string, err error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", "", fmt.Errorf("base URL %q is not an absolute URL such as https://api.reten.ai: fix RETEN_BASE_URL", baseURL)
	}
	scheme := strings.ToLower(u.Scheme)
	h := strings.ToLower(u.Hostname())
	port := u.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	hostport := h
	if port != "" {
		hostport = h + ":" + port
	}
	norm = scheme + "://" + hostport + strings.TrimRight(u.EscapedPath(), "/")
	return norm, hostport, nil
}

// sanitize keeps a host name usable as a file name on every system.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '-':
			return r
		}
		return '_'
	}, s)
}
