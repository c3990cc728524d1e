// Package clifuzz holds FuzzParseRequest and FuzzListQuery, the fuzz
// targets over the backupflow CLI's request parser and list queries (see
// package cli). They live apart from package cli, whose tests link an
// embedded Temporal server, so that a fuzzing build, which instruments
// every package it links, stays small:
//
//	go test -run='^$' -fuzz=FuzzParseRequest -fuzztime=10s ./cli/clifuzz/
package clifuzz
