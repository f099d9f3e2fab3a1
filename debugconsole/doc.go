// Package debugconsole records the HTTP exchanges of a Cross App Access
// chain run, as they were sent on the wire, and renders them so that a
// person can follow the protocol step by step: each request and response,
// and every token decoded with what its claims mean.
//
// Nothing recorded is usable: secrets and passwords are replaced, and tokens
// keep their header and claims but lose their signature (redact.go). Runs are
// kept in bounded memory.
//
// A service records by wrapping its outbound http.Client transport with
// Recorder.Transport and marking each step with WithStep. The package must
// not depend on any service; services depend on it.
package debugconsole
