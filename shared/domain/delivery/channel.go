// Package delivery decides whether and how a customer may be reached: consent
// per channel and the choice of channel.
package delivery

import (
	"fmt"

	"github.com/daifuku/daifuku/shared/domain/customer"
)

// Usable reports whether a channel may carry a message to the customer, and if
// not, why (a reason fit for the message record, never personal data).
func Usable(c *customer.Customer, ch customer.Channel) (ok bool, reason string) {
	switch ch {
	case customer.LINE:
		switch {
		case c.LINEUserID == "":
			return false, "no LINE user id"
		case c.Consent.LINEStatus != customer.Reachable:
			return false, "LINE " + string(c.Consent.LINEStatus)
		case !c.Consent.LINE:
			return false, "no LINE consent"
		}
		return true, ""
	case customer.Email:
		switch {
		case c.Email == "":
			return false, "no email address"
		case c.Consent.EmailStatus != customer.Reachable:
			return false, "email " + string(c.Consent.EmailStatus)
		case !c.Consent.Email:
			return false, "no email consent"
		}
		return true, ""
	}
	return false, fmt.Sprintf("unknown channel %q", ch)
}

// Choose picks the channel for a message: prefer (a plan step's choice) or
// else the customer's preference first, then the other channel, skipping any
// the customer cannot or must not be reached on. available filters channels
// for which no template exists. It returns "" and the reasons when no channel
// may be used.
func Choose(c *customer.Customer, prefer customer.Channel, available func(customer.Channel) bool) (customer.Channel, string) {
	if prefer == "" {
		prefer = c.PreferredChannel
	}
	order := []customer.Channel{customer.LINE, customer.Email}
	if prefer == customer.Email {
		order = []customer.Channel{customer.Email, customer.LINE}
	}
	var reasons string
	for _, ch := range order {
		ok, why := Usable(c, ch)
		if ok && available != nil && !available(ch) {
			ok, why = false, "no "+string(ch)+" template"
		}
		if ok {
			return ch, ""
		}
		if reasons != "" {
			reasons += "; "
		}
		reasons += why
	}
	return "", reasons
}
