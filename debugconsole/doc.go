// Package debugconsole shows a Cross App Access chain run the way a
// presenter explains it: a sequence diagram of the parties, and for each
// numbered step the request and response as sent, every token decoded with
// what its claims mean, the checks the receiving server made, and the curl
// command and Go code that reproduce it.
//
// Each service records its own part of a run (shared/trace); the console
// collects the steps of a run from all of them by its trace id and pairs
// the sender's record of a request with the receiver's. Nothing it shows
// can be replayed: secrets are hidden and tokens lose their signatures.
//
// It must not depend on any service; the wiki mounts it.
//
// Its size (about 1,800 hand-written lines) is mostly words and drawing:
// the catalogues of steps and checks, the token explanations, the
// snippets in six languages, the sequence diagram. Each is a file of its
// own.
package debugconsole
