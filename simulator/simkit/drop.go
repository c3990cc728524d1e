package simkit

import (
	"net"
	"net/http"
)

// DropConnection closes the client's connection without an answer, as when
// a connection breaks. With reset, the close is a TCP reset (as a dropped
// connection looks to the client); otherwise an orderly close.
func DropConnection(w http.ResponseWriter, reset bool) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Cannot hijack (HTTP/2): abort the handler, which resets the stream.
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok && reset {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
