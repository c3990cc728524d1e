package spanner

import "time"

// SetClock replaces the driver's clock (Start's expireTime re-check) in tests.
func (d *Driver) SetClock(now func() time.Time) { d.now = now }
