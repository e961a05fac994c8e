package delivery_test

import (
	"testing"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
)

func TestChoose(t *testing.T) {
	both := func(mod func(c *customer.Customer)) *customer.Customer {
		c := &customer.Customer{Email: "a@example.jp", LINEUserID: "U1", Consent: customer.Consent{Email: true, LINE: true}}
		if mod != nil {
			mod(c)
		}
		return c
	}
	all := func(customer.Channel) bool { return true }
	tests := []struct {
		name      string
		c         *customer.Customer
		available func(customer.Channel) bool
		want      customer.Channel
		prefer    customer.Channel
	}{
		{"no preference: LINE first", both(nil), all, customer.LINE, ""},
		{"email preferred", both(func(c *customer.Customer) { c.PreferredChannel = customer.Email }), all, customer.Email, ""},
		{"LINE preferred but blocked: email", both(func(c *customer.Customer) {
			c.PreferredChannel, c.Consent.LINEStatus = customer.LINE, customer.Blocked
		}), all, customer.Email, ""},
		{"email preferred but bounced: LINE", both(func(c *customer.Customer) {
			c.PreferredChannel, c.Consent.EmailStatus = customer.Email, customer.Bounced
		}), all, customer.LINE, ""},
		{"email preferred but unsubscribed, LINE without consent: nothing", both(func(c *customer.Customer) {
			c.PreferredChannel, c.Consent.EmailStatus, c.Consent.LINE = customer.Email, customer.Unsubscribed, false
		}), all, "", ""},
		{"spam report stops email", both(func(c *customer.Customer) {
			c.PreferredChannel, c.Consent.EmailStatus, c.LINEUserID = customer.Email, customer.Complained, ""
		}), all, "", ""},
		{"no LINE id: email", both(func(c *customer.Customer) { c.LINEUserID = "" }), all, customer.Email, ""},
		{"no LINE template: email", both(nil), func(ch customer.Channel) bool { return ch == customer.Email }, customer.Email, ""},
		{"a plan step's email beats the customer's LINE", both(func(c *customer.Customer) { c.PreferredChannel = customer.LINE }), all, customer.Email, customer.Email},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := delivery.Choose(tt.c, tt.prefer, tt.available)
			if got != tt.want {
				t.Errorf("Choose = %q (%s), want %q", got, why, tt.want)
			}
			if got == "" && why == "" {
				t.Error("no channel and no reason")
			}
		})
	}
}
