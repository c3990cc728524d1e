package simkit

import "cmp"

// DefaultAddr is where a simulator listens unless told otherwise: a free
// loopback port.
const DefaultAddr = "127.0.0.1:0"

// Default is def when v is unset (zero, negative or empty), else v: how a
// simulator's Start fills in its Options.
func Default[T cmp.Ordered](v, def T) T {
	var zero T
	if v <= zero {
		return def
	}
	return v
}
