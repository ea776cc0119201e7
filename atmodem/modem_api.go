package atmodem

// CONTRACT STUB: what is left of the Modem contract after the engine work
// moved its declarations to modem.go, options.go and serial.go. Model
// detection belongs to the command work, which replaces this file.

import "context"

// DetectModel asks the modem (ATI, AT+CGMM) and remembers the answer.
func (m *Modem) DetectModel(ctx context.Context) (Model, error) { panic("contract stub") }
