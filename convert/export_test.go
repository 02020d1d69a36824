package convert

// Options returns the options in effect, defaults applied: for the tests
// of convert_test only.
func (c *Converter) Options() Options { return c.opts }
