//go:build !linux

package main

// usbInterfaceNumber is unknown on this OS: the enumerator does not report it.
func usbInterfaceNumber(port string) int { return -1 }
