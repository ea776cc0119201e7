package queue

import (
	"strconv"
	"syscall"
	"testing"
)

func init() { mountSmallTmpfs = mountTmpfs }

// mountTmpfs mounts a tmpfs of size bytes on a new temporary directory,
// unmounted when the test ends, and returns it; "" when this process may
// not mount (not root).
func mountTmpfs(t *testing.T, size int64) string {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+strconv.FormatInt(size, 10)); err != nil {
		t.Logf("mount tmpfs: %v", err)
		return ""
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}
