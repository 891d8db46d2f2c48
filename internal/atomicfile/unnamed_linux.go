package atomicfile

import (
	"errors"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// createUnnamed opens a new file in dir that has no name (O_TMPFILE): if the
// process dies before linkUnnamed, the system frees it and nothing is left.
func createUnnamed(dir string) (*os.File, error) {
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err // e.g. a file system without O_TMPFILE: the caller names one
	}
	return os.NewFile(uintptr(fd), dir+"/(unnamed)"), nil
}

// linkUnnamed gives f, made by createUnnamed, a name in dir made from pattern.
func linkUnnamed(f *os.File, dir, pattern string) (string, error) {
	proc := "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
	for range 100 {
		name := randomName(dir, pattern)
		err := unix.Linkat(unix.AT_FDCWD, proc, unix.AT_FDCWD, name, unix.AT_SYMLINK_FOLLOW)
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		if err != nil {
			return "", &os.LinkError{Op: "link", Old: proc, New: name, Err: err}
		}
		return name, nil
	}
	return "", &os.PathError{Op: "link", Path: dir, Err: os.ErrExist}
}
