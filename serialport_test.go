package cellmqtt

import (
	"testing"

	"github.com/cellmqtt/cellmqtt/modemsim"
)

// TestIntegrationSerialPortTCP: SetSerialPort takes the tcp://HOST:PORT
// addresses the CLI's --port and "cellmqtt sim --listen" use.
func TestIntegrationSerialPortTCP(t *testing.T) {
	e := newEnv(t, modemsim.Config{})
	o := e.options("tcp-port")
	o.Transport = nil // options attached an in-memory host; TCP replaces it
	addr, err := e.sim.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o.SetSerialPort("tcp://"+addr.String(), 0)
	p := e.peer("tcp-port")
	c := e.connect(o)
	mustWait(t, "publish", c.Publish("tcp-port", 1, false, "over a TCP bridge"))
	p.waitAll(t, []string{"over a TCP bridge"})
}
