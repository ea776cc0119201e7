package atmodem

import "github.com/cellmqtt/cellmqtt/internal/simcom"

// Model is a SIMCom modem family: A7600, SIM7600 or AutoDetect. The families
// differ in limits, command names and response orders (see Limits).
type Model = simcom.Model

// The model families.
const (
	// AutoDetect asks the modem (ATI / AT+CGMM) which family it is; until it
	// is known, the stricter limit of both families applies.
	AutoDetect = simcom.AutoDetect
	// A7600 is the A7600 series: A7670, A7672, A7608 ...
	A7600 = simcom.A7600
	// SIM7600 is the SIM7500/SIM7600/SIM7800 series.
	SIM7600 = simcom.SIM7600
)

// Limits are the parameter ranges of one model family; see Model.Limits.
type Limits = simcom.Limits

// Range is an inclusive integer range of a manual.
type Range = simcom.Range
