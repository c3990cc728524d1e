package spanner

import "time"

// SetClock replaces the driver's clock (Start's expireTime re-check) in tests.
func (d *Driver) SetClock(now func() time.Time) { d.now = now }

// MarkerMicros and MarkedExpire expose the ownership marker to tests.
var (
	MarkerMicros = markerMicros
	MarkedExpire = markedExpire
)
