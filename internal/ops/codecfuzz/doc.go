// Package codecfuzz holds FuzzCodecDecode, the fuzz target over the payload
// codec (see package ops). It lives apart from package ops, whose tests link
// an embedded Temporal server, so that a fuzzing build, which instruments
// every package it links, stays small:
//
//	go test -run='^$' -fuzz=FuzzCodecDecode -fuzztime=10s ./internal/ops/codecfuzz/
package codecfuzz
