package atmodem

import (
	"context"
	"errors"
	"testing"
)

const ati7670 = "\r\nManufacturer: SIMCOM INCORPORATED\r\nModel: A7670E-LASE\r\nRevision: A7670M7_V1.11.1\r\nIMEI: 861234567890123\r\n+GCAP: +CGSM,+FCLASS,+DS\r\n\r\nOK\r\n"

func TestNetworkCommands(t *testing.T) {
	runSpecs(t, []cmdSpec{
		{name: "AT", call: func(ctx context.Context, m *Modem) error { return m.Ping(ctx) }, line: "AT", index: -1},
		{name: "ATE0", call: func(ctx context.Context, m *Modem) error { return m.EchoOff(ctx) }, line: "ATE0", index: -1},
		{name: "CGDCONT", call: func(ctx context.Context, m *Modem) error { return m.SetAPN(ctx, 1, "IP", "CMNET") },
			line: `AT+CGDCONT=1,"IP","CMNET"`, index: -1},
		{name: "CGSOCKCONT", call: func(ctx context.Context, m *Modem) error { return m.SetSocketAPN(ctx, 1, "IP", "CMNET") },
			line: `AT+CGSOCKCONT=1,"IP","CMNET"`, index: -1},
		{name: "CGDCONT empty APN", call: func(ctx context.Context, m *Modem) error { return m.SetAPN(ctx, 2, "IPV4V6", "") },
			line: `AT+CGDCONT=2,"IPV4V6",""`, index: -1},
	})
}

func TestNetworkReadCommands(t *testing.T) {
	runReadCases(t, []readCase{
		{name: "ATI", steps: []step{{expect: "ATI\r", reply: ati7670}},
			call: func(ctx context.Context, m *Modem) (any, error) { return m.Identity(ctx) },
			want: Identity{Manufacturer: "SIMCOM INCORPORATED", Model: "A7670E-LASE", Revision: "A7670M7_V1.11.1", IMEI: "861234567890123"}},
		{name: "CGMM", steps: []step{{expect: "AT+CGMM\r", reply: "\r\nSIMCOM_SIM7600G-H\r\n\r\nOK\r\n"}},
			call: func(ctx context.Context, m *Modem) (any, error) { return m.ModelName(ctx) },
			want: "SIMCOM_SIM7600G-H"},
		{name: "IMEI CGSN", steps: []step{{expect: "AT+CGSN\r", reply: "\r\n861234567890123\r\n\r\nOK\r\n"}},
			call: func(ctx context.Context, m *Modem) (any, error) { return m.IMEI(ctx) },
			want: "861234567890123"},
		{name: "IMEI SIMEI fallback", steps: []step{
			{expect: "AT+CGSN\r", reply: "\r\nERROR\r\n"},
			{expect: "AT+SIMEI?\r", reply: "\r\n+SIMEI: 868822040061788\r\n\r\nOK\r\n"}},
			call: func(ctx context.Context, m *Modem) (any, error) { return m.IMEI(ctx) },
			want: "868822040061788"},
		{name: "CPIN", steps: []step{{expect: "AT+CPIN?\r", reply: "\r\n+CPIN: READY\r\n\r\nOK\r\n"}},
			call: func(ctx context.Context, m *Modem) (any, error) { return m.SIMState(ctx) },
			want: "READY"},
		{name: "CSQ", steps: []step{{expect: "AT+CSQ\r", reply: "\r\n+CSQ: 23,0\r\n\r\nOK\r\n"}},
			call: func(ctx context.Context, m *Modem) (any, error) { return m.SignalQuality(ctx) },
			want: Signal{RSSI: 23, BER: 0}},
		{name: "CREG", steps: []step{{expect: "AT+CREG?\r", reply: "\r\n+CREG: 0,1\r\n\r\nOK\r\n"}},
			call: func(ctx context.Context, m *Modem) (any, error) { return m.Registration(ctx, RegCS) },
			want: RegRegisteredHome},
		{name: "CGREG", steps: []step{{expect: "AT+CGREG?\r", reply: "\r\n+CGREG: 0,5\r\n\r\nOK\r\n"}},
			call: func(ctx context.Context, m *Modem) (any, error) { return m.Registration(ctx, RegGPRS) },
			want: RegRegisteredRoaming},
		{name: "CEREG with location", steps: []step{{expect: "AT+CEREG?\r", reply: "\r\n+CEREG: 2,2,\"1A2B\",\"0001ABCD\",7\r\n\r\nOK\r\n"}},
			call: func(ctx context.Context, m *Modem) (any, error) { return m.Registration(ctx, RegEPS) },
			want: RegSearching},
		{name: "CGPADDR", steps: []step{{expect: "AT+CGPADDR\r", reply: "\r\n+CGPADDR: 1,10.49.14.68\r\n+CGPADDR: 4,0.0.0.0\r\n\r\nOK\r\n"}},
			call: func(ctx context.Context, m *Modem) (any, error) { return m.PDPAddresses(ctx) },
			want: []PDPAddress{{CID: 1, Addrs: []string{"10.49.14.68"}}, {CID: 4, Addrs: []string{"0.0.0.0"}}}},
	})
}

func TestDetectModel(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
		want  Model
		fail  bool
	}{
		{"ATI A7670", []step{{expect: "ATI\r", reply: ati7670}}, A7600, false},
		{"ATI SIM7600", []step{{expect: "ATI\r", reply: "\r\nManufacturer: SIMCOM INCORPORATED\r\nModel: SIMCOM_SIM7600E-H\r\nRevision: x\r\n\r\nOK\r\n"}}, SIM7600, false},
		{"ATI refused, CGMM SIM7800", []step{{expect: "ATI\r", reply: "\r\nERROR\r\n"}, {expect: "AT+CGMM\r", reply: "\r\nSIM7800G\r\n\r\nOK\r\n"}}, SIM7600, false},
		{"ATI without model, CGMM A7608", []step{{expect: "ATI\r", reply: "\r\nSIMCOM\r\n\r\nOK\r\n"}, {expect: "AT+CGMM\r", reply: "\r\nA7608SA-H\r\n\r\nOK\r\n"}}, A7600, false},
		{"unknown model", []step{{expect: "ATI\r", reply: "\r\nModel: SIM800L\r\n\r\nOK\r\n"}, {expect: "AT+CGMM\r", reply: "\r\nSIM800L\r\n\r\nOK\r\n"}}, AutoDetect, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			forEachDelivery(t, func(t *testing.T, mode delivery) {
				m, _ := startModem(t, mode, tc.steps)
				got, err := m.DetectModel(testCtx(t))
				if (err != nil) != tc.fail || got != tc.want || m.Model() != tc.want {
					t.Fatalf("DetectModel = %v, %v (Model() %v); want %v, fail %v", got, err, m.Model(), tc.want, tc.fail)
				}
			})
		})
	}
}

func TestWaitNetwork(t *testing.T) {
	forEachDelivery(t, func(t *testing.T, mode delivery) {
		m, _ := startModem(t, mode, []step{
			{expect: "AT+CEREG?\r", reply: "\r\n+CEREG: 0,2\r\n\r\nOK\r\n"},
			{expect: "AT+CGREG?\r", reply: "\r\nERROR\r\n"},
			{expect: "AT+CEREG?\r", reply: "\r\n+CEREG: 0,5\r\n\r\nOK\r\n"},
		}, WithModel(A7600))
		if err := m.WaitNetwork(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	})
}

func TestWaitNetworkContextEnds(t *testing.T) {
	steps := []step{
		{expect: "AT+CEREG?\r", reply: "\r\n+CEREG: 0,3\r\n\r\nOK\r\n"},
		{expect: "AT+CGREG?\r", reply: "\r\n+CGREG: 0,0\r\n\r\nOK\r\n"},
	}
	m, sm := startModem(t, deliverWhole, steps, WithModel(A7600))
	// The context ends once the modem said "not registered" to both.
	err := m.WaitNetwork(cancelAfter(t, testCtx(t), sm.reached(len(steps))))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestSignalDBm(t *testing.T) {
	for _, tc := range []struct {
		rssi, dbm int
		ok        bool
	}{{0, -113, true}, {23, -67, true}, {31, -51, true}, {99, 0, false}} {
		if dbm, ok := (Signal{RSSI: tc.rssi}).DBm(); dbm != tc.dbm || ok != tc.ok {
			t.Errorf("RSSI %d: %d, %v; want %d, %v", tc.rssi, dbm, ok, tc.dbm, tc.ok)
		}
	}
}
