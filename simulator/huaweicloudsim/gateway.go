package huaweicloudsim

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/backupflow/backupflow/simulator/simkit"
)

// Gateway fronts a simulated provider API the way the cloud's API gateway
// does: it counts calls, adds latency, authenticates, injects faults, stamps
// X-Request-Id and Date (from the simulator clock), and answers unknown paths
// with the provider's error shape.
type Gateway struct {
	Clock  *simkit.Clock
	Faults *simkit.FaultInjector
	Calls  *simkit.CallCounter
	// Authenticate returns nil for an authenticated request, else the 401/403 answer.
	Authenticate func(r *http.Request, body []byte) *APIError
	// IsCreate reports whether r is a create call (for LoseNextCreate and DropNextCreate).
	IsCreate func(r *http.Request) bool
	// Open serves requests that need no authentication and get no faults
	// (the IAM token endpoint); nil when there are none.
	Open func(r *http.Request) bool
	// API serves authenticated calls; it reads the body from r.Body.
	API http.Handler
	// CodePrefix is the prefix of the codes the gateway answers with itself
	// (authentication, throttling): "" keeps Huawei Cloud's APIGW.xxxx; Open
	// Telekom Cloud's gateway answers APIG.xxxx with the same numbers.
	CodePrefix string

	reqs atomic.Int64
}

// IsPostTo returns an IsCreate that matches POSTs to paths ending in suffix.
func IsPostTo(suffix string) func(r *http.Request) bool {
	return func(r *http.Request) bool {
		return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, suffix)
	}
}

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.Calls.Count("") // authenticated or not, faulted or not
	w.Header().Set("X-Request-Id", strconv.FormatInt(time.Now().UnixNano(), 36)+"-"+strconv.FormatInt(g.reqs.Add(1), 10))
	w.Header().Set("Date", g.Clock.Now().UTC().Format(http.TimeFormat))
	body, err := io.ReadAll(r.Body)
	if err != nil {
		WriteError(w, Invalid("unreadable request body"))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if g.Faults.Delay(r.Context()) != nil {
		return
	}
	if g.Open != nil && g.Open(r) {
		g.API.ServeHTTP(w, r)
		return
	}
	if e := g.Authenticate(r, body); e != nil {
		WriteError(w, g.own(e))
		return
	}
	ft, faulted := g.Faults.Next("", g.IsCreate != nil && g.IsCreate(r))
	if !faulted {
		g.API.ServeHTTP(w, r)
		return
	}
	switch ft.Kind {
	case simkit.Drop:
		simkit.DropConnection(w, true) // nothing applied
		return
	case simkit.Refuse:
		WriteError(w, g.own(faultAnswer(ft)))
		return
	}
	// Apply the call, then drop the connection before any response byte.
	rec := &discardWriter{header: http.Header{}}
	r.Body = io.NopCloser(bytes.NewReader(body))
	g.API.ServeHTTP(rec, r)
	simkit.DropConnection(w, true)
}

// huaweiGatewayPrefix starts the codes of Huawei Cloud's API gateway.
const huaweiGatewayPrefix = "APIGW."

// own is e with the gateway's code prefix, for an answer the gateway gives itself.
func (g *Gateway) own(e *APIError) *APIError {
	rest, ok := strings.CutPrefix(e.Code, huaweiGatewayPrefix)
	if g.CodePrefix == "" || !ok {
		return e
	}
	cp := *e
	cp.Code = g.CodePrefix + "." + rest
	return &cp
}

// discardWriter swallows the response of a call whose answer gets lost.
type discardWriter struct{ header http.Header }

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}
