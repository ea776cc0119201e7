package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

func init() {
	register(command{
		name:    "version",
		summary: "print the version (also cellmqtt --version)",
		run:     runVersion,
	})
}

// runVersion is "cellmqtt version" and "cellmqtt --version".
func runVersion(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "cellmqtt version: takes no arguments\n")
		return exitUsage
	}
	fmt.Fprintln(stdout, versionLine())
	return exitOK
}

// versionLine is "cellmqtt VERSION (commit REV) GOVERSION OS/ARCH": the
// module version go install recorded, or the commit of a build from a
// checkout.
func versionLine() string {
	version, rev, dirty := "(devel)", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		if dirty {
			rev += "+modified"
		}
		version += " (commit " + rev + ")"
	}
	return fmt.Sprintf("cellmqtt %s %s %s/%s", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
