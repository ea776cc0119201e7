package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// sysRoot is where sysfs and procfs live; tests point it at a fake tree.
var sysRoot = "/"

// usbInterfaceNumber returns the USB bInterfaceNumber of a tty such as
// /dev/ttyUSB2 or /dev/ttyACM0 by walking up its sysfs device path, or -1.
func usbInterfaceNumber(port string) int {
	dev, err := filepath.EvalSymlinks(filepath.Join(sysRoot, "sys/class/tty", filepath.Base(port), "device"))
	if err != nil {
		return -1
	}
	top := filepath.Join(sysRoot, "sys")
	if t, err := filepath.EvalSymlinks(top); err == nil {
		top = t
	}
	for d := dev; strings.HasPrefix(d, top+"/"); d = filepath.Dir(d) {
		b, err := os.ReadFile(filepath.Join(d, "bInterfaceNumber"))
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 16, 32)
		if err != nil {
			return -1
		}
		return int(n)
	}
	return -1
}
