package busapi

import "context"

// Prepare loads the planned kernel without arming it (issue 16): the
// dialog calls it when it offers Quick Restart, so that the click's Arm
// only writes the arm. Authorised like Arm but never interactively: where
// polkit would ask for a password the answer is a *CallError with code
// reason.AuthenticationRequired and nothing is loaded. The image is
// unloaded when this connection leaves the bus, on Unprepare, on Disarm,
// or after a few minutes unarmed. An older helper answers UnknownMethod:
// the caller then loads at the click, as before.
func (c *Client) Prepare(ctx context.Context) (Plan, error) {
	var p Plan
	err := c.obj.CallWithContext(ctx, Interface+".Prepare", 0).Store(&p)
	return p, asCallError("Prepare", err)
}

// Unprepare unloads the kernel this connection prepared, if it is still
// loaded and not armed; otherwise it does nothing (an arm is Disarm's).
func (c *Client) Unprepare(ctx context.Context) error {
	return asCallError("Unprepare", c.obj.CallWithContext(ctx, Interface+".Unprepare", 0).Err)
}
