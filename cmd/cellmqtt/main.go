// Command cellmqtt drives the MQTT client of a SIMCom A7600 or
// SIM7500/7600/7800 modem over its AT port, and ships the modem emulator,
// a local MQTT gateway and a demo that needs no hardware.
//
// Usage:
//
//	cellmqtt <command> [flags]
//
// Run "cellmqtt help" for the list of commands and "cellmqtt <command>
// -help" for the flags of one.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// Exit codes of every subcommand.
const (
	exitOK      = 0 // success
	exitRuntime = 1 // runtime error: the modem, the broker or the link failed
	exitUsage   = 2 // usage error: bad flags or arguments
)

// command is one subcommand. Each lives in its own file and registers
// itself in an init function.
type command struct {
	name    string // e.g. "pub"
	summary string // one line for "cellmqtt help"
	// run executes the command with its arguments (without the command
	// name). ctx is cancelled on SIGINT/SIGTERM. It returns the exit code.
	run func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

var commands = map[string]command{}

// register adds a subcommand; called from init functions.
func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("cellmqtt: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// main runs the command line and exits with its status.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand; it is main without the process around it,
// so the testscript suite runs it in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	case "--version", "-version":
		args = append([]string{"version"}, args[1:]...)
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "cellmqtt: unknown command %q\n\n", args[0])
		usage(stderr)
		return exitUsage
	}
	return c.run(ctx, args[1:], stdin, stdout, stderr)
}

// usage lists the commands.
func usage(w io.Writer) {
	fmt.Fprintln(w, "cellmqtt drives the MQTT client of SIMCom A7600 and SIM7500/7600/7800 modems over AT.")
	fmt.Fprintln(w, "\nUsage:\n\n  cellmqtt <command> [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun \"cellmqtt <command> -help\" for the flags and examples of one command.")
}
