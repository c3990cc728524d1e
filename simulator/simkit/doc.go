// Package simkit is the plumbing every provider simulator shares: a movable
// clock (Clock), fault injection (FaultInjector), call counting
// (CallCounter), loopback-only serving of HTTP and gRPC (ServeHTTP,
// ServeGRPC) and the Base that ties them together with the Backend controls
// the conformance suite drives. It also holds the Backend and Simulator
// interfaces, and the registry through which internal/clouds starts every
// simulator (Register, Registered, Start).
//
// # Layout
//
// Every simulator package (spannersim, alirdssim, taurusdbsim, otcrdssim)
// has the same files with the same roles:
//
//   - simulator.go: the package doc, the test credentials, Options, Start,
//     the Server type (which embeds Base, itself or through its family's
//     package) and its Backend methods and test knobs (Inventory,
//     AddForeign, the provider's own fault controls);
//   - server.go: the wire protocol: routing, authentication, where faults
//     are injected, and the request handlers;
//   - model.go: the backup and operation (task, job) state machine;
//   - errors.go: the provider's error codes, how they are sent, and how an
//     injected fault is answered in the provider's form;
//   - fixture.go: the built-in fixture, its constants, and CreateSection
//     (and CopySection where the provider can copy);
//   - register.go: the simkit.Registration (the worker environment that
//     points a worker at the simulator, the fixture's sections, the
//     driver's ownership-proof declaration), registered from init;
//   - server_test.go: the simulator on the wire, its Backend controls
//     included, through real calls; doc_test.go: every error code and
//     state the provider's document (docs/providers) lists is one the
//     simulator produces; server_internal_test.go, where an unexported
//     piece needs a test of its own.
//
// Code shared by a family of APIs lives in a package of its own with the
// same roles where it has them (huaweicloudsim for the Huawei Cloud family).
package simkit
