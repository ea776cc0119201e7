package main

import "errors"

// describe explains err in the user's terms.
func describe(err error) string { return err.Error() }

// isUsage reports whether err is the user's input being wrong.
func isUsage(err error) bool {
	var u usageErr
	return errors.As(err, &u)
}
