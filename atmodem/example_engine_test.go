package atmodem_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"time"

	"github.com/cellmqtt/cellmqtt/atmodem"
)

// fakeModem answers AT+CSQ on its end of a pipe, like a modem with echo off.
func fakeModem(conn net.Conn, done chan<- struct{}) {
	defer close(done)
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\r')
		if err != nil {
			return
		}
		switch line {
		case "AT+CSQ\r":
			fmt.Fprint(conn, "\r\n+CSQ: 23,0\r\n\r\n+CMQTTCONNLOST: 0,1\r\n\r\nOK\r\n")
		case "AT+CMEE?\r":
			fmt.Fprint(conn, "\r\n+CMEE: 0\r\n\r\nOK\r\n")
		default:
			fmt.Fprint(conn, "\r\nERROR\r\n")
		}
	}
}

// New runs the engine on any byte stream; Command returns the information
// lines of the answer, without the unsolicited result codes that arrived
// in between (those go to the sessions). Before the first command the
// engine proves with two marker commands (AT+CSQ, AT+CMEE?) that what it
// reads are answers to its own commands, not a previous program's.
func ExampleNew() {
	host, device := net.Pipe()
	done := make(chan struct{})
	go fakeModem(device, done)

	m := atmodem.New(host, atmodem.WithModel(atmodem.A7600))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	lines, err := m.Command(ctx, "AT+CSQ")
	fmt.Println(lines, err)
	_, err = m.Command(ctx, "AT+NOPE")
	fmt.Println(err)

	m.Close()
	device.Close()
	<-done
	// Output:
	// [+CSQ: 23,0] <nil>
	// atmodem: command failed: AT+NOPE: ERROR
}
