package alirds

// ClockSkew exposes clockSkew to the tests.
const ClockSkew = clockSkew
