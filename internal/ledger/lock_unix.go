//go:build unix

package ledger

import (
	"errors"
	"os"
	"syscall"
)

// errLocked is lockFile's answer when another process holds the lock.
var errLocked = errors.New("locked by another process")

// lockFile takes an exclusive lock on f without waiting. The lock belongs
// to the open file: it goes when f is closed or the process dies, even by
// kill -9, so no run ever leaves a stale lock behind.
func lockFile(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errLocked
	}
	return err
}
