package reports

import (
	"strconv"

	"golang.org/x/text/encoding/charmap"
)

func strconvItoa(n int) string { return strconv.Itoa(n) }

func charmapEncode(s string) ([]byte, error) {
	return charmap.Windows1252.NewEncoder().Bytes([]byte(s))
}
