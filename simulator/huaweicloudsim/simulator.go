package huaweicloudsim

import (
	"github.com/backupflow/backupflow/simulator/simkit"
)

// Simulator is what the family's simulators share around their APIs: the
// kit's clock, fault injection and call counting, and the gateway in front
// of the API, with the Backend controls over them. Each provider's Server
// embeds it.
type Simulator struct {
	simkit.Base
}

// NewSimulator returns a Simulator that is not serving yet (see Serve).
func NewSimulator() *Simulator { return &Simulator{} }

// Serve puts gw, on sim's clock, faults and call counter, in front of the
// API and serves it on addr (loopback only). It is a function, not a method,
// so that it does not join the method set of the Servers that embed Simulator.
func Serve(sim *Simulator, addr string, gw *Gateway) error {
	gw.Clock, gw.Faults, gw.Calls = &sim.Clock, &sim.FaultInjector, &sim.CallCounter
	return sim.Base.Serve(simkit.ServeHTTP(addr, gw))
}

// MustInstance returns fixture instance id of a family simulator's
// instances; asking for one the fixture lacks is a test's mistake, so it
// panics naming call (the test control that asked).
func MustInstance[I any](instances map[string]I, call, id string) I {
	in, ok := instances[id]
	if !ok {
		panic(call + ": no instance " + id)
	}
	return in
}

// AnswerNext makes the next call (IAM calls excepted) fail with status and
// code, whatever it asked.
func (s *Simulator) AnswerNext(status int, code, message string) {
	s.Queue(simkit.Fault{Answer: &APIError{Status: status, Code: code, Message: message}})
}
