//go:build !linux

package main

// portHolders cannot look at other processes on this OS.
func portHolders(port string) []holder { return nil }

// modemManagerPID: ModemManager is a Linux service.
func modemManagerPID() int { return 0 }

// mmIgnored: ModemManager is a Linux service.
func mmIgnored(port string) bool { return false }
