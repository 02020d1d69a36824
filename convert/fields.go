package convert

// EventFields returns the event-specific fields (a Keeper event's fields
// that have no Keeper column, which schema keeper writes into data) that
// schema asim reads into columns of their own: result codes, the target
// user, the changed value and enforcement, and the uids of what an event
// acted on, in that order. Deployment material that gives each known field
// its own column (the legacy Keeper_CL template) checks itself against it.
func EventFields() []string {
	names := asimDataNames()
	return names[:]
}
