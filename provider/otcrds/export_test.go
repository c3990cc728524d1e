package otcrds

import "time"

// SetClock replaces the driver's clock (token refresh timing) in tests.
func (d *Driver) SetClock(now func() time.Time) { d.now = now }
