// Package envconfig reads a service's settings from its environment, with
// the embedded default when a variable is unset, and collects every bad
// value so that start-up reports them all at once, each by name.
//
// It must not import anything of this module.
package envconfig
