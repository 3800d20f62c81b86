package peertest

import (
	"net"
	"os"
	"time"
)

// AsteriskAddrEnv names the environment variable that points the
// TestInteropAsterisk… tests at an Asterisk started with
// testdata/asterisk/docker-compose.yml, e.g. "127.0.0.1:5060".
const AsteriskAddrEnv = "VOIPKIT_ASTERISK_ADDR"

// AsteriskAddr returns the SIP address ("host:port") of the Asterisk named
// by VOIPKIT_ASTERISK_ADDR. When the variable is unset the test is skipped,
// also under CI=true: Asterisk runs only in Docker (testdata/asterisk), and
// CI has no Docker engine. When it is set but nothing answers OPTIONS there
// within 3 s, the test fails.
func AsteriskAddr(t TB) string {
	t.Helper()
	addr := os.Getenv(AsteriskAddrEnv)
	if addr == "" {
		t.Skipf("%s is not set: start Asterisk with testdata/asterisk/docker-compose.yml and set it (e.g. 127.0.0.1:5060) to run this test; CI has no Docker engine, so it skips there too", AsteriskAddrEnv)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		t.Fatalf("peertest: %s=%q: %v", AsteriskAddrEnv, addr, err)
	}
	line, err := PingSIP(addr, 3*time.Second, 200*time.Millisecond)
	if err != nil {
		t.Fatalf("peertest: %s=%s but Asterisk does not answer: %v (is `docker compose up` running in testdata/asterisk?)", AsteriskAddrEnv, addr, err)
	}
	t.Logf("asterisk at %s answers OPTIONS: %s", addr, line)
	return addr
}
