// Package domain is the root of daifuku's domain: the ledger's types and
// rules live in its subpackages (customer, rank, plan, message, delivery,
// campaign, feedback, webhook…), and this package holds the one error
// vocabulary every tier speaks. Adapters translate their own failures into
// these, and flows and handlers branch on them with errors.Is.
package domain

import (
	"errors"
	"fmt"
)

// The errors callers branch on.
var (
	// ErrNotFound: no such customer, order, message, batch or feedback.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the item changed since it was read; read it again and retry.
	ErrConflict = errors.New("changed concurrently")
	// ErrDuplicate: recorded before (an order id, an event); nothing changed.
	ErrDuplicate = errors.New("already recorded")
	// ErrInvalid: the input cannot be used as given; nothing changed.
	ErrInvalid = errors.New("invalid input")
)

// InvalidError is input that cannot be used as given. Its message is meant
// for whoever sent the input (a shop's checkout, a marketer), so it names
// fields and limits, never personal data.
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return e.Msg }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// Invalidf returns an InvalidError with a formatted message.
func Invalidf(format string, args ...any) error {
	return &InvalidError{Msg: fmt.Sprintf(format, args...)}
}
