package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
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

// OpenDir locks the state directory dir for this process, then opens the
// ledger of baseURL in it (Path) with opts; Close releases both.
//
// The directory's own lock, not only the ledger file's, is what keeps two
// runs apart: two spellings of one API that Path failed to tell were the
// same, or two tenants whose runs share a state dir by mistake, still never
// send at the same time. A run that finds the directory held gets a
// *LockedError naming the run that holds it (opts.Run).
func OpenDir(dir, baseURL string, opts Options) (*DB, error) {
	path, err := Path(dir, baseURL)
	if err != nil {
		return nil, err
	}
	lock, err := lockDir(dir, opts)
	if err != nil {
		return nil, err
	}
	db, err := Open(path, opts)
	if err != nil {
		lock.unlock()
		return nil, err
	}
	db.dirLock = lock
	return db, nil
}

// LockName is the file in a state directory that the run using it holds
// locked, with a Holder in it saying who that run is.
const LockName = "reconcile.lock"

// dirLock is a state directory held by this process.
type dirLock struct{ f *os.File }

// lockDir takes dir's lock, waiting up to opts.LockWait for another run to
// let go of it.
func lockDir(dir string, opts Options) (*dirLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, openFailure(dir, "the state directory", err)
	}
	path := filepath.Join(dir, LockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, openFailure(path, "the state directory's lock file", err)
	}
	wait := opts.LockWait
	if wait <= 0 {
		wait = DefaultLockWait
	}
	deadline := time.Now().Add(wait)
	for {
		err := lockFile(f)
		if err == nil {
			break
		}
		if !errors.Is(err, errLocked) {
			f.Close()
			return nil, fmt.Errorf("cannot lock the state directory %s: %w", dir, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, &LockedError{Path: path, Holder: readHolderFile(path)}
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Who holds it, for the message of a run that finds it locked. Advice
	// only: failing to write it does not stop the run.
	host, _ := os.Hostname()
	if data, err := json.Marshal(Holder{PID: os.Getpid(), Host: host, Run: opts.Run, Started: time.Now().UTC()}); err == nil {
		if f.Truncate(0) == nil {
			f.WriteAt(append(data, '\n'), 0)
		}
	}
	return &dirLock{f: f}, nil
}

// unlock empties the holder (so that a stale one never misleads) and lets
// go of the lock. The file stays: removing it would let a run that opened
// it just before lock a file nobody else can see.
func (l *dirLock) unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	l.f.Truncate(0)
	err := l.f.Close() // closing releases the lock
	l.f = nil
	return err
}

// openFailure says why what (at path) could not be opened for writing, and
// what to do: a folder or file this user may not write, or a read-only file
// system, is a matter of permissions, never of damage.
func openFailure(path, what string, err error) error {
	switch {
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s %s is not writable by this user (%v): reconcile records what it sends there before sending it; make it writable for this user (check its owner: a run as another user, root for one, may have created it), or pass --state-dir DIR with a folder this user owns", what, path, errors.Unwrap(err))
	case errors.Is(err, syscall.EROFS):
		return fmt.Errorf("%s %s is on a read-only file system: reconcile records what it sends there before sending it; pass --state-dir DIR on a writable disk", what, path)
	}
	return fmt.Errorf("cannot open %s %s: %w: pass --state-dir DIR with a writable folder", what, path, err)
}

// Path is the ledger file for one tenant's base URL inside dir. Each API
// gets its own file, so staging and production never share a ledger: the name
// keeps the host readable and adds a short hash of the canonical URL
// (NormalizeBaseURL), so every spelling of one API shares one ledger.
func Path(dir, baseURL string) (string, error) {
	norm, host, err := NormalizeBaseURL(baseURL)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(norm))
	name := sanitize(host) + "-" + hex.EncodeToString(sum[:4]) + ".db"
	return filepath.Join(dir, name), nil
}

// loopback is how NormalizeBaseURL spells every loopback host.
const loopback = "localhost"

// NormalizeBaseURL returns the base URL in one spelling, so that every way of
// writing one API names one ledger: lower-case scheme and host, no trailing
// dot on the host, no default port, no trailing slash, no user information,
// query or fragment, and "localhost" for every loopback address
// (127.0.0.1, 127.0.0.2, [::1], ...), which all reach the same server. It
// also returns the host and port, for file names.
func NormalizeBaseURL(baseURL string) (norm, host string, err error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", "", fmt.Errorf("base URL %q is not an absolute URL such as https://api.reten.ai: fix RETEN_BASE_URL", baseURL)
	}
	scheme := strings.ToLower(u.Scheme)
	h := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if ip := net.ParseIP(h); h == loopback || ip != nil && ip.IsLoopback() {
		h = loopback
	} else if ip != nil {
		h = ip.String() // one spelling of an IPv6 address
		if strings.Contains(h, ":") {
			h = "[" + h + "]"
		}
	}
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
