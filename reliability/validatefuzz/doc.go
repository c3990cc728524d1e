// Package validatefuzz holds FuzzValidate, the reliability suite's fuzz
// target over every provider's request validator (see package reliability).
// It lives apart from the rest of the suite so that a fuzzing build, which
// instruments every package it links, leaves out the Temporal server:
//
//	go test -run='^$' -fuzz=FuzzValidate -fuzztime=60s ./reliability/validatefuzz/
package validatefuzz
