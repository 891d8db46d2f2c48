//go:build !unix

package spill

import "os"

// running reports whether a process pid exists: on Windows FindProcess
// opens it, and fails when there is none.
func running(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}
