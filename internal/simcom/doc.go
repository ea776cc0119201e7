// Package simcom holds the tables of the two SIMCom MQTT AT command manuals
// that both the AT engine (package atmodem) and the emulator (package
// modemsim) need: the model families with their parameter limits, and the
// MQTT result-code table 0..35.
//
// It contains data and pure functions only, so the emulator can share the
// tables without importing the engine's executor. Package atmodem re-exports
// every name users need.
package simcom
