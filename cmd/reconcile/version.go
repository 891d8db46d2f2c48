package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// version says which reconcile this is, for --version and bug reports:
// the module version, the commit it was built from and when that was
// committed, and the Go that built it, all from the build information the
// go command records in the binary.
func version() string {
	bi, _ := debug.ReadBuildInfo()
	return versionText(bi)
}

func versionText(bi *debug.BuildInfo) string {
	mod, goVersion := "(unknown)", runtime.Version()
	var rev, when, modified string
	if bi != nil {
		if bi.Main.Version != "" {
			mod = bi.Main.Version
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = ", with local changes"
				}
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "reconcile %s\n", mod)
	switch {
	case rev != "" && when != "":
		fmt.Fprintf(&b, "commit %s (%s%s)\n", rev, when, modified)
	case rev != "":
		fmt.Fprintf(&b, "commit %s%s\n", rev, modified)
	default:
		b.WriteString("commit unknown (built without version control information)\n")
	}
	fmt.Fprintf(&b, "built with %s for %s/%s", goVersion, runtime.GOOS, runtime.GOARCH)
	return b.String()
}
