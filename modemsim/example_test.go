package modemsim_test

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/cellmqtt/cellmqtt/internal/simcom"
	"github.com/cellmqtt/cellmqtt/modemsim"
)

// Example talks raw AT to an emulated SIM7600 over the in-memory link. No
// broker is needed until AT+CMQTTCONNECT.
func Example() {
	sim, err := modemsim.New(modemsim.Config{Model: simcom.SIM7600, Echo: modemsim.EchoOff})
	if err != nil {
		panic(err)
	}
	defer sim.Close()
	conn := sim.Conn()
	defer conn.Close()
	r := bufio.NewReader(conn)

	// send writes a command line and prints the answer lines up to last.
	send := func(cmd, last string) {
		fmt.Fprintf(conn, "%s\r", cmd)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				panic(err)
			}
			if line = strings.TrimSpace(line); line != "" {
				fmt.Println(line)
			}
			if line == last {
				return
			}
		}
	}
	send("AT+CMQTTSTART", "+CMQTTSTART: 0")
	send("AT+CMQTTSTART", "ERROR")
	send("AT+CMQTTACCQ=?", "OK")
	send(`AT+CMQTTACCQ=0,"client test0"`, "OK")
	send("AT+CMQTTDISC?", "OK")
	// Output:
	// OK
	// +CMQTTSTART: 0
	// +CMQTTSTART: 23
	// ERROR
	// +CMQTTACCQ: (0-1),(1-23),(0-1),(3-4)
	// OK
	// OK
	// +CMQTTDISC: 0,1
	// +CMQTTDISC: 1,1
	// OK
}
