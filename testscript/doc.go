// Package testscript runs end-to-end scripts of programs that talk to a
// SIMCom modem, against the modem emulator (package modemsim) and an
// embedded MQTT broker, with github.com/rogpeppe/go-internal/testscript.
//
// A script is a txtar file of shell-like commands: it starts the program
// under test, injects the faults real modems have (a dropped broker
// connection, no network, a reboot, an unplugged cable), publishes to the
// broker and waits for what the program publishes. Setup gives every
// script its own broker and emulated modem; Commands adds the script
// commands. A test file is enough:
//
//	func TestMain(m *testing.M) {
//		testscript.Main(m, map[string]func(){"myprog": main})
//	}
//
//	func TestScripts(t *testing.T) {
//		testscript.Run(t, testscript.Params{
//			Dir:   "testdata",
//			Setup: cmtest.Setup,
//			Cmds:  cmtest.Commands(),
//		})
//	}
//
// where testscript is github.com/rogpeppe/go-internal/testscript and
// cmtest is this package, imported under another name.
//
// # Environment
//
// Setup sets these variables for each script:
//
//	MODEM_PORT   a serial port path in $WORK (a symbolic link to the
//	             emulator's pseudo-terminal) that the program opens with
//	             go.bug.st/serial, cellmqtt.ClientOptions.SetSerialPort or
//	             atmodem.Open; unset where the system has no pseudo-terminals
//	MODEM_TCP    tcp://127.0.0.1:PORT, the same AT port over TCP, for
//	             SetSerialPort, atmodem.Open or "cellmqtt --port"
//	MODEM_MODEL  a7600 or sim7600, the emulated family
//	BROKER_URL   tcp://127.0.0.1:PORT of the script's broker
//	BROKER_HOST  127.0.0.1
//	BROKER_PORT  the broker's port
//
// The emulated modem sends every AT+CMQTTCONNECT to the script's broker,
// whatever address the program names (as a network redirect would), so a
// program configured for its production broker runs unchanged.
//
// Like a real modem, the emulator has one AT port: the pseudo-terminal and
// the TCP address are two cables to it, and a TCP connection takes the
// port over from the pseudo-terminal, which closes. A script uses one of
// them; "modem plug" attaches a new pseudo-terminal at MODEM_PORT.
//
// # Commands
//
//	modem FAULT [ARGS]
//	    inject a fault with modemsim's (*Sim).Inject, the parser of the
//	    lines typed on "cellmqtt sim"'s standard input: "modem drop 0 1"
//	    (+CMQTTCONNLOST: 0,1), "modem ping 0", "modem nonet",
//	    "modem nonet silent", "modem restore", "modem reboot",
//	    "modem booting lines=2", "modem rxreboot 40", "modem noise TEXT",
//	    "modem dropanswer", "modem lateecho", "modem stall 25s",
//	    "modem unstall", "modem unplug", "modem dying pub 0 ..."
//	modem help
//	    print the fault commands (modemsim.InjectHelp)
//	modem plug
//	    after "modem unplug": a new pseudo-terminal at MODEM_PORT, as
//	    plugging the USB cable back in
//	modem wait [-timeout D] TEXT [N]
//	    wait until the modem has written TEXT to the program N times in
//	    all (default 1), e.g. "modem wait +CMQTTRXEND 2"
//	modem waitcmd [-timeout D] TEXT [N]
//	    the same for what the program wrote, e.g. "modem waitcmd AT+CMQTTPUB";
//	    "! modem wait" and "! modem waitcmd" check at once that TEXT was not
//	    written (N times) so far, e.g. that nothing reached the modem
//	mqtt pub [-q QOS] [-r] [-broker URL] TOPIC PAYLOAD
//	    publish with a plain MQTT client (paho.mqtt.golang) to the script's
//	    broker, or to another one
//	mqtt sub [-q QOS] [-broker URL] FILTER
//	    subscribe and keep every message from now on
//	mqtt sub -wait [-count N] [-match REGEXP] [-timeout D] [-broker URL] FILTER
//	    wait for N messages (default 1) on FILTER, those kept since
//	    "mqtt sub FILTER" first (subscribing now when it was not run), and
//	    print them to stdout as "topic payload" lines (a message sent
//	    before the subscription is seen only if retained: run "mqtt sub
//	    FILTER" before what publishes); with -match only
//	    messages whose "topic payload" matches count, and the others
//	    before them are dropped (a QoS 1 duplicate, an earlier state)
//	mqtt subscribed [-timeout D] TOPIC
//	    wait until some client of the script's broker (the program) is
//	    subscribed to a filter matching TOPIC
//	start NAME PROGRAM [ARGS]
//	    run a program in the background with its output watched live
//	waitline [-stderr] [-count N] [-timeout D] NAME REGEXP
//	    wait until N lines (default 1) of NAME's output match REGEXP
//	end [-INT|-TERM|-KILL] NAME
//	    (signal and) wait for NAME to exit; its output becomes stdout and
//	    stderr for the stdout and stderr commands; "! end" wants it to fail
//	exits CODE PROGRAM [ARGS]
//	    run a program like exec and want exit status CODE
//	waitport [-timeout D] PORT|HOST:PORT
//	    wait until something accepts TCP connections there
//
// Waits time out after 60 seconds unless -timeout says otherwise; a
// timed-out wait fails the script with what it saw.
package testscript
