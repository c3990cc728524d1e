package huaweicloudsim

import (
	"net"
	"net/http"
	"time"

	"github.com/backupflow/backupflow/provider"
)

// Simulator is what the family's simulators share around their APIs: the
// clock, fault injection, the gateway and the listener, with the
// providertest.Backend controls over them. Each provider's Server embeds it.
type Simulator struct {
	clock  *Clock
	faults *Faults
	gw     *Gateway
	srv    *http.Server
	ln     net.Listener
}

// NewSimulator returns a Simulator that is not serving yet (see Serve).
func NewSimulator() *Simulator { return &Simulator{clock: &Clock{}, faults: &Faults{}} }

// Serve puts gw, on sim's clock and faults, in front of the API and serves it
// on addr (loopback only). It is a function, not a method, so that it does not
// join the method set of the Servers that embed Simulator.
func Serve(sim *Simulator, addr string, gw *Gateway) error {
	gw.Clock, gw.Faults = sim.clock, sim.faults
	srv, ln, err := Listen(addr, gw)
	if err != nil {
		return err
	}
	sim.gw, sim.srv, sim.ln = gw, srv, ln
	return nil
}

// Endpoint is the base URL to give the SDK (http://127.0.0.1:PORT).
func (s *Simulator) Endpoint() string { return "http://" + s.ln.Addr().String() }

// Close stops the simulator.
func (s *Simulator) Close() { _ = s.srv.Close() }

// Now is the simulator's clock.
func (s *Simulator) Now() time.Time { return s.clock.Now() }

// Advance moves the clock: running backups progress (and tokens age) by d.
func (s *Simulator) Advance(d time.Duration) { s.clock.Advance(d) }

// Calls counts API calls received (IAM calls included).
func (s *Simulator) Calls() int { return s.gw.Calls() }

// LoseNextCreate makes the next create apply and then lose its response.
func (s *Simulator) LoseNextCreate() { s.faults.LoseNextCreate() }

// DropNextCreate makes the next create fail before it applies, as a
// connection dropped while sending.
func (s *Simulator) DropNextCreate() { s.faults.DropNextCreate() }

// FailNext makes the next n calls fail with class (Unavailable: 503,
// Throttled: 429 with Retry-After, Busy: 409). IAM calls get no faults.
func (s *Simulator) FailNext(class provider.Class, n int, retryAfter time.Duration) {
	s.faults.FailNext(class, n, retryAfter)
}

// AnswerNext makes the next call (IAM calls excepted) fail with status and
// code, whatever it asked.
func (s *Simulator) AnswerNext(status int, code, message string) {
	s.faults.AnswerNext(&APIError{Status: status, Code: code, Message: message})
}

// SetLatency delays every call by d.
func (s *Simulator) SetLatency(d time.Duration) { s.faults.SetLatency(d) }

// SetFaultRate injects random retryable faults with probability p per call
// (IAM calls excepted).
func (s *Simulator) SetFaultRate(p float64, seed int64) { s.faults.SetFaultRate(p, seed) }

// Faults counts injected faults.
func (s *Simulator) Faults() int { return s.faults.Injected() }
