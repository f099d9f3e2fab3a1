package demo

// What an administrator's change does to the access tokens an app already
// holds, written once for every page that says it (the IdP's admin
// console, the wiki's note on the token it holds, the debug console's
// account of a call made with it), so that they cannot drift apart from
// each other or from what happens.

// HeldTokensEnd is what happens when the IdP sends Shared Signals to the
// resource app, as the local demo does: the app revokes them.
const HeldTokensEnd = "Access tokens issued before the change end within a second: the IdP tells the todo app (a Shared Signals event), and the todo app refuses them from then on."

// HeldTokensLast is what happens when no app takes the IdP's signals.
const HeldTokensLast = "Access tokens issued before the change work until they expire: no app takes the IdP's Shared Signals here."

// AfterAdminChange is the IdP's sentence on held tokens, with signals
// configured or not.
func AfterAdminChange(signals bool) string {
	if signals {
		return HeldTokensEnd
	}
	return HeldTokensLast
}

// HeldTokenNote is the wiki's sentence on the token it holds. The wiki
// cannot tell whether the IdP signals the todo app, so it says both.
const HeldTokenNote = "If an administrator disables the connection or narrows its scopes, the IdP tells the todo app at once (Shared Signals) and the todo app refuses this token; the wiki then asks for a new one, which follows the change. Where the IdP sends no signals, the change shows once this token expires."
