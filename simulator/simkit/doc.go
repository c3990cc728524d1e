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
//     the Server type and its Backend methods (Inventory, AddForeign, and
//     whatever Base does not serve the provider's own way);
//   - server.go: the wire protocol: routing, authentication, the request
//     handlers and how injected faults are answered;
//   - model.go: the backup and operation (task, job) state machine;
//   - errors.go: the provider's error codes and how they are sent;
//   - fixture.go: the built-in fixture, its constants, and CreateSection
//     (and CopySection where the provider can copy);
//   - register.go: the simkit.Registration (the worker environment that
//     points a worker at the simulator, the fixture's sections, the
//     driver's ownership-proof declaration), registered from init;
//   - *_test.go: the simulator's own tests (simulator_test.go for the
//     Backend controls and faults, server_test.go for the wire protocol,
//     doc_test.go for the documented codes and states).
//
// Code shared by a family of APIs lives in a package of its own with the
// same roles where it has them (huaweicloudsim for the Huawei Cloud family).
package simkit
