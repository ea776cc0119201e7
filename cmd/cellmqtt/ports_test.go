package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// fakeSystem builds a sysfs/procfs tree under a temp dir with one SIMCom
// SIM7600 (interfaces 0-4 as ttyUSB0-4) and points sysRoot and listPorts at
// it. holderOf names the tty ModemManager has open ("" for none).
func fakeSystem(t *testing.T, pid string, holderOf string, ignored bool) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("sysfs and procfs are Linux")
	}
	root := t.TempDir()
	mk := func(path, content string) {
		t.Helper()
		p := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, path string) {
		t.Helper()
		p := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	var ports []portInfo
	for i := 0; i < 5; i++ {
		tty := "ttyUSB" + string(rune('0'+i))
		ifdir := filepath.Join(root, "sys/devices/usb1/1-1/1-1:1."+string(rune('0'+i)))
		mk(strings.TrimPrefix(ifdir, root)+"/bInterfaceNumber", "0"+string(rune('0'+i))+"\n")
		mk(strings.TrimPrefix(ifdir, root)+"/"+tty+"/tty/"+tty+"/dev", "188:"+string(rune('0'+i))+"\n")
		link(filepath.Join(ifdir, tty), "sys/class/tty/"+tty+"/device")
		mk("sys/class/tty/"+tty+"/dev", "188:"+string(rune('0'+i))+"\n")
		ports = append(ports, portInfo{Name: "/dev/" + tty, USB: true, VID: "1E0E", PID: pid, Product: "SimTech"})
	}
	ports = append(ports, portInfo{Name: "/dev/ttyS0", Interface: -1})
	if holderOf != "" {
		mk("proc/4242/comm", "ModemManager\n")
		link(holderOf, "proc/4242/fd/7")
		if ignored {
			mk("run/udev/data/c188:2", "E:ID_MM_DEVICE_IGNORE=1\n")
		}
	}
	oldRoot, oldList := sysRoot, listPorts
	sysRoot = root
	listPorts = func() ([]portInfo, error) {
		out := make([]portInfo, len(ports))
		for i, p := range ports {
			p.Interface = -1
			if p.USB {
				p.Interface = usbInterfaceNumber(p.Name)
			}
			out[i] = p
		}
		return out, nil
	}
	t.Cleanup(func() { sysRoot, listPorts = oldRoot, oldList })
}

func TestPortsCommand(t *testing.T) {
	tests := []struct {
		name     string
		pid      string
		holder   string
		ignored  bool
		args     []string
		want     []string
		wantNot  []string
		autoPort string
	}{
		{
			name:     "SIM7600 AT port is interface 2",
			pid:      "9001",
			want:     []string{"/dev/ttyUSB2  1e0e:9001  2   SIMCom SIM7500/SIM7600/SIM7800", "AT port (--port auto, --model sim7600)", "not the AT port (that is interface 2)"},
			wantNot:  []string{"ttyS0", "ModemManager"},
			autoPort: "/dev/ttyUSB2",
		},
		{
			name:     "A7600 AT port is interface 4",
			pid:      "9011",
			args:     []string{"--all"},
			want:     []string{"/dev/ttyUSB4  1e0e:9011  4", "AT port (--port auto, --model a7600)", "/dev/ttyS0"},
			autoPort: "/dev/ttyUSB4",
		},
		{
			name:     "ModemManager holds the AT port",
			pid:      "9001",
			holder:   "/dev/ttyUSB2",
			want:     []string{"open in ModemManager (pid 4242)", "ModemManager is running (pid 4242)", `ATTRS{idVendor}=="1e0e", ATTRS{idProduct}=="9001", ENV{ID_MM_DEVICE_IGNORE}="1"`},
			autoPort: "/dev/ttyUSB2",
		},
		{
			name:     "ModemManager told to ignore the modem",
			pid:      "9001",
			holder:   "/dev/ttyUSB3",
			ignored:  true,
			want:     []string{"open in ModemManager (pid 4242)"},
			wantNot:  []string{"ID_MM_DEVICE_IGNORE"},
			autoPort: "/dev/ttyUSB2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fakeSystem(t, tt.pid, tt.holder, tt.ignored)
			var out, errb bytes.Buffer
			if code := runPorts(context.Background(), tt.args, nil, &out, &errb); code != exitOK {
				t.Fatalf("exit %d, stderr %q", code, errb.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(out.String(), w) {
					t.Errorf("output has %q:\n%s", w, out.String())
				}
			}
			got, err := autoPort()
			if err != nil || got != tt.autoPort {
				t.Errorf("autoPort() = %q, %v; want %q", got, err, tt.autoPort)
			}
		})
	}
}

func TestAutoPortNoModem(t *testing.T) {
	old := listPorts
	listPorts = func() ([]portInfo, error) { return []portInfo{{Name: "/dev/ttyS0", Interface: -1}}, nil }
	t.Cleanup(func() { listPorts = old })
	_, err := autoPort()
	if err == nil || !strings.Contains(err.Error(), "no SIMCom modem found") {
		t.Fatalf("autoPort() error = %v, want no SIMCom modem found", err)
	}
}

func TestAutoPortUnknownInterface(t *testing.T) {
	old := listPorts
	listPorts = func() ([]portInfo, error) {
		return []portInfo{{Name: "COM5", USB: true, VID: "1E0E", PID: "9001", Interface: -1}}, nil
	}
	t.Cleanup(func() { listPorts = old })
	_, err := autoPort()
	if err == nil || !strings.Contains(err.Error(), "not which is the AT port") {
		t.Fatalf("autoPort() error = %v, want a hint to choose the port", err)
	}
}
