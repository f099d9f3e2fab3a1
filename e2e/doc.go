// Package e2e starts every service of the demo in one process, on httptest
// servers, and walks the Cross App Access chain as a browser would.
//
// It is a module of its own because it is the only code allowed to import
// all five services.
package e2e
