package ledger

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	bolterrors "go.etcd.io/bbolt/errors"
)

// Holder describes the run holding a ledger. It is written beside the ledger
// file (path + ".holder") while the ledger is open.
type Holder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host,omitempty"`
	Run     string    `json:"run,omitempty"`
	Started time.Time `json:"started"`
}

// LockedError is returned by Open when another run holds the ledger, and by
// OpenDir when another run holds the state directory.
type LockedError struct {
	Path   string  // the ledger file, or the state directory's LockName
	Holder *Holder // nil when the holder did not say who it is
}

func (e *LockedError) Error() string {
	who := "another run"
	if h := e.Holder; h != nil {
		who = fmt.Sprintf("another run (pid %d", h.PID)
		if h.Host != "" {
			who += " on " + h.Host
		}
		who += ", started " + h.Started.UTC().Format("2006-01-02 15:04:05 UTC")
		if h.Run != "" {
			who += ", run " + h.Run
		}
		who += ")"
	}
	what := ""
	if filepath.Base(e.Path) != LockName {
		what = " for the ledger " + filepath.Base(e.Path)
	}
	return fmt.Sprintf("the state directory %s is in use by %s%s: wait for that run to finish, or stop it; runs on one state directory never overlap",
		filepath.Dir(e.Path), who, what)
}

// openError says why bbolt could not open the ledger at path. Only a file
// bbolt finds damaged gets the advice to move it aside: that advice costs
// the memory of what was sent, and a ledger that is merely not writable
// needs its permissions fixed instead.
func openError(path string, err error) error {
	switch {
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrChecksum),
		errors.Is(err, bolterrors.ErrVersionMismatch), errors.Is(err, bolterrors.ErrInvalidMapping):
		return fmt.Errorf("the ledger %s is damaged (%w): move it aside and run again; every activity would then be sent again, and 409s reported as conflicts", path, err)
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EROFS):
		return openFailure(path, "the ledger", err)
	}
	return fmt.Errorf("cannot open the ledger %s: %w", path, err)
}

func holderPath(path string) string { return path + ".holder" }

// writeHolder records who holds the ledger. It is advice for the message of a
// run that finds the ledger locked, so failing to write it is not an error.
func writeHolder(path string, h Holder) {
	data, err := json.Marshal(h)
	if err != nil {
		return
	}
	tmp := holderPath(path) + ".tmp" + strconv.Itoa(h.PID)
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return
	}
	if err := os.Rename(tmp, holderPath(path)); err != nil {
		os.Remove(tmp)
	}
}

func readHolder(path string) *Holder { return readHolderFile(holderPath(path)) }

// readHolderFile reads a Holder from file: the ledger's holder file, or the
// state directory's lock file. It is nil when the file names no holder.
func readHolderFile(file string) *Holder {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var h Holder
	if json.Unmarshal(data, &h) != nil || h.PID == 0 {
		return nil
	}
	return &h
}
