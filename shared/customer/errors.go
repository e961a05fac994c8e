package customer

import "errors"

// Errors the ledger reports and flows branch on.
var (
	ErrNotFound = errors.New("not found")
	// ErrDuplicateOrder means the order id was recorded before; nothing changed.
	ErrDuplicateOrder = errors.New("order already recorded")
	// ErrConflict means the customer changed since it was read; read again and retry.
	ErrConflict = errors.New("customer changed concurrently")
)
