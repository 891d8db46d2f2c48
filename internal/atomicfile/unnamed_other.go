//go:build !linux

package atomicfile

import (
	"errors"
	"os"
)

var errNoUnnamed = errors.New("atomicfile: no unnamed files on this system")

func createUnnamed(string) (*os.File, error) { return nil, errNoUnnamed }

func linkUnnamed(*os.File, string, string) (string, error) { return "", errNoUnnamed }
