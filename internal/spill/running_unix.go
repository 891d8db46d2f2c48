//go:build unix

package spill

import (
	"errors"
	"syscall"
)

// running reports whether a process pid exists: signal 0 is checked but
// not sent. A process of another user exists too (EPERM).
func running(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
