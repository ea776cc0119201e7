package testscript

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cellmqtt/cellmqtt/modemsim"
)

// inject runs one fault command on the emulator.
// TODO(wiring): replaced by modemsim's (*Sim).Inject when it lands on main.
func inject(sim *modemsim.Sim, line string) error {
	f := strings.Fields(line)
	num := func(i int) (int, error) {
		if i >= len(f) {
			return 0, fmt.Errorf("%s: missing argument", f[0])
		}
		return strconv.Atoi(f[i])
	}
	switch f[0] {
	case "drop":
		idx, err := num(1)
		if err != nil {
			return err
		}
		cause, err := num(2)
		if err != nil {
			return err
		}
		return sim.DropConnection(idx, cause)
	case "ping":
		idx, err := num(1)
		if err != nil {
			return err
		}
		return sim.KeepaliveFail(idx)
	case "nonet":
		sim.NoNetwork()
	case "restore":
		sim.RestoreNetwork()
	case "reboot":
		sim.Reboot()
	case "noise":
		sim.Noise([]byte(strings.TrimSpace(strings.TrimPrefix(line, "noise"))))
	case "dropanswer":
		sim.DropNextAnswer()
	case "stall":
		d, err := time.ParseDuration(f[1])
		if err != nil {
			return err
		}
		sim.Stall(d)
	case "unstall":
		sim.Unstall()
	case "unplug":
		sim.Unplug()
	default:
		return fmt.Errorf("unknown fault %q", f[0])
	}
	return nil
}
