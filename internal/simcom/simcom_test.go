package simcom

import "testing"

func TestResultCodeText(t *testing.T) {
	tests := []struct {
		code ResultCode
		want string
	}{
		{CodeOK, "operation succeeded"},
		{CodeClientBusy, "client is busy"},
		{CodeNetworkOpened, "network is opened"},
		{CodeRefusedBadCredentials, "connection refused: bad user name or password"},
		{CodeCertNotSet, "not set certificate"},
		{CodeDisconnectFailed, "disconnect from server failed"},
		{36, "unknown result code 36"},
		{-1, "unknown result code -1"},
	}
	for _, tt := range tests {
		if got := tt.code.String(); got != tt.want {
			t.Errorf("ResultCode(%d).String() = %q, want %q", int(tt.code), got, tt.want)
		}
	}
	for c := ResultCode(0); c <= CodeDisconnectFailed; c++ {
		if !c.Known() {
			t.Errorf("code %d not known", c)
		}
	}
	if ResultCode(36).Known() {
		t.Error("code 36 reported as known")
	}
}

func TestConnackMapping(t *testing.T) {
	for rc := byte(1); rc <= 5; rc++ {
		code, ok := ResultCodeFromConnack(rc)
		if !ok || code != CodeRefusedProtocol+ResultCode(rc-1) {
			t.Fatalf("ResultCodeFromConnack(%d) = %d, %v", rc, code, ok)
		}
		back, ok := code.ConnackReturnCode()
		if !ok || back != rc {
			t.Fatalf("ConnackReturnCode(%d) = %d, %v; want %d", code, back, ok, rc)
		}
	}
	for _, rc := range []byte{0, 6, 0x80} {
		if _, ok := ResultCodeFromConnack(rc); ok {
			t.Errorf("ResultCodeFromConnack(%d) accepted", rc)
		}
	}
	for _, c := range []ResultCode{CodeOK, CodeClientBusy, CodeHandshakeFail} {
		if _, ok := c.ConnackReturnCode(); ok {
			t.Errorf("code %d mapped to a CONNACK return code", c)
		}
	}
}

func TestModelLimits(t *testing.T) {
	tests := []struct {
		model                Model
		clientID, keep, will Range
		maxCode              ResultCode
		certDelete           string
		hasOpTimeout         bool
	}{
		{A7600, Range{1, 128}, Range{1, 64800}, Range{1, 1024}, CodeDisconnectFailed, "AT+CCERTDELE", true},
		{SIM7600, Range{1, 23}, Range{60, 64800}, Range{1, 10240}, CodeCertNotSet, "AT+CCERTDELETE", false},
		// AutoDetect takes the stricter limit of both families.
		{AutoDetect, Range{1, 23}, Range{60, 64800}, Range{1, 1024}, CodeDisconnectFailed, "AT+CCERTDELETE", false},
	}
	for _, tt := range tests {
		l := tt.model.Limits()
		if l.ClientID != tt.clientID || l.KeepAlive != tt.keep || l.WillMessage != tt.will {
			t.Errorf("%v: limits %+v", tt.model, l)
		}
		if l.MaxResultCode != tt.maxCode || l.CertDeleteCmd != tt.certDelete || l.HasOpTimeout != tt.hasOpTimeout {
			t.Errorf("%v: dialect %+v", tt.model, l)
		}
		if l.Topic != (Range{1, 1024}) || l.Payload != (Range{1, 10240}) || l.ServerAddr != (Range{9, 256}) ||
			l.PubTimeout != (Range{60, 180}) || l.SSLContext != (Range{0, 9}) || l.ClientIndex != (Range{0, 1}) {
			t.Errorf("%v: shared limits %+v", tt.model, l)
		}
	}
	if !(Range{1, 3}).Contains(3) || (Range{1, 3}).Contains(4) || (Range{9, 256}).String() != "9-256" {
		t.Error("Range helpers")
	}
}
