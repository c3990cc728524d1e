package alirds

import "time"

// SetClock replaces the driver's clock, so tests can run it on the simulator's.
func SetClock(d *Driver, now func() time.Time) { d.now = now }

// NotListedGrace exposes notListedGrace to the tests.
const NotListedGrace = notListedGrace
