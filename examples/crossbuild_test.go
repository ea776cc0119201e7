// Package examples holds runnable example programs, one per directory, and
// the cross-build test of the command-line tool and the minimal publisher.
package examples

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

// crossTargets are the platforms cellmqtt runs on: Raspberry Pi class
// gateways (arm v6/v7, arm64), OpenWrt routers (mips, mipsle), PCs and Macs.
var crossTargets = []struct{ goos, goarch, goarm string }{
	{"linux", "arm", "6"},
	{"linux", "arm", "7"},
	{"linux", "arm64", ""},
	{"linux", "mipsle", ""},
	{"linux", "mips", ""},
	{"linux", "amd64", ""},
	{"windows", "amd64", ""},
	{"darwin", "arm64", ""},
}

// TestCrossBuild builds the tool and the example publisher (examples/pub)
// for every target with CGO_ENABLED=0, and for linux/arm also the minimal
// publisher (examples/pub -tags nosim: the library without the emulator)
// whose stripped size the README quotes. The builds share the go build
// cache and run two at a time (CI machines have two cores); a cold cache
// costs about a minute of CPU per target, so the test runs only under
// CELLMQTT_LONG=1 (as .ci/run does). Each target logs a line when it is
// built: `CELLMQTT_LONG=1 go test -v -run TestCrossBuild ./examples` shows
// the progress.
func TestCrossBuild(t *testing.T) {
	if os.Getenv("CELLMQTT_LONG") != "1" {
		t.Skip("cross-builds of 8 targets take minutes on a cold build cache: set CELLMQTT_LONG=1 to run them")
	}
	// go test puts the go command that runs it first on PATH.
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	ctx := context.Background()
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-30*time.Second))
		defer cancel()
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(2)
	sizes := make([]string, len(crossTargets))
	start := time.Now()
	for i, tgt := range crossTargets {
		g.Go(func() error {
			name := tgt.goos + "-" + tgt.goarch
			if tgt.goarm != "" {
				name += "v" + tgt.goarm
			}
			env := append(os.Environ(), "CGO_ENABLED=0", "GOOS="+tgt.goos, "GOARCH="+tgt.goarch, "GOARM="+tgt.goarm, "GOFLAGS=-buildvcs=false")
			build := func(dir string, args ...string) error {
				args = append([]string{"build", "-trimpath", "-ldflags=-s -w", "-o", dir + string(filepath.Separator)}, args...)
				cmd := exec.CommandContext(ctx, goBin, args...)
				cmd.Dir = ".."
				cmd.Env = env
				if b, err := cmd.CombinedOutput(); err != nil {
					return fmt.Errorf("%s: go %s: %v\n%s", name, strings.Join(args, " "), err, b)
				}
				return nil
			}
			t0 := time.Now()
			dir := filepath.Join(out, name)
			if err := build(dir, "./cmd/cellmqtt", "./examples/pub"); err != nil {
				return err
			}
			exe := ""
			if tgt.goos == "windows" {
				exe = ".exe"
			}
			tool, err := os.Stat(filepath.Join(dir, "cellmqtt"+exe))
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			pub, err := os.Stat(filepath.Join(dir, "pub"+exe))
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			line := fmt.Sprintf("%-15s cellmqtt %5.1f MiB  examples/pub %5.1f MiB", name, mib(tool.Size()), mib(pub.Size()))
			if tgt.goarch == "arm" {
				minDir := filepath.Join(out, name+"-nosim")
				if err := build(minDir, "-tags", "nosim", "./examples/pub"); err != nil {
					return err
				}
				st, err := os.Stat(filepath.Join(minDir, "pub"))
				if err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
				line += fmt.Sprintf("  minimal publisher (-tags nosim) %.1f MiB (%d bytes)", mib(st.Size()), st.Size())
			}
			sizes[i] = line + fmt.Sprintf("  [%s]", time.Since(t0).Round(time.Second))
			t.Logf("built %s in %s", name, time.Since(t0).Round(time.Second))
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	t.Logf("stripped sizes (-ldflags=\"-s -w\"), built in %s:\n%s", time.Since(start).Round(time.Second), strings.Join(sizes, "\n"))
}

// mib converts bytes to MiB.
func mib(n int64) float64 { return float64(n) / (1 << 20) }
