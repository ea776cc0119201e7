// Package bridge is cellmqtt's bridge: a local MQTT broker that any number
// of local programs use, bridged over one client index of a SIMCom modem to
// a remote broker, configured with the bridge keywords of mosquitto.conf.
package bridge
